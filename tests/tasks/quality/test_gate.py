"""The GE gate: passes a clean frame, fails a bad one naming expectations and record ids."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.core import schema as S
from tasks.core.errors import GateFailedError
from tasks.core.storage import write_parquet
from tasks.quality.gate import gate_frame, run_gate, validate


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


def test_clean_frame_passes_every_expectation():
    rows = validate(gate_frame(frame().lazy()))
    assert rows and all(r["success"] for r in rows)
    assert {"expect_column_values_to_match_regex", "expect_column_unique_value_count_to_be_between"} <= {r["expectation"] for r in rows}


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
