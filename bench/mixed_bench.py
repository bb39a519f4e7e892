"""A 5,000-record sample from a mixed pool: requested vs achieved shares, risk shares, reproducibility.

    python -m bench.mixed_bench [--size 5000] [--weights medical-o1:0.5,delicate-medical:0.2,chinese-dialogue:0.3]

Builds a pool from the synthetic generators (bench/synth.py, bench/synth_sources.py) in the
published formats, runs the `prepare` flow twice with the same seed, and prints the shares and
whether the two runs wrote identical bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def digest(out: Path) -> str:
    """sha256 over the processed files and the data card."""
    h = hashlib.sha256()
    for name in ("processed/train.jsonl", "processed/val.jsonl", "DATA_CARD.md"):
        h.update((out / name).read_bytes())
    return h.hexdigest()


def main() -> None:
    """Generate the pool, run twice, print figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=5_000)
    ap.add_argument("--weights", default="medical-o1:0.5,delicate-medical:0.2,chinese-dialogue:0.3")
    args = ap.parse_args()
    from bench import synth
    from bench import synth_sources as ss
    from flows.prepare import prepare

    work = Path(tempfile.mkdtemp(prefix="medprep-mixed-"))
    try:
        raw = work / "raw"
        synth.write_json_array(synth.medical_o1_records(6_000, "en", seed=21), raw / "medical_o1_sft.json")
        synth.write_json_array(synth.medical_o1_records(6_000, "zh", seed=22), raw / "medical_o1_sft_Chinese.json")
        ss.write_jsonl(ss.delicate_records(4_000, seed=23), raw / "r1_data_example.jsonl")
        (raw / "IM_内科").mkdir()
        ss.write_big_dialogue(raw / "IM_内科" / "内科5000-33000.csv", 20_000, seed=24)
        digests = []
        for run in (1, 2):
            t0 = time.perf_counter()
            res = prepare(sources=args.weights, download=False, raw_dir=str(raw), out_dir=str(work / f"out{run}"),
                          sample_size=args.size, export_rl=False)
            print(f"run {run}: {time.perf_counter() - t0:.1f}s")
            digests.append(digest(work / f"out{run}"))
        rep = res["sample"]
        print(f"pool {rep['pool']:,} -> sample {rep['drawn']:,} (train {rep['splits'].get('train', 0):,}, val {rep['splits'].get('val', 0):,})")
        for src, v in sorted(rep["by_source"].items()):
            n = v["drawn"] or 1
            risk = ", ".join(f"{k} {c / n:.0%}" for k, c in v["risk"].items())
            print(f"  {src:<18} requested {v['requested_share']:.0%}  achieved {v['achieved_share']:.1%}  ({v['drawn']:,}; {risk})")
        lines = [json.loads(l) for l in (work / "out1/processed/train.jsonl").read_text(encoding="utf-8").splitlines()]
        overall = Counter(r["meta"]["risk_level"] for r in lines)
        print("  overall risk in train:", {k: f"{v / len(lines):.0%}" for k, v in sorted(overall.items())})
        for s in rep["shortfalls"] + rep["warnings"]:
            print("  note:", s)
        print("byte-identical across the two runs:", digests[0] == digests[1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
