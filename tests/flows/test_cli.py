"""The `medprep` command line: --help, a run, and bad input as one clear line with no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from flows.cli import build_parser, main
from tests.conftest import DEMO_SAMPLES


def test_help_lists_commands_and_source_syntax(capsys):
    with pytest.raises(SystemExit) as e:
        main(["prepare", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--offline" in out and "--sample-size" in out and "key:weight" in out
    assert {"prepare", "sources", "prepare-rl", "demo"} <= set(build_parser()._subparsers._group_actions[0].choices)


def medprep(api_url: str, *args: str) -> subprocess.CompletedProcess:
    """The real console entry point in a child process, talking to the session's test server."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, env=env, timeout=300)


def test_prepare_offline_writes_outputs(api_url, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft.json", raw)
    res = medprep(api_url, "prepare", "medical-o1", "--offline", "--raw-dir", str(raw), "--out-dir", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr[-2000:]
    assert "processed/train.jsonl" in res.stdout and "DATA_CARD.md" in res.stdout
    first = json.loads((tmp_path / "out/processed/train.jsonl").read_text().splitlines()[0])
    assert first["meta"]["source"] == "medical-o1"


def test_bad_file_is_one_line_without_traceback(api_url, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "medical_o1_sft.json").write_text('[{"Question": "q", "Complex_CoT": "c", "Response": "r"},\n {"Question": ')
    res = medprep(api_url, "prepare", "medical-o1", "--offline", "--raw-dir", str(raw), "--out-dir", str(tmp_path / "out"))
    assert res.returncode == 2
    err = res.stderr
    line = [l for l in err.splitlines() if l.startswith("medprep: error:")]
    assert len(line) == 1 and "medical_o1_sft.json" in line[0] and "re-download" in line[0]
    assert "Traceback" not in err


def test_unknown_source_and_bad_size_exit_2(capsys):
    assert main(["prepare", "nope", "--offline"]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err
    assert main(["prepare", "medical-o1", "--offline", "--sample-size", "50"]) == 2
    assert "allow-out-of-range" in capsys.readouterr().err
