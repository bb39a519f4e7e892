"""Exact and near-duplicate removal: survivor preference, reasons, quarantine schema, determinism."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tasks.core import schema
from tasks.quality.dedup import dedup, lsh_params

LONG_ZH = "我最近三个月经常头痛头晕，晚上睡不好，血压有时候偏高，请问医生这是什么原因，需要做哪些检查"
LONG_EN = "I have had a dull headache every afternoon for three months and my blood pressure is sometimes high, what tests should I get"


def _df(rows: list[dict]) -> pl.DataFrame:
    base = {schema.SOURCE: "s", schema.SOURCE_FILE: "f.jsonl", schema.REASONING: None, schema.QUALITY_SCORE: None,
            schema.LANGUAGE: "zh", schema.SPECIALTY: None}
    out = []
    for i, r in enumerate(rows):
        rec = {**base, schema.ID: f"id{i}", schema.SOURCE_ROW: i, **r}
        out.append(rec)
    return pl.DataFrame(out, schema={schema.ID: pl.String, schema.SOURCE: pl.String, schema.SOURCE_FILE: pl.String,
                                     schema.SOURCE_ROW: pl.Int64, schema.LANGUAGE: pl.String, schema.QUESTION: pl.String,
                                     schema.ANSWER: pl.String, schema.REASONING: pl.String, schema.QUALITY_SCORE: pl.Float64,
                                     schema.SPECIALTY: pl.String})


def test_exact_duplicates_after_normalisation_keep_preferred_record():
    df = _df([
        {schema.QUESTION: "头痛怎么办？", schema.ANSWER: "多休息"},
        {schema.QUESTION: "  头痛怎么办？ ", schema.ANSWER: "多休息", schema.REASONING: "think"},  # preferred
        {schema.QUESTION: "ＨＥＡＤＡＣＨＥ   what to do", schema.ANSWER: "Rest"},
        {schema.QUESTION: "headache what to do", schema.ANSWER: "rest"},
    ])
    kept, dropped, stats = dedup(df)
    assert kept[schema.ID].to_list() == ["id1", "id2"]
    assert sorted(dropped[schema.REASON].to_list()) == ["exact_duplicate_of:id1", "exact_duplicate_of:id2"]
    assert stats["exact_dropped"] == 2 and stats["near_dropped"] == 0 and stats["kept"] == 2


def test_preference_order_quality_then_answer_length_then_id():
    q = "同一个问题"
    df = _df([
        {schema.QUESTION: q, schema.ANSWER: "a", schema.QUALITY_SCORE: 0.5},
        {schema.QUESTION: q, schema.ANSWER: "a", schema.QUALITY_SCORE: 0.9},
    ])
    assert dedup(df)[0][schema.ID].to_list() == ["id1"]
    df = _df([  # same question, different answers → near duplicates; the longer answer wins
        {schema.QUESTION: q, schema.ANSWER: "short"},
        {schema.QUESTION: q, schema.ANSWER: "a much longer answer"},
    ])
    kept, dropped, _ = dedup(df)
    assert kept[schema.ID].to_list() == ["id1"]
    assert dropped[schema.REASON].to_list() == ["near_duplicate_of:id1"]
    df = _df([{schema.QUESTION: q, schema.ANSWER: "x", schema.ID: "b"}, {schema.QUESTION: q, schema.ANSWER: "x", schema.ID: "a"}])
    assert dedup(df)[0][schema.ID].to_list() == ["a"]


def test_near_duplicates_zh_and_en_but_not_distinct_questions():
    df = _df([
        {schema.QUESTION: LONG_ZH, schema.ANSWER: "1"},
        {schema.QUESTION: LONG_ZH + "？谢谢", schema.ANSWER: "2", schema.QUALITY_SCORE: 0.99},
        {schema.QUESTION: LONG_EN, schema.ANSWER: "3", schema.LANGUAGE: "en"},
        {schema.QUESTION: LONG_EN + "?", schema.ANSWER: "4", schema.LANGUAGE: "en", schema.REASONING: "r"},
        {schema.QUESTION: "糖尿病人能吃西瓜吗？平时血糖控制得还可以，想知道每天吃多少合适", schema.ANSWER: "5"},
        {schema.QUESTION: "What is the history of the stethoscope and who invented it in France", schema.ANSWER: "6"},
    ])
    kept, dropped, stats = dedup(df)
    assert kept[schema.ID].to_list() == ["id1", "id3", "id4", "id5"]
    assert dropped[schema.REASON].to_list() == ["near_duplicate_of:id1", "near_duplicate_of:id3"]
    assert stats["near_dropped"] == 2 and stats["exact_dropped"] == 0


def test_threshold_controls_near_matching():
    a = "我最近经常头痛，晚上睡不好，白天也没有精神，请问是什么原因"
    b = "我最近经常头痛，晚上睡不好，白天也没有力气，请问是什么原因"  # one word changed
    df = _df([{schema.QUESTION: a, schema.ANSWER: "1"}, {schema.QUESTION: b, schema.ANSWER: "2"}])
    assert dedup(df, near_threshold=0.9)[2]["near_dropped"] == 0
    assert dedup(df, near_threshold=0.6)[2]["near_dropped"] == 1


def test_across_sources_and_quarantine_schema_and_raw():
    df = _df([
        {schema.QUESTION: LONG_EN, schema.ANSWER: "x", schema.SOURCE: "medical-o1", schema.SOURCE_ROW: 7},
        {schema.QUESTION: LONG_EN, schema.ANSWER: "x", schema.SOURCE: "delicate-medical", schema.SOURCE_ROW: 3},
    ])
    kept, dropped, _ = dedup(df)
    assert kept.height == 1 and dropped.height == 1
    assert dict(dropped.schema) == schema.QUARANTINE_SCHEMA
    row = dropped.row(0, named=True)
    kept_id = kept[schema.ID].item()
    assert row[schema.REASON] == f"exact_duplicate_of:{kept_id}"
    raw = json.loads(row[schema.RAW])
    assert raw[schema.QUESTION] == LONG_EN and raw[schema.ANSWER] == "x"
    assert (row[schema.SOURCE], row[schema.SOURCE_ROW]) != (kept[schema.SOURCE].item(), kept[schema.SOURCE_ROW].item())


def test_kept_frame_keeps_columns_and_dtypes():
    df = _df([{schema.QUESTION: "q1", schema.ANSWER: "a"}, {schema.QUESTION: "另一个完全不同的问题", schema.ANSWER: "b"}])
    kept, _, _ = dedup(df)
    assert kept.schema == df.schema
    assert kept.equals(df)


def test_deterministic_and_input_order_independent():
    rows = []
    for i in range(60):
        rows.append({schema.QUESTION: f"{LONG_ZH}{i % 7}", schema.ANSWER: str(i % 3), schema.QUALITY_SCORE: (i % 5) / 5})
        rows.append({schema.QUESTION: f"{LONG_EN} case {i % 11}", schema.ANSWER: str(i % 4)})
    df = _df(rows)
    k1, d1, s1 = dedup(df)
    k2, d2, s2 = dedup(df)
    assert k1.equals(k2) and d1.equals(d2)
    assert k1.write_ndjson() == k2.write_ndjson() and d1.write_ndjson() == d2.write_ndjson()
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=3)
    k3, d3, _ = dedup(shuffled)
    assert sorted(k3[schema.ID].to_list()) == sorted(k1[schema.ID].to_list())
    assert sorted(d3[schema.REASON].to_list()) == sorted(d1[schema.REASON].to_list())
    assert s1["kept"] + s1["exact_dropped"] + s1["near_dropped"] == df.height


def test_empty_and_single_row():
    empty = _df([])
    kept, dropped, stats = dedup(empty)
    assert kept.height == 0 and dropped.height == 0 and stats["kept"] == 0
    assert dict(dropped.schema) == schema.QUARANTINE_SCHEMA
    one = _df([{schema.QUESTION: "q", schema.ANSWER: "a"}])
    assert dedup(one)[0].height == 1


def test_lsh_params_recall_first_and_bad_threshold():
    bands, rows = lsh_params(0.9, 128)
    assert bands * rows == 128 and 1 - (1 - 0.9**rows) ** bands >= 0.995
    with pytest.raises(ValueError):
        dedup(_df([]), near_threshold=0)


def test_optional_columns_may_be_absent():
    df = pl.DataFrame({schema.ID: ["a", "b"], schema.QUESTION: ["同一个问题", "同一个问题"], schema.ANSWER: ["x", "x"]})
    kept, dropped, _ = dedup(df)
    assert kept[schema.ID].to_list() == ["a"]
    assert dropped[schema.REASON].to_list() == ["exact_duplicate_of:a"]
    assert dropped[schema.SOURCE].to_list() == [None]


def test_sliced_processing_gives_the_same_result(monkeypatch):
    """Memory bounds (row slices for shingles and digests, pair slices for verification) must not
    change what is kept."""
    import tasks.quality.dedup as d

    base = ["高血压患者能不能吃党参泡水", "孩子发烧三十九度怎么办", "What is the first-line treatment for migraine in adults"]
    rows = [
        {"id": f"r{i:03d}", "question": f"{base[i % 3]}{'，请问' * (i % 4)}{'？' if i % 2 else ''} {i // 12}", "answer": f"answer {i}"}
        for i in range(120)
    ]
    frame = _df(rows)
    whole = d.dedup(frame)
    monkeypatch.setattr(d, "SHINGLE_CHUNK", 7)
    monkeypatch.setattr(d, "DIGEST_CHUNK", 5)
    monkeypatch.setattr(d, "VERIFY_CHUNK", 3)
    sliced = d.dedup(frame)
    assert whole[2]["near_dropped"] > 0  # the case exercises near-duplicate verification
    assert sliced[0].equals(whole[0]) and sliced[1].equals(whole[1])
