"""Run report: artifact keys, tables, and helpers that do nothing outside a run."""

from __future__ import annotations

import re

import polars as pl

from tasks.core import report
from tasks.ingest.plan import parse_sources

KEY = re.compile(r"^[a-z0-9-]+$")


def test_keys_are_lowercase_dashes():
    assert report.artifact_key("data-card", "medical-o1") == "data-card-medical-o1"
    assert report.artifact_key("gate", "My_Source.v2") == "gate-my-source-v2"
    assert all(KEY.match(report.artifact_key(k, "x y")) for k in ("data-card", "gate", "counts", "progress"))


def test_labels():
    assert report.run_label(["medical-o1", "medical-o1"]) == "medical-o1"
    assert report.run_label(["medical-o1", "delicate-medical"]) == "mixed"
    assert report.plan_label(parse_sources("medical-o1")) == "medical-o1"
    assert report.plan_label(parse_sources("medical-o1:0.6,delicate-medical:0.4")) == "mixed"
    assert report.plan_label(parse_sources("all")) == "mixed"
    assert report.plan_label(parse_sources(None)) == "auto"


def test_gate_table():
    rows = [
        {"expectation": "expect_column_values_to_not_be_null", "column": "question", "success": True,
         "unexpected_count": 0, "observed_value": None, "examples": []},
        {"expectation": "expect_column_distinct_values_to_contain_set", "column": "risk_level", "success": False,
         "unexpected_count": None, "observed_value": ["low"], "examples": ["a: 'x'", "b: 'y'"]},
    ]
    t = report.gate_table(rows)
    assert [r["success"] for r in t] == [True, False]
    assert t[1]["examples"] == "a: 'x'; b: 'y'" and t[1]["observed"] == "['low']"
    assert set(t[0]) == {"expectation", "column", "success", "unexpected_count", "observed", "examples"}


def test_counts_table(tmp_path):
    p = tmp_path / "sample.parquet"
    pl.DataFrame({"source": ["a", "a", "b"], "risk_level": ["high", "low", "low"], "x": [1, 2, 3]}).write_parquet(p)
    assert report.counts_table(str(p)) == [
        {"source": "a", "high": 1, "medium": 0, "low": 1, "total": 2},
        {"source": "b", "high": 0, "medium": 0, "low": 1, "total": 1},
        {"source": "all", "high": 1, "medium": 0, "low": 2, "total": 3},
    ]


def test_publishers_are_noops_outside_a_run(tmp_path):
    assert report.publish_card("medical-o1", "# card") is None
    assert report.publish_gate("medical-o1", []) is None
    assert report.publish_counts("medical-o1", str(tmp_path / "missing.parquet")) is None
    progress = report.Progress("medical-o1")
    assert progress.id is None
    progress.step("parse", "3 records")  # logs, publishes nothing
    assert report.stage_line("parse", 3, 9, "3 records", 1.25) == "3/9 parse: 3 records (1.2s into the run)"
