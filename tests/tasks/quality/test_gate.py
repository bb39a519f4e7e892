"""The GE gates: pass a clean frame (and build Data Docs), fail a bad one naming expectations and
record ids; the thresholds bite (lengths, reference share); the parse quarantine-share check."""

from __future__ import annotations

import polars as pl
import pytest

from expectations import thresholds
from tasks.core import schema as S
from tasks.core.errors import BadFileError, GateFailedError
from tasks.core.results import FileRef, ParsedFile
from tasks.core.storage import write_parquet
from tasks.quality.gate import check_quarantine_share, gate_frame, run_gate, validate


def frame(n: int = 6) -> pl.DataFrame:
    return pl.DataFrame(
        {
            S.ID: [f"id{i}" for i in range(n)],
            S.SOURCE: ["medical-o1"] * n,
            S.LANGUAGE: ["en", "zh"] * (n // 2),
            S.QUESTION: [f"question {i}?" for i in range(n)],
            S.REASONING: ["thinking"] * (n - 1) + [None],
            S.ANSWER: [f"answer {i}" for i in range(n)],
            S.RISK_LEVEL: ["high", "low", "medium"] * (n // 3),
        }
    )


def test_clean_frame_passes_every_expectation_and_builds_data_docs(tmp_path):
    path = write_parquet(frame().with_columns(pl.lit("train").alias("split")), tmp_path / "sample.parquet")
    gate = run_gate.fn(str(path), stage="sample", docs_dir=str(tmp_path / "docs"))
    rows = gate.rows
    assert rows and all(r["success"] for r in rows) and gate.suite == "medprep.sample"
    assert {"expect_column_values_to_match_regex", "expect_column_unique_value_count_to_be_between"} <= {r["expectation"] for r in rows}
    assert {r["column"] for r in rows if r["expectation"] == "expect_column_value_lengths_to_be_between"} == {
        S.QUESTION, S.ANSWER}
    assert ("expect_column_values_to_be_between", "reasoning_chars") in {(r["expectation"], r["column"]) for r in rows}
    assert "split" in {r["column"] for r in rows}  # the sample suite checks the split; the pool's does not
    index = tmp_path / "docs" / "index.html"
    assert gate.docs.path == str(index) and gate.docs.sha256 == FileRef.of(index).sha256
    html = index.read_text(encoding="utf-8")
    assert "medprep.sample" in html and list((tmp_path / "docs" / "validations").rglob("*.html"))


def test_length_bound_and_reference_share_fail_the_gate():
    too_long = "x" * (thresholds.LENGTH_BOUNDS[S.QUESTION][1] + 1)
    bad = frame().with_columns(pl.when(pl.col(S.ID) == "id4").then(pl.lit(too_long)).otherwise(pl.col(S.QUESTION)).alias(S.QUESTION),
                               pl.when(pl.col(S.ID) == "id0").then(pl.lit("B")).otherwise(None).alias(S.REFERENCE_ANSWER))
    from expectations.prepare import expectations

    rows = validate(gate_frame(bad.lazy()), "medprep.pool", expectations("pool", min_reference_share=0.5))
    failed = {(r["expectation"], r["column"]): r for r in rows if not r["success"]}
    assert set(failed) == {("expect_column_value_lengths_to_be_between", S.QUESTION),
                           ("expect_column_proportion_of_non_null_values_to_be_between", "has_reference")}
    assert "id4" in failed[("expect_column_value_lengths_to_be_between", S.QUESTION)]["examples"][0]
    assert abs(failed[("expect_column_proportion_of_non_null_values_to_be_between", "has_reference")]["observed_value"] - 1 / 6) < 1e-9


def _parsed(tmp_path, source: str, name: str, records: int, reasons: list[str]) -> ParsedFile:
    q = pl.DataFrame({S.SOURCE: [source] * len(reasons), S.SOURCE_FILE: [name] * len(reasons),
                      S.SOURCE_ROW: list(range(len(reasons))), S.REASON: reasons, S.RAW: ["{}"] * len(reasons)},
                     schema=S.QUARANTINE_SCHEMA)
    qpath = write_parquet(q, tmp_path / f"{name}.q.parquet")
    ref = FileRef.of(qpath)
    return ParsedFile({"source": source, "relpath": name}, ref, ref, (S.QUESTION,), records, len(reasons))


def test_quarantine_share_over_the_limit_names_source_share_reasons_and_flag(tmp_path):
    ok = _parsed(tmp_path, "medical-o1", "a.json", 90, ["empty answer"] * 10)  # 10 %: fine
    broken = [_parsed(tmp_path, "datatang-qa", "b.jsonl", 50, ["bad json"] * 30 + ["empty answer"] * 5),
              _parsed(tmp_path, "datatang-qa", "c.jsonl", 15, [])]
    check_quarantine_share([ok], 0.2)  # the limit is per source: medical-o1 at 10 % passes
    with pytest.raises(BadFileError) as err:
        check_quarantine_share([ok, *broken], 0.3)
    msg = str(err.value)
    assert "source datatang-qa: 35.0% of its records quarantined (35 of 100" in msg
    assert "b.jsonl: 50 usable, 35 quarantined (bad json: 30, empty answer: 5)" in msg
    assert "--max-quarantine-share 0.3" in msg and "medical-o1" not in msg
    check_quarantine_share([ok, *broken], 0.35)  # exactly at the limit passes


def test_bad_frame_fails_naming_expectations_and_ids(tmp_path):
    bad = frame().with_columns(
        pl.when(pl.col(S.ID) == "id2").then(pl.lit("")).otherwise(pl.col(S.ANSWER)).alias(S.ANSWER),
        pl.lit("high").alias(S.RISK_LEVEL),
    )
    path = write_parquet(bad, tmp_path / "pool.parquet")
    with pytest.raises(GateFailedError) as err:
        run_gate.fn(str(path))
    msg = str(err.value)
    assert msg.startswith("gate failed, nothing written")
    assert "expect_column_value_lengths_to_be_between(answer)" in msg and "id2" in msg
    assert "risk-label coverage: the pool has 1 risk level(s)" in msg


def test_malformed_think_block_fails():
    bad = frame().with_columns(pl.when(pl.col(S.ID) == "id1").then(pl.lit("  ")).otherwise(pl.col(S.REASONING)).alias(S.REASONING))
    rows = validate(gate_frame(bad.lazy()))
    think = [r for r in rows if r["column"] == "think_output"][0]
    assert not think["success"] and think["unexpected_count"] == 1


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "stage"} for r in rows]


