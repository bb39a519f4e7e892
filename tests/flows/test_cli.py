"""The `medprep` command line: --help, a run, and bad input as one clear line with no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from flows.cli import build_parser, main
from tests.conftest import DEMO_SAMPLES, REPO


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
    out = res.stdout.splitlines()
    assert any(line.split()[::2] == ["rl/verl/train.parquet", "prompts"] for line in out), res.stdout
    assert "synthetic demo data written by bench/synth.py" in res.stdout  # a copy of a shipped demo file
    # the summary's table is aligned: every count ends in the same column
    table = [line for line in out if line.startswith("  ") and line.rstrip().endswith((" rows", " prompts", " row"))]
    assert len({len(line.rstrip()) for line in table}) == 1, table
    assert "Finished in state" not in res.stderr
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


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("medprep: error:")]


ARGUMENT_ERRORS = [
    (["prepare", "medical-01", "--offline"], "did you mean medical-o1?"),
    (["prepare", "medical-o1:0.7,delicate-medical:x", "--offline"], "is not a number (use e.g. delicate-medical:0.5)"),
    (["prepare", "medical-o1", "--offline", "--sample-size", "50"], "pass --allow-out-of-range"),
    (["prepare", "medical-o1", "--offline", "--val-fraction", "1.5"], "val_fraction must be in [0, 1)"),
    (["prepare", "medical-o1", "--offline", "--raw-dir", "no/such/folder"], "folder does not exist"),
    (["sources", "--offline", "--raw-dir", "no/such/folder"], "folder does not exist"),
    (["prepare", "medical-o1", "--offline", "--rl-ground-truth", "verified"], "--rl-ground-truth must be one of verifiable, prefer, any"),
    (["prepare", "medical-o1", "--offline", "--min-verifiable", "1.5"], "min_verifiable must be a share in [0, 1]"),
    (["prepare", "medical-o1", "--offline", "--rl-question-form", "multiple"], "--rl-question-form must be one of open, mc, both"),
    (["prepare", "medical-o1", "--offline", "--raw-dir", "data/samples", "--benchmarks-dir", "no/such/folder"],
     "--benchmarks-dir no/such/folder: folder does not exist"),
    (["prepare", "medical-o1", "--offline", "--task-runner", "ray"], "use thread, dask (a local cluster) or dask:ADDRESS"),
    (["prepare", "medical-o1", "--offline", "--max-quarantine-share", "1.5"], "--max-quarantine-share must be a share in [0, 1]"),
]


@pytest.mark.parametrize(("args", "fix"), ARGUMENT_ERRORS, ids=lambda a: " ".join(a) if isinstance(a, list) else None)
def test_argument_error_is_refused_before_prefect_once_naming_the_fix(args, fix, tmp_path):
    """Child process with `-X importtime`: the error line is printed once, names the fix, and no
    prefect module was ever imported (so no server start can sit in front of it). The wall time is
    printed as a figure, not asserted."""
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "flows.cli", *args], capture_output=True,
                         text=True, timeout=120, cwd=REPO, env={**os.environ, "PREFECT_HOME": str(tmp_path)})
    secs = time.perf_counter() - t0
    print(f"argument error {' '.join(args)!r}: {secs:.2f}s wall (with -X importtime)")
    assert res.returncode == 2
    imported = [line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines() if line.startswith("import time:")]
    assert imported and not [m for m in imported if m.split(".")[0] == "prefect"]
    other = [line for line in res.stderr.splitlines() if not line.startswith("import time:")]
    assert other == _errors(res.stderr) and len(other) == 1, other
    assert fix in other[0]
    assert "Traceback" not in res.stderr


def test_failed_run_prints_the_error_once_and_the_run_log_with_verbose(api_url, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    args = ["prepare", "medical-o1", "--offline", "--raw-dir", str(raw), "--out-dir", str(tmp_path / "out")]
    res = medprep(api_url, *args)
    assert res.returncode == 2
    assert len(_errors(res.stderr)) == 1
    # the failure's text appears on that one line only (no task/flow exception or state lines)
    assert sum("no data file found" in line for line in res.stderr.splitlines()) == 1, res.stderr
    assert "Finished in state" not in res.stderr and "Stopping temporary server" not in res.stderr
    assert _errors(res.stderr)[0] == res.stderr.strip().splitlines()[-1]
    # offline by choice: the advice is to go online
    assert "run without --offline" in _errors(res.stderr)[0]

    verbose = medprep(api_url, *args, "--verbose")
    assert verbose.returncode == 2 and len(_errors(verbose.stderr)) == 1
    assert "Finished in state Failed" in verbose.stderr and "Traceback" not in verbose.stderr


def test_unreachable_modelscope_gives_no_advice_to_download_from_it(api_url, tmp_path):
    """ModelScope is pointed at loopback port 443, where nothing listens (the network is what is
    replaced here): the run tries, finds it unreachable, and must not suggest going online."""
    raw = tmp_path / "raw"
    raw.mkdir()
    env = {**os.environ, "PREFECT_API_URL": api_url, "MODELSCOPE_DOMAIN": "127.0.0.1"}
    res = subprocess.run([sys.executable, "-m", "flows.cli", "prepare", "medical-o1", "--raw-dir", str(raw),
                          "--out-dir", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 2
    (line,) = _errors(res.stderr)
    assert "without --offline" not in line and "could not be reached" in line
    src = subprocess.run([sys.executable, "-m", "flows.cli", "sources", "--raw-dir", str(raw)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert src.returncode == 0 and "unreachable" in src.stdout
    assert "without --offline" not in src.stdout and "could not be reached" in src.stdout
