"""The seed guide's commands, as written, from the root of a copy of the repository.

Each command runs in a child process against the session's Prefect test server, on the shipped
demo files (MEDPREP_RAW_DIR=data/samples, MEDPREP_OFFLINE=1: no network here). After each prepare
command, the guide's Step 3 checks: the card exists, the first training line is JSON with
`input`, `output` (with `<think>` where the record has reasoning) and `meta`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The files a fresh clone has (code, scripts, demo samples), without outputs."""
    root = tmp_path_factory.mktemp("clone")
    for name in ("flows", "tasks", "expectations", "scripts", "pyproject.toml", "prefect.yaml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / name)
    shutil.copytree(REPO / "data" / "samples", root / "data" / "samples")
    return root


def run(clone: Path, api_url: str, *argv: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PREFECT_API_URL": api_url, "MEDPREP_RAW_DIR": "data/samples", "MEDPREP_OFFLINE": "1",
               "PYTHONPATH": "", **env}
    if "DATASET_CHOICE" not in env:
        environ.pop("DATASET_CHOICE", None)
    return subprocess.run([sys.executable, *argv], cwd=clone, env=environ, capture_output=True, text=True, timeout=600)


def step3(clone: Path) -> dict:
    """The guide's Step 3, in Python: card, first training line, its fields."""
    assert (clone / "data" / "DATA_CARD.md").is_file()
    with open(clone / "data" / "processed" / "train.jsonl", encoding="utf-8") as f:
        sample = json.loads(f.readline())
    assert isinstance(sample["input"], str) and sample["input"][:50]
    assert ("<think>" in sample["output"]) == bool(sample["meta"]["has_reasoning"])
    assert {"source", "risk_level", "language"} <= set(sample["meta"])
    return sample


def sources_in(clone: Path) -> set[str]:
    lines = (clone / "data" / "processed" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["meta"]["source"] for line in lines}


@pytest.mark.parametrize("script", ["scripts/prepare_data_multi_source.py", "scripts/prepare_data.py"])
def test_help(clone, api_url, script):
    res = run(clone, api_url, script, "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"usage: {Path(script).name} [-h]") and "SOURCES" in res.stdout


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, {"medical-o1"}),  # no argument: first source in priority order that has files
        (["medical-o1"], {}, {"medical-o1"}),
        (["medical-o1,datatang-qa"], {}, {"medical-o1", "datatang-qa"}),
        (["medical-o1,delicate-medical,datatang-qa"], {}, {"medical-o1", "delicate-medical", "datatang-qa"}),
        (["delicate-medical"], {}, {"delicate-medical"}),
        # export DATASET_CHOICE="medical-o1"; python3 scripts/prepare_data_multi_source.py $DATASET_CHOICE
        (["medical-o1"], {"DATASET_CHOICE": "medical-o1"}, {"medical-o1"}),
    ],
)
def test_prepare_data_multi_source(clone, api_url, argv, env, expected):
    res = run(clone, api_url, "scripts/prepare_data_multi_source.py", *argv, **env)
    assert res.returncode == 0, res.stderr[-2000:]
    step3(clone)
    assert sources_in(clone) == expected


def test_prepare_data_then_rl_then_train(clone, api_url):
    res = run(clone, api_url, "scripts/prepare_data.py", DATASET_CHOICE="medical-o1")
    assert res.returncode == 0, res.stderr[-2000:]
    assert sources_in(clone) == {"medical-o1"} and step3(clone)["meta"]["source"] == "medical-o1"

    shutil.rmtree(clone / "data" / "rl")
    res = run(clone, api_url, "scripts/prepare_rl_data.py")
    assert res.returncode == 0, res.stderr[-2000:]
    manifest = json.loads((clone / "data" / "rl" / "manifest.json").read_text())
    assert manifest["rows"] > 0 and (clone / "data" / "rl" / "verl_ppo.sh").is_file()

    # no GPU here: one line that says so and names the command, no traceback
    for trainer, script in (("verl", "verl_ppo.sh"), ("openrlhf", "openrlhf_ppo.sh"), ("trl", "train_ppo.py")):
        res = run(clone, api_url, "scripts/train_ppo.py", *(["--trainer", trainer] if trainer != "verl" else []))
        assert res.returncode == 2 and res.stdout == ""
        assert res.stderr.count("\n") == 1 and "no CUDA GPU" in res.stderr and script in res.stderr
        assert "Traceback" not in res.stderr
    res = run(clone, api_url, "scripts/train_ppo.py", "--dry-run", MODEL_PATH="/models/qwen")
    assert res.returncode == 0 and res.stdout.strip() == "MODEL_PATH=/models/qwen bash data/rl/verl_ppo.sh"


def test_train_without_export_names_the_fix(tmp_path, api_url):
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "train_ppo.py")], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 2 and "prepare_rl_data.py" in res.stderr and "Traceback" not in res.stderr
