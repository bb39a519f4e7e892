"""medical-o1-verifiable: the short ground truth is both answer and reference answer."""

from __future__ import annotations

import json

import polars as pl

from tasks.core import schema as S
from tasks.ingest.detect import find_files
from tasks.ingest.parse import parse_to_frames
from tasks.ingest.sources import REGISTRY
from tests.conftest import real_sample

SPEC = REGISTRY["medical-o1-verifiable"]
Q, A = "Open-ended Verifiable Question", "Ground-True Answer"


def test_parses_array_answer_equals_reference_and_no_reasoning(tmp_path):
    recs = [
        {Q: "A 30-year-old woman has a TSH of 0.01 and a diffuse goiter. What is the most likely diagnosis?", A: "Graves disease"},
        {Q: "患儿3岁，误服爷爷的降压药后嗜睡，首要处理是什么？", A: "立即送急诊洗胃并监测血压心率"},
        {Q: "  ", A: "x"},
        {Q: "What enzyme does aspirin inhibit?", A: ""},
    ]
    p = tmp_path / "medical_o1_verifiable_problem.json"
    p.write_text(json.dumps(recs, ensure_ascii=False, indent=4), encoding="utf-8")
    good, bad = parse_to_frames("medical-o1-verifiable", str(p), p.name)
    assert good.schema == pl.Schema(S.SCHEMA)
    assert good[S.ANSWER].to_list() == ["Graves disease", "立即送急诊洗胃并监测血压心率"]
    assert good[S.REFERENCE_ANSWER].to_list() == good[S.ANSWER].to_list()
    assert good[S.REASONING].null_count() == 2
    assert good[S.LANGUAGE].to_list() == ["en", "zh"]
    assert dict(zip(bad[S.SOURCE_ROW], bad[S.REASON])) == {2: "empty question", 3: "empty answer"}
    assert SPEC.has_reasoning is False and SPEC.priority is None


def test_signature_does_not_claim_sft_files_that_carry_verifiable_fields(tmp_path):
    both = [{"Question": "q", "Complex_CoT": "c", "Response": "r", Q: "q2", A: "a2"}]
    only = [{Q: "Which nerve is injured in wrist drop?", A: "Radial nerve"}]
    (tmp_path / "demo_data.json").write_text(json.dumps(both, indent=4))
    (tmp_path / "renamed_problems.json").write_text(json.dumps(only, indent=4))
    assert [f.relpath for f in find_files(SPEC, tmp_path)] == ["renamed_problems.json"]
    assert [f.relpath for f in find_files(REGISTRY["medical-o1"], tmp_path)] == ["demo_data.json"]


def test_real_huatuo_demo_file_is_not_claimed():
    path = real_sample("huatuogpt-o1/demo_data.json")
    assert find_files(SPEC, path.parent) == []