def test_batches_of_three_give_the_whole_frame_results():
    """Bad records in the first, a middle and the last batch, a duplicate id across batches and a
    `mostly` that one batch fails but the whole passes: batches of 3 report what one batch does."""
    import great_expectations.expectations as gxe

    from expectations.prepare import expectations

    n = 10
    bad = frame(12).head(n).with_columns(
        pl.when(pl.col(S.ID).is_in(["id0", "id5", "id9"])).then(pl.lit("")).otherwise(pl.col(S.ANSWER)).alias(S.ANSWER),
        pl.when(pl.col(S.ID) == "id8").then(pl.lit("id1")).otherwise(pl.col(S.ID)).alias(S.ID),
        pl.when(pl.col(S.ID) == "id4").then(None)
        .when(pl.col(S.ID) == "id2").then(pl.lit("question two?"))  # 13 characters
        .otherwise(pl.col(S.QUESTION)).alias(S.QUESTION),
    )
    gf = gate_frame(bad.lazy())
    whole = validate(gf, "medprep.pool", expectations("pool"), batch_rows=None)
    batched = validate(gf, "medprep.pool", expectations("pool"), batch_rows=3)
    assert batched == whole
    by = {(r["expectation"], r["column"]): r for r in batched}
    answer = by[("expect_column_value_lengths_to_be_between", S.ANSWER)]
    assert not answer["success"] and answer["unexpected_count"] == 3
    assert [e.split(":")[0] for e in answer["examples"]] == ["id0", "id5", "id9"]  # record order, across batches
    assert not by[("expect_column_values_to_be_unique", S.ID)]["success"]  # id1 in batches 1 and 3
    assert by[("expect_column_values_to_not_be_null", S.QUESTION)]["unexpected_count"] == 1
    # `mostly` decides on the summed counts: 1 too-long question (id2) of the 9 present passes
    # 0.8 on the whole (8/9) though its batch alone fails it (2/3); with mostly 1 it fails
    mostly = [gxe.ExpectColumnValueLengthsToBeBetween(column=S.QUESTION, min_value=1, max_value=11, mostly=0.8),
              gxe.ExpectColumnValuesToMatchRegex(column=S.QUESTION, regex=r"^question \d\?$")]
    rows = validate(gf, "medprep.pool", mostly, batch_rows=3)
    assert rows == validate(gf, "medprep.pool", mostly, batch_rows=None)
    assert rows[0]["success"] and rows[0]["unexpected_count"] == 1
    assert not rows[1]["success"] and rows[1]["unexpected_count"] == 1


@pytest.mark.parametrize("bad_id", [None, "id9"])
def test_pool_file_in_batches_fails_on_a_bad_record_in_the_last_batch(tmp_path, monkeypatch, bad_id):
    from tasks.quality import gate as gate_mod

    monkeypatch.setattr(gate_mod, "BATCH_ROWS", 3)  # 10 records: batches of 3, 3, 3 and 1
    pool = frame(12).head(10).with_columns(
        pl.when(pl.col(S.ID) == (bad_id or "")).then(pl.lit("<think>x</think>")).otherwise(pl.col(S.ANSWER)).alias(S.ANSWER))
    path = write_parquet(pool, tmp_path / "pool.parquet")
    if bad_id is None:
        gate = run_gate.fn(str(path), docs_dir=str(tmp_path / "docs"))
        assert all(r["success"] for r in gate.rows)
        assert _strip(gate.rows) == validate(gate_frame(pool.lazy()), "medprep.pool", batch_rows=None)
        # the Data Docs hold one validation result for the stage, not one per batch
        assert len(list((tmp_path / "docs" / "validations").rglob("*.html"))) == 1
        return
    with pytest.raises(GateFailedError) as err:
        run_gate.fn(str(path), docs_dir=str(tmp_path / "docs"))
    assert "expect_column_values_to_not_match_regex(answer): 1 unexpected" in str(err.value) and "id9" in str(err.value)
