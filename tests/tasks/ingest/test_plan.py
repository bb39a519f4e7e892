"""Source lists: names, comma lists, weights, $DATASET_CHOICE, priority auto-load, bad input."""

from __future__ import annotations

import pytest

from tasks.core.errors import ConfigError
from tasks.ingest.plan import parse_sources


def test_single_and_weighted(monkeypatch):
    monkeypatch.delenv("DATASET_CHOICE", raising=False)
    assert parse_sources("medical-o1").sources == ("medical-o1",)
    assert parse_sources("medical-o1").weights is None
    assert parse_sources(" medical-o1:3 ").weights == {"medical-o1": 1.0}


def test_none_uses_env_then_auto(monkeypatch):
    monkeypatch.setenv("DATASET_CHOICE", "medical-o1")
    assert parse_sources(None).sources == ("medical-o1",)
    monkeypatch.delenv("DATASET_CHOICE")
    plan = parse_sources(None)
    assert plan.mode == "auto" and plan.sources[0] == "medical-o1" and not plan.required


@pytest.mark.parametrize(
    "value, needle",
    [("nope", "unknown source 'nope'"), ("medical-o1:x", "not a number"), ("medical-o1:0", "must be > 0"),
     ("medical-o1,medical-o1", "listed twice"), (",", "no source named")],
)
def test_bad_lists_are_config_errors(value, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_sources(value)
