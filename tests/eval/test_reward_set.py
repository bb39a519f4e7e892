"""The labelled reward set: the frozen test split is unchanged and the split rule holds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "eval" / "reward" / "data"


def _build_module():
    return load_script("eval/reward/build_set.py")


def test_files_match_sha256sums():
    sums = dict(reversed(line.split("  ")) for line in (DATA / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"dev_en.jsonl", "dev_zh.jsonl", "test_en.jsonl", "test_zh.jsonl"}
    for name, digest in sums.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_every_item_sits_on_the_side_its_id_hash_says():
    split_of = _build_module().split_of
    seen = set()
    for split in ("dev", "test"):
        for lang in ("en", "zh"):
            for line in (DATA / f"{split}_{lang}.jsonl").read_text(encoding="utf-8").splitlines():
                item = json.loads(line)
                assert split_of(item["id"]) == split, item["id"]
                assert item["lang"] == lang and item["label"] in ("right", "wrong")
                assert item["response"].strip() and item["ground_truth"].strip()
                assert item["id"] not in seen
                seen.add(item["id"])
    assert len(seen) >= 150


def test_both_variants_of_a_record_share_a_side():
    split_of = _build_module().split_of
    assert all(split_of(f"hgo1-{i:02d}-resp") == split_of(f"hgo1-{i:02d}-cot") for i in range(58))
