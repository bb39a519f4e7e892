"""The risk evaluation harness (eval/risk_eval.py) and the frozen test split's recorded sha256.

The harness is exercised on small files written here; the frozen test split is only hashed
(its bytes are compared with eval/risk/data/SHA256SUMS), never parsed by these tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "eval" / "risk" / "data"


def _harness():
    spec = importlib.util.spec_from_file_location("risk_eval", REPO / "eval" / "risk_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_frozen_test_files_match_recorded_sha256():
    sums = _harness().recorded_sums(DATA / "SHA256SUMS")
    assert set(sums) == {"test_zh.jsonl", "test_en.jsonl"}
    for name, digest in sums.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, f"{name} changed since it was frozen"


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _rows(lang: str) -> list[dict]:
    qs = {"zh": [("最近总想自杀", "high", "psychiatry"), ("青霉素是谁发现的？", "low", "other"),
                 ("我胃胀好几个月了，怎么办", "medium", "internal_medicine")],
          "en": [("I keep thinking about ending my life", "high", "psychiatry"), ("Who discovered penicillin?", "low", "other"),
                 ("I've had heartburn for months, what should I do?", "medium", "internal_medicine")]}[lang]
    return [{"id": f"{lang}{i}", "question": q, "language": lang, "source_kind": "patient_question", "risk": r,
             "why": "", "specialty": s, "origin": "written for this test", "license": "CC0"} for i, (q, r, s) in enumerate(qs)]


def test_harness_scores_dev_with_intervals_and_refuses_an_unrecorded_test_split(tmp_path):
    h = _harness()
    for lang in ("zh", "en"):
        _write(tmp_path / f"dev_{lang}.jsonl", _rows(lang))
    results, frames = h.evaluate_splits(["dev"], tmp_path)
    groups = results["splits"]["dev"]["groups"]
    assert {"all", "language=zh", "language=en", "source_kind=patient_question"} <= set(groups)
    acc = groups["all"]["accuracy"]
    assert 0 <= acc["ci95"][0] <= acc["value"] <= acc["ci95"][1] <= 1
    assert groups["all"]["n"] == 6 and frames["dev"].height == 6
    # same inputs and seed -> same intervals
    assert h.evaluate_splits(["dev"], tmp_path)[0] == results
    # a test split without recorded sums is refused, a changed one too
    _write(tmp_path / "test_zh.jsonl", _rows("zh"))
    with pytest.raises(SystemExit, match="no sha256"):
        h.evaluate_splits(["test"], tmp_path)
    (tmp_path / "SHA256SUMS").write_text("0" * 64 + "  test_zh.jsonl\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="changed"):
        h.evaluate_splits(["test"], tmp_path)


def test_report_shows_dev_test_side_by_side_and_the_drop(tmp_path):
    h = _harness()
    for split in ("dev", "test"):
        _write(tmp_path / f"{split}_en.jsonl", _rows("en"))
    digest = hashlib.sha256((tmp_path / "test_en.jsonl").read_bytes()).hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{digest}  test_en.jsonl\n", encoding="utf-8")
    results, _ = h.evaluate_splits(["dev", "test"], tmp_path)
    text = h.report(results)
    assert "dev (n)" in text and "test (n)" in text and "drop" in text
