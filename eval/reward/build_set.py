"""Build the labelled reward set (``eval/reward/data``) from its two real sources and the labels.

Usage (from the repository root; the sources are not shipped, see data/SOURCES.md)::

    python eval/reward/build_set.py --demo /work/shared/real-samples/huatuogpt-o1/demo_data.json \\
        --dsagent /path/to/result/3.DS_agent_exam_aftgpt.jsonl

Items (``id, lang, question, response, ground_truth, label, note, origin, license``):

* ``hgo1-NN-resp`` — HuatuoGPT-o1 demo record NN (first 58 only): its ``Response`` against its
  ``Ground-True Answer``; ``hgo1-NN-cot`` — the same record's ``Complex_CoT`` (the model's
  reasoning, whose last paragraphs state its conclusion) against the same ground truth.
* ``dsagent-NN`` — a DeepSeek agent's answer to a Chinese 2021 pharmacist licensing exam question
  (letter ground truth); only answers longer than 3 characters (reasoning + a final letter), a
  rule that ignores the label.

Labels come from ``eval/reward/labels.json`` (written by reading each response). The split is fixed
by the group id only: ``sha256(group) % 2 == 1`` → test, else dev, where the group is the demo
record (both variants of a record land on the same side) or the exam item. It never depends on a
label or a score, so the test part was chosen before any outcome was known.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DEMO_N = 58  # the shared cut: rows beyond it are reserved

HGO1_ORIGIN = ("github:FreedomIntelligence/HuatuoGPT-o1 data/demo_data.json @2c8d7fcaadaad44000eb1765cbe36a09968a0164 "
               "(via /work/shared/real-samples cut, first 58 records)")
HGO1_LICENSE = "no LICENSE in the GitHub repo; the matching HF datasets are tagged apache-2.0"
DS_ORIGIN = ("github:saltyFish-Billy/NLP_Agent_Implementation result/3.DS_agent_exam_aftgpt.jsonl "
             "@f05b1a87a91b7144605a0a99e5c8901192f90275 (blob ea883e043c4501288389927e6184c88469143f15)")
DS_LICENSE = "none stated (no LICENSE file); short excerpts kept for evaluation only, not shipped in the wheel"


def group_of(item_id: str) -> str:
    """``hgo1-07-cot`` → ``hgo1-07``; ``dsagent-12`` → ``dsagent-12``."""
    return re.sub(r"-(resp|cot)$", "", item_id)


def split_of(item_id: str) -> str:
    """``test`` when sha256 of the item's group id is odd, else ``dev``."""
    return "test" if int(hashlib.sha256(group_of(item_id).encode()).hexdigest(), 16) % 2 else "dev"


def _zh_question(query: str) -> str:
    m = re.search(r"\*\*题目：\*\*\n(.*?)\n\*\*思考步骤要求", query, re.S)
    return (m.group(1) if m else query).strip()


def build(demo: Path, dsagent: Path, labels: dict) -> list[dict]:
    items = []
    records = json.loads(demo.read_text(encoding="utf-8"))[:DEMO_N]
    for i, rec in enumerate(records):
        for kind, field in (("resp", "Response"), ("cot", "Complex_CoT")):
            items.append({
                "id": f"hgo1-{i:02d}-{kind}", "lang": "en", "question": rec["Open-ended Verifiable Question"],
                "response": rec[field], "ground_truth": rec["Ground-True Answer"],
                "origin": HGO1_ORIGIN, "license": HGO1_LICENSE,
            })
    for line in dsagent.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if len(row["model_answer"].strip()) <= 3:
            continue
        items.append({
            "id": f"dsagent-{row['id']:02d}", "lang": "zh", "question": _zh_question(row["query"]),
            "response": row["model_answer"], "ground_truth": row["groundtruth"],
            "origin": DS_ORIGIN, "license": DS_LICENSE,
        })
    for item in items:
        label, note = labels[item["id"]]
        item["label"], item["note"] = label, note
    keys = ("id", "lang", "question", "response", "ground_truth", "label", "note", "origin", "license")
    return [{k: it[k] for k in keys} for it in items]


def write(items: list[dict], out: Path = DATA) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sums = []
    for split in ("dev", "test"):
        for lang in ("en", "zh"):
            rows = sorted((it for it in items if it["lang"] == lang and split_of(it["id"]) == split), key=lambda r: r["id"])
            path = out / f"{split}_{lang}.jsonl"
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            sums.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    (out / "SHA256SUMS").write_text("".join(sums), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", type=Path, required=True)
    ap.add_argument("--dsagent", type=Path, required=True)
    args = ap.parse_args()
    labels = {k: v for k, v in json.loads((HERE / "labels.json").read_text(encoding="utf-8")).items() if not k.startswith("_")}
    write(build(args.demo, args.dsagent, labels))


if __name__ == "__main__":
    main()
