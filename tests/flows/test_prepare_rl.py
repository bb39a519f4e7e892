"""The `prepare-rl` flow end to end on the session's Prefect test server."""

from __future__ import annotations

import inspect
import json

import pytest

from flows.prepare_rl import prepare_rl, summary_markdown
from tests.support.rl_sample import write_processed


@pytest.fixture
def harness(prefect_harness):
    """The session-wide harness (tests/conftest.py): one test server per session."""
    yield


def test_flow_name_and_parameters():
    assert prepare_rl.name == "prepare-rl"
    params = inspect.signature(prepare_rl.fn).parameters
    assert list(params) == ["processed_dir", "out_dir", "max_prompt_tokens", "system_prompt", "ground_truth", "question_form", "seed"]
    assert [p.default for p in params.values()] == ["data/processed", "data/rl", 1024, None, "prefer", "both", 42]


def test_flow_writes_exports_and_returns_commands(harness, tmp_path):
    write_processed(tmp_path / "processed")
    summary = prepare_rl(processed_dir=str(tmp_path / "processed"), out_dir=str(tmp_path / "rl"))
    # default ground_truth=prefer: verifiable prompts in the main files, the rest in response_only/
    assert summary["rows"] + summary["response_only_rows"] == 7 and summary["dropped_too_long"] == 1
    assert summary["response_only_rows"] == summary["ground_truth_kind"]["response"] > 0
    for fmt in ("verl", "openrlhf", "trl"):
        for split in ("train", "val"):
            assert (tmp_path / "rl" / summary["exports"][fmt][split]["path"]).is_file()
    assert len(summary["commands"]) == 2
    assert all(c.startswith("MODEL_PATH=") and c.endswith(".sh") for c in summary["commands"])
    manifest = json.loads((tmp_path / "rl" / "manifest.json").read_text())
    assert manifest["rows"] == summary["rows"] and manifest["response_only_rows"] == summary["response_only_rows"]


def test_flow_fails_cleanly_without_processed_files(harness, tmp_path):
    state = prepare_rl(processed_dir=str(tmp_path / "missing"), out_dir=str(tmp_path / "rl"), return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match="medprep prepare"):
        state.result()


def test_summary_markdown(tmp_path):
    from tasks.export.rl.export import run_export

    write_processed(tmp_path / "p")
    s = run_export(tmp_path / "p", tmp_path / "rl")
    text = summary_markdown(s)
    assert f"| verl | train | `verl/train.parquet` | {s['splits']['train']['rows']} |" in text and "bash " in text


def test_nothing_left_to_export_is_a_clear_failure_and_keeps_the_last_export(harness, tmp_path):
    from tasks.core.errors import MedprepError

    write_processed(tmp_path / "processed")
    prepare_rl(processed_dir=str(tmp_path / "processed"), out_dir=str(tmp_path / "rl"))
    before = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in (tmp_path / "rl").rglob("*") if p.is_file()}
    with pytest.raises(MedprepError, match="no RL prompt left to export"):
        prepare_rl(processed_dir=str(tmp_path / "processed"), out_dir=str(tmp_path / "rl"), max_prompt_tokens=5)
    after = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in (tmp_path / "rl").rglob("*") if p.is_file()}
    assert after == before
