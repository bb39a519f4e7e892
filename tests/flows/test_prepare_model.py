"""`prepare` with the judge switched on, against a REAL OpenAI-compatible server on loopback
(`transformers serve` with a tiny random model, tests/support/tiny_serve.py). Its verdicts are
gibberish, so this checks the plumbing of the stage inside the flow — records judged or counted as
unjudged, threshold quarantine, the card block, meta, cached reruns, the key never written — not the
judge's quality."""

from __future__ import annotations

import json

import pytest

from flows.prepare import prepare
from tests.flows.test_prepare import raw_with

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.model, pytest.mark.rl]

KEY = "sk-judge-in-prepare-never-written-5e1d"


@pytest.fixture(scope="module")
def judge(tiny_llm):
    return tiny_llm  # the session's server (tests/conftest.py), shared with tests/flows/test_model_stages.py


def test_verify_references_inside_prepare(judge, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDPREP_API_KEY", KEY)
    raw = raw_with(tmp_path, "medical_o1_verifiable_problem.json", "medical_o1_sft.json")
    out = tmp_path / "out"
    kw = dict(sources="medical-o1,medical-o1-verifiable", download=False, raw_dir=str(raw), out_dir=str(out),
              judge_url=judge["url"] + "/v1", judge_model=judge["model"], verify_threshold=0.5)
    res = prepare(**kw)
    rep = res["sample"]["verify_references"]
    assert rep["with_reference"] > 0 and rep["judged"] + rep["unjudged"] == rep["with_reference"]
    assert rep["client"]["requests"] + rep["client"]["cache_hits"] == rep["with_reference"]

    card = (out / "DATA_CARD.md").read_text(encoding="utf-8")
    assert "## Model verifier (verify-references)" in card and judge["model"] in card
    quarantined = [json.loads(l) for p in (out / "quarantine").glob("*.jsonl")
                   for l in p.read_text(encoding="utf-8").splitlines()]
    rejected = [q for q in quarantined if q["reason"].startswith("verifier_rejected_reference:")]
    assert len(rejected) == rep.get("quarantined", 0)
    kept = sum(res["files"][f"processed/{s}.jsonl"]["rows"] for s in ("train", "val"))
    assert kept + len(rejected) == res["sample"]["drawn"]
    metas = [json.loads(l)["meta"] for s in ("train", "val")
             for l in (out / f"processed/{s}.jsonl").read_text(encoding="utf-8").splitlines()]
    judged = [m for m in metas if m["model"]["verifier"]]
    assert all(m["reference_answer"] for m in judged) and len(judged) == rep["with_reference"] - len(rejected)
    for p in out.rglob("*"):  # the key stays in the environment
        if p.is_file():
            assert KEY.encode() not in p.read_bytes(), p

    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".work" not in p.parts}
    prepare(**kw)  # served from Prefect's cache and the client's: same bytes
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".work" not in p.parts}
    assert after == before


def test_judge_arguments_refused_before_prefect(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "flows.cli", "prepare", "medical-o1", "--offline", "--raw-dir", str(tmp_path),
           "--judge-url", "http://127.0.0.1:9/v1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--judge-model" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(cmd[:-2] + ["--verify-threshold", "0.5"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--verify-threshold needs --judge-url" in r.stderr
