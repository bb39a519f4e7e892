"""medical-o1 parser on the byte-exact HuatuoGPT-o1 demo file and on repo-written files."""

from __future__ import annotations

import json

import polars as pl

from tasks.core import schema as S
from tasks.ingest.parse import parse_to_frames
from tests.conftest import real_sample


def test_real_demo_file_parses_every_record_with_verifiable_fields():
    path = real_sample("huatuogpt-o1/demo_data.json")
    expected = json.loads(path.read_bytes())
    good, bad = parse_to_frames("medical-o1", str(path), "demo_data.json")
    assert bad.height == 0
    assert good.height == len(expected) == 58
    assert good.schema == pl.Schema(S.SCHEMA)
    first = good.filter(pl.col(S.SOURCE_ROW) == 0).row(0, named=True)
    assert first[S.QUESTION] == expected[0]["Question"].strip()
    assert first[S.REASONING] == expected[0]["Complex_CoT"].strip()
    assert first[S.ANSWER] == expected[0]["Response"].strip()
    assert first[S.REFERENCE_ANSWER] == expected[0]["Ground-True Answer"] == "Parvovirus B19 infection"
    assert set(good[S.LANGUAGE]) == {"en"}
    assert good[S.ID].n_unique() == 58


def test_bom_extra_fields_and_bad_records_are_quarantined_with_reasons(tmp_path):
    recs = [
        {"Question": "高血压患者能吃党参吗？", "Complex_CoT": "先想一想。", "Response": "可以适量。", "extra": [1, 2]},
        {"Question": "", "Complex_CoT": "x", "Response": "y"},
        {"Question": "What is BP?", "Complex_CoT": "<think>nested</think>", "Response": "Blood pressure."},
        {"Question": "Q?", "Complex_CoT": "   ", "Response": "A."},
    ]
    p = tmp_path / "renamed.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(recs, ensure_ascii=False).encode())
    good, bad = parse_to_frames("medical-o1", str(p), "renamed.json")
    assert good.height == 2
    assert good.filter(pl.col(S.SOURCE_ROW) == 0)[S.LANGUAGE].item() == "zh"
    # a blank reasoning is "no reasoning", not an error
    assert good.filter(pl.col(S.SOURCE_ROW) == 3)[S.REASONING].item() is None
    assert dict(zip(bad[S.SOURCE_ROW], bad[S.REASON])) == {1: "empty question", 2: "reasoning contains <think> tags"}
    assert set(bad[S.SOURCE_FILE]) == {"renamed.json"}


def test_record_of_wrong_shape_is_quarantined_not_fatal(tmp_path):
    recs = [{"Question": ["a", "list"], "Complex_CoT": "c", "Response": "r"}, {"Question": "ok?", "Complex_CoT": "c", "Response": "r"}]
    p = tmp_path / "medical_o1_sft.json"
    p.write_text(json.dumps(recs))
    good, bad = parse_to_frames("medical-o1", str(p), p.name)
    assert good[S.QUESTION].to_list() == ["ok?"]
    assert bad[S.REASON].to_list() == ["wrong_type:Question:list"]
    assert "list" in bad[S.RAW].item()


def test_ids_are_stable_and_depend_on_source_question_answer(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps([{"Question": "q", "Complex_CoT": "c", "Response": "r"}]))
    a, _ = parse_to_frames("medical-o1", str(p), "a.json")
    p.write_text(json.dumps([{"Question": "q", "Complex_CoT": "other reasoning", "Response": "r"}]))
    b, _ = parse_to_frames("medical-o1", str(p), "a.json")
    p.write_text(json.dumps([{"Question": "q", "Complex_CoT": "c", "Response": "r2"}]))
    c, _ = parse_to_frames("medical-o1", str(p), "a.json")
    assert a[S.ID].item() == b[S.ID].item() != c[S.ID].item()
    assert len(a[S.ID].item()) == 16


def test_real_demo_file_gives_the_multiple_choice_form():
    """question / options / answer_idx of the HuatuoGPT-o1 demo -> choices (stem, option texts, right index)."""
    path = real_sample("huatuogpt-o1/demo_data.json")
    expected = json.loads(path.read_bytes())
    good, _ = parse_to_frames("medical-o1", str(path), "demo_data.json")
    rows = {r[S.SOURCE_ROW]: r[S.CHOICES] for r in good.select(S.SOURCE_ROW, S.CHOICES).iter_rows(named=True)}
    for i, rec in enumerate(expected):
        c = rows[i]
        letters = sorted(rec["options"])
        assert c["question"] == rec["question"].strip()
        assert c["options"] == [rec["options"][k].strip() for k in letters]
        assert c["options"][c["answer"]] == rec["options"][rec["answer_idx"]].strip()


def test_malformed_options_leave_a_good_open_record_without_choices(tmp_path):
    base = {"Question": "Q{}?", "Complex_CoT": "think", "Response": "A."}
    recs = [
        {**base, "question": "stem", "options": {"A": "x", "B": "y"}, "answer_idx": "B"},   # fine
        {**base, "question": "stem", "options": {"A": "x", "B": "y"}, "answer_idx": "E"},   # letter not an option
        {**base, "question": "stem", "options": {"A": "x", "C": "y"}, "answer_idx": "A"},   # gap
        {**base, "question": "stem", "options": {"A": "only"}, "answer_idx": "A"},          # one option
        {**base},                                                                             # none
    ]
    recs = [{**r, "Question": r["Question"].format(i)} for i, r in enumerate(recs)]
    p = tmp_path / "medical_o1_sft.json"
    p.write_text(json.dumps(recs), encoding="utf-8")
    good, bad = parse_to_frames("medical-o1", str(p), p.name)
    assert bad.height == 0 and good.height == 5
    got = dict(zip(good[S.SOURCE_ROW], good[S.CHOICES].to_list()))
    assert got[0] == {"question": "stem", "options": ["x", "y"], "answer": 1}
    assert [got[i] for i in range(1, 5)] == [None] * 4
