"""The `prepare` flow end to end on a real (test) Prefect server, real GE and real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.prepare import prepare
from tasks.errors import GateFailedError, SourceNotFoundError
from tests.conftest import DEMO_SAMPLES, real_sample

pytestmark = pytest.mark.usefixtures("prefect_harness")

OUT_FILES = ["processed/train.jsonl", "processed/val.jsonl", "DATA_CARD.md"]


def raw_with(tmp_path: Path, *names: str) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for n in names:
        shutil.copy(DEMO_SAMPLES / n, raw / n)
    return raw


def run(raw: Path, out: Path, **kw) -> dict:
    return prepare(sources=kw.pop("sources", "medical-o1"), download=False, raw_dir=str(raw), out_dir=str(out), **kw)


def test_demo_files_end_to_end_and_byte_identical_reruns(tmp_path):
    raw = raw_with(tmp_path, "medical_o1_sft.json", "medical_o1_sft_Chinese.json")
    res = run(raw, tmp_path / "a")
    run(raw, tmp_path / "b")
    rl_files = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a" / "rl").rglob("*") if p.is_file())
    assert {"rl/verl/train.parquet", "rl/openrlhf/train.jsonl", "rl/trl/train.parquet", "rl/reward.py"} <= set(rl_files)
    for name in OUT_FILES + rl_files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name

    lines = (tmp_path / "a" / "processed/train.jsonl").read_text(encoding="utf-8").splitlines()
    val = (tmp_path / "a" / "processed/val.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == res["files"]["processed/train.jsonl"]["rows"] > 0 and val
    recs = [json.loads(l) for l in lines]
    assert set(recs[0]) == {"input", "output", "meta"}
    for r in recs:
        m = r["meta"]
        assert {"id", "source", "language", "specialty", "risk_level", "risk_reasons", "reference_answer", "has_reasoning"} <= set(m)
        assert m["risk_level"] in {"high", "medium", "low"}
        if m["has_reasoning"]:
            head, _, answer = r["output"].partition("\n</think>\n\n")
            assert head.startswith("<think>\n") and answer.strip()
    assert {r["meta"]["language"] for r in recs} == {"en", "zh"}
    assert len({r["meta"]["risk_level"] for r in recs}) >= 2

    card = (tmp_path / "a" / "DATA_CARD.md").read_text(encoding="utf-8")
    import hashlib

    for f in ("medical_o1_sft.json", "medical_o1_sft_Chinese.json"):
        assert hashlib.sha256((raw / f).read_bytes()).hexdigest() in card
    assert "below the recommended 2,000" in card  # the demo pool is small: a warning, not a crash
    assert "seed" in card and "| pass |" in card
    assert "rl/verl/train.parquet" in card and "## RL export" in card

    # a different seed draws a different order
    run(raw, tmp_path / "c", seed=7, export_rl=False)
    assert (tmp_path / "c/processed/train.jsonl").read_bytes() != (tmp_path / "a/processed/train.jsonl").read_bytes()


def test_real_huatuo_sample_runs(tmp_path):
    src = real_sample("huatuogpt-o1/demo_data.json")
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(src, raw / "demo_data.json")  # a renamed file: found by content
    res = run(raw, tmp_path / "out", export_rl=False)
    rows = res["files"]["processed/train.jsonl"]["rows"] + res["files"]["processed/val.jsonl"]["rows"]
    assert rows == res["sample"]["drawn"] and 50 <= rows <= 58
    rec = json.loads((tmp_path / "out/processed/train.jsonl").read_text().splitlines()[0])
    assert rec["meta"]["reference_answer"]  # Ground-True Answer kept for RL rewards


def test_failed_gate_writes_nothing_and_keeps_last_good_outputs(tmp_path):
    raw = raw_with(tmp_path, "medical_o1_sft.json")
    out = tmp_path / "out"
    run(raw, out, export_rl=False)
    before = {n: (out / n).read_bytes() for n in OUT_FILES}
    # every record the same low-risk general question set: the risk-coverage expectation fails
    bad = tmp_path / "bad"
    bad.mkdir()
    recs = [{"Question": f"What is the history of the stethoscope, part {i}?", "Complex_CoT": "History.", "Response": "Laennec, 1816."} for i in range(20)]
    (bad / "medical_o1_sft.json").write_text(json.dumps(recs))
    with pytest.raises(GateFailedError, match="risk_level"):
        run(bad, out, export_rl=False)
    assert {n: (out / n).read_bytes() for n in OUT_FILES} == before
    assert not list(out.rglob("*.tmp"))


def test_missing_source_fails_with_instructions(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(SourceNotFoundError, match="medical_o1_sft.json"):
        run(tmp_path / "raw", tmp_path / "out")
