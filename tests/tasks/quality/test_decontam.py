"""Decontamination: benchmark readers in the published formats, the overlap rule (zh and en), the
boilerplate filter and bad-file errors (tasks/quality/decontam.py)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tasks.core.errors import BadFileError
from tasks.quality.decontam import build_index, contamination, read_benchmarks

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "data" / "benchmark-samples"
DEMO = REPO / "data" / "samples"


def _demo_pool() -> pl.DataFrame:
    en = json.loads((DEMO / "medical_o1_sft.json").read_text(encoding="utf-8"))
    zh = json.loads((DEMO / "medical_o1_sft_Chinese.json").read_text(encoding="utf-8"))
    qs = [r.get("question") or r["Question"] for r in en] + [r["Question"] for r in zh]
    return pl.DataFrame({"id": [f"r{i}" for i in range(len(qs))], "question": qs, "answer": "a"})


def test_shipped_samples_read_in_their_formats():
    questions, files = read_benchmarks(SAMPLES)
    names = set(questions["benchmark"].to_list())
    assert {"medqa-usmle", "medqa-mcmle", "medmcqa", "pubmedqa", "cmb", "mmlu-clinical_knowledge"} <= names
    # PubMedQA ids are the PMIDs; MedMCQA and CMB keep their own ids; MedQA has none: file#line
    ids = set(questions["item_id"].to_list())
    assert {"90000001", "synthetic-medmcqa-0", "US_test.jsonl#1"} <= ids
    # the answer key has no questions: listed, not read
    key = next(f for f in files if f["file"].endswith("test_ground_truth.json"))
    assert key["items"] == 0 and key["benchmark"] is None


def test_demo_overlaps_found_and_near_misses_not():
    questions, _ = read_benchmarks(SAMPLES)
    pool = _demo_pool()
    kept, bad, hits = contamination(pool, build_index(questions))
    reasons = bad["reason"].to_list()
    assert kept.height + bad.height == pool.height
    # verbatim en (MedQA US item 1) and verbatim zh (MCMLE item 1) are caught
    assert "contaminated:medqa-usmle:US_test.jsonl#1" in reasons
    assert "contaminated:medqa-mcmle:Mainland_test.jsonl#1" in reasons
    # the near misses (same topic, no shared 13-word / 20-character run) never match anything
    matched = set(hits["item"].to_list())
    items = build_index(questions).items
    near = items.filter(pl.col("item_id").is_in(["US_test.jsonl#3", "Mainland_test.jsonl#2"]))["__item"].to_list()
    assert not matched & set(near)


def test_reworded_with_shared_run_matches_and_short_question_whole():
    bench = pl.DataFrame({"benchmark": ["b", "b"], "item_id": ["1", "2"], "file": "f",
                          "question": ["crushing central chest pain for 40 minutes radiating to the jaw with sweating and ST elevation",
                                       "which nerve is injured in a humerus neck fracture"]})
    pool = pl.DataFrame({"id": ["a", "b", "c", "d"], "answer": "x", "question": [
        "Elderly man: crushing central chest pain for 40 minutes radiating to the jaw, with sweating and ST elevation. Diagnosis?",
        "Crushing chest pain for 40 minutes radiating to the left arm with sweating and ST depression",  # near miss
        "Quiz: Which nerve is injured in a humerus neck fracture? Explain.",  # short item, contained whole
        "which nerve is injured in a humerus neck fractures",  # whole item not word-aligned: no match
    ]})
    kept, bad, _ = contamination(pool, build_index(bench))
    assert dict(zip(bad["id"], bad["reason"])) == {"a": "contaminated:b:1", "c": "contaminated:b:2"}


def test_chinese_character_ngrams():
    q = "患者女三十五岁多饮多尿体重下降三个月空腹血糖明显升高首选的检查是什么"
    bench = pl.DataFrame({"benchmark": ["cmb"], "item_id": ["7"], "file": "f", "question": [q]})
    pool = pl.DataFrame({"id": ["x", "y"], "answer": "a", "question": [
        "医生您好，" + q[:22] + "？谢谢",  # 22 consecutive characters shared
        "医生您好，" + q[:19] + "，" + q[20:26],  # only 19 in a row
    ]})
    _, bad, _ = contamination(pool, build_index(bench))
    assert bad["id"].to_list() == ["x"]


def test_boilerplate_ngram_in_many_records_is_not_evidence():
    stem = "which of the following is the most likely diagnosis in this patient given these findings today"
    bench = pl.DataFrame({"benchmark": ["b"], "item_id": ["1"], "file": "f", "question": [f"case one {stem}"]})
    pool = pl.DataFrame({"id": [f"p{i}" for i in range(12)], "answer": "a",
                         "question": [f"patient {i} has something {stem}" for i in range(12)]})
    _, bad, _ = contamination(pool, build_index(bench), max_matches=10)
    assert bad.is_empty()
    _, bad, _ = contamination(pool.head(3), build_index(bench), max_matches=10)
    assert bad.height == 3


def test_bad_file_names_file_and_line(tmp_path):
    (tmp_path / "medqa").mkdir()
    (tmp_path / "medqa" / "test.jsonl").write_text('{"question": "ok", "options": {}, "answer_idx": "A"}\n{broken\n')
    with pytest.raises(BadFileError, match=r"medqa/test.jsonl, line 2: not valid JSON.*Fix"):
        read_benchmarks(tmp_path)


def test_record_without_question_is_an_error(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"question": "a b c"}\n{"prompt": "no question"}\n')
    with pytest.raises(BadFileError, match=r"x.jsonl, line 2: record has no question field"):
        read_benchmarks(tmp_path)


def test_shortest_runs_found_at_every_offset_and_one_shorter_never():
    """The pool is scanned at every 4th-6th token only (stage A): a run of exactly 13 words /
    20 characters, or a whole short question of exactly 8 words / 10 characters, must still be
    found wherever it starts in the pool text; one token fewer must not be."""
    en = [f"w{i}x" for i in range(40)]
    zh = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥天地玄黄宇宙洪荒日月盈昃"
    bench = pl.DataFrame({"benchmark": "b", "item_id": ["en", "zh", "en8", "zh10"], "file": "f",
                          "question": [" ".join(en[:13]), zh[:20], "alpha beta gamma delta epsilon zeta eta theta",
                                       "春夏秋冬东南西北上下"]})
    index = build_index(bench)
    filler_en = [f"f{i}y" for i in range(12)]
    rows, expect = [], {}
    for off in range(8):
        pre = " ".join(filler_en[:off])
        cases = [(f"{pre} {' '.join(en[:13])} tail", "en"), (f"{pre} {' '.join(en[:12])} tail", None),
                 ("鸡" * off + zh[:20] + "鸭", "zh"), ("鸡" * off + zh[:19] + "鸭", None),
                 (f"{pre} Alpha, beta gamma delta epsilon zeta eta theta!", "en8"),
                 (f"{pre} alpha beta gamma delta epsilon zeta eta", None),
                 ("鸡" * off + "春夏秋冬，东南西北上下。", "zh10"), ("鸡" * off + "春夏秋冬东南西北上", None)]
        for text, item in cases:
            expect[f"r{len(rows)}"] = f"contaminated:b:{item}" if item else None
            rows.append(text)
    pool = pl.DataFrame({"id": list(expect), "question": rows, "answer": "a"})
    _, bad, _ = contamination(pool, index)
    got = dict(zip(bad["id"], bad["reason"]))
    assert got == {k: v for k, v in expect.items() if v}
