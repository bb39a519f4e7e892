"""The pass-rate stage inside `prepare` and on its own (flows/model_stages.py `passrate`), against a
REAL OpenAI-compatible server on loopback (`transformers serve` with a tiny random model, the
session's `tiny_llm`). Its completions are gibberish — never `<think>…</think>answer` — so every
scored prompt has pass rate 0: the default band (0 < rate < 1) quarantines them all as too hard,
and a band that keeps 0 ("[0,1)") keeps them. This checks plumbing (rates in meta and the RL files,
quarantine, card histogram, cached reruns, the key never written), not a policy's quality."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pyarrow.parquet as pq
import pytest

from flows.model_stages import chains, passrate, verify
from flows.prepare import prepare
from tests.conftest import DEMO_SAMPLES

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.model, pytest.mark.rl]

KEY = "sk-policy-never-written-91c4"
FAST = dict(pass_samples=2, pass_max_tokens=8)  # gibberish either way: short completions keep it quick


def tiny_raw(tmp_path):
    """6 verifiable questions (medical-o1-verifiable) + 4 records with reasoning but no short answer
    (delicate-medical) + 3 dialogue answers with neither (chinese-dialogue): the tiny server answers
    ~1 request/s on a loaded 2-core machine, so the inputs stay this small."""
    raw = tmp_path / "raw"
    raw.mkdir()
    items = json.loads((DEMO_SAMPLES / "medical_o1_verifiable_problem.json").read_text(encoding="utf-8"))[:6]
    (raw / "medical_o1_verifiable_problem.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    r1 = (DEMO_SAMPLES / "r1_data_example.jsonl").read_text(encoding="utf-8").splitlines()[:4]
    (raw / "r1_data_example.jsonl").write_text("\n".join(r1) + "\n", encoding="utf-8")
    csv = DEMO_SAMPLES / "chinese-dialogue" / "IM_内科" / "内科5000-33000.csv"
    (raw / "IM_内科").mkdir()
    (raw / "IM_内科" / csv.name).write_bytes(b"\n".join(csv.read_bytes().splitlines()[:4]) + b"\n")  # GB18030
    return raw


SOURCES = "medical-o1-verifiable,delicate-medical,chinese-dialogue"


def lines(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def processed(out):
    return [r for s in ("train", "val") for r in lines(out / "processed" / f"{s}.jsonl")]


def quarantined(out, prefix="pass_rate:"):
    return [q for p in (out / "quarantine").glob("*.jsonl") for q in lines(p) if q["reason"].startswith(prefix)]


def outputs(out):
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".work" not in p.parts}


def no_key(out, capfd):
    for p in out.rglob("*"):  # the key stays in the environment: not in outputs, cache or results
        if p.is_file():
            assert KEY.encode() not in p.read_bytes(), p
    cap = capfd.readouterr()
    assert KEY not in cap.out and KEY not in cap.err


@pytest.fixture
def policy(tiny_llm, monkeypatch):
    monkeypatch.setenv("MEDPREP_API_KEY", KEY)
    return dict(policy_url=tiny_llm["url"] + "/v1", policy_model=tiny_llm["model"])


def test_passrate_and_chain_inside_prepare(policy, tmp_path, capfd):
    raw = tiny_raw(tmp_path)
    out = tmp_path / "out"
    # the same tiny model as policy and as chain writer (its chains are cut at max_tokens, or empty)
    res = prepare(sources=SOURCES, download=False, raw_dir=str(raw), out_dir=str(out), chain_url=policy["policy_url"],
                  chain_model=policy["policy_model"], chain_max_tokens=8, **policy, **FAST)
    rep = res["sample"]["pass_rate"]
    assert rep["scored"] > 0 and rep["scored"] + rep["unscored_errors"] == rep["verifiable"]
    assert rep["unscored_no_ground_truth"] > 0  # kept without a rate: nothing to score against
    # gibberish never passes: with the default band every scored prompt is too hard, none too easy
    assert rep["too_hard"] == rep["scored"] and rep["too_easy"] == 0 and rep["histogram"]["0/2"] == rep["scored"]
    assert rep["client"]["requests"] + rep["client"]["cache_hits"] >= 2 * rep["verifiable"]
    dropped = quarantined(out)
    assert len(dropped) == rep["too_hard"] and {q["reason"] for q in dropped} == {"pass_rate:too_hard"}
    assert all(json.loads(q["raw"])["model"]["pass_rate"] == 0.0 for q in dropped)  # the rate rides along
    kept = processed(out)
    assert len(kept) == res["sample"]["drawn"] == rep["drawn"] and len(kept) + len(dropped) == rep["candidates"]
    assert all(r["meta"]["model"]["policy"] and r["meta"]["model"]["pass_rate"] is None for r in kept)
    assert any("pass-rate filter" in s for s in res["sample"]["shortfalls"])  # the shortfall is named
    card = (out / "DATA_CARD.md").read_text(encoding="utf-8")
    assert "## Pass-rate filter (pass-rate)" in card and "0/2 |" in card and "quarantined pass_rate:too_hard" in card

    chain = res["sample"]["chain"]  # after the filter: the dialogue records have no reasoning
    no_reasoning = [r for r in kept if not r["meta"]["has_reasoning"]]
    assert chain["without_reasoning"] > 0 and chain["accepted"] + chain["rejected"] == chain["without_reasoning"]
    rejected = quarantined(out, "chain_rejected:")
    assert len(rejected) == chain["rejected"] and all(json.loads(q["raw"])["model"]["chain_model"] for q in rejected)
    assert len(no_reasoning) == chain["rejected"]  # a rejected generation leaves its record as it was
    assert "## Reasoning chains written by a model (chain)" in card and chain["prompt_version"] in card
    no_key(out, capfd)


def test_passrate_flow_on_a_prepared_sample(policy, tmp_path, capfd):
    raw = tiny_raw(tmp_path)
    out = tmp_path / "out"
    prepare(sources=SOURCES, download=False, raw_dir=str(raw), out_dir=str(out))
    n_before = len(processed(out))
    assert "pass_rate" not in pq.read_schema(out / "rl/verl/train.parquet").field("extra_info").type.names

    kw = dict(out_dir=str(out), policy_url=policy["policy_url"], policy_model=policy["policy_model"], **FAST)
    rep = passrate(pass_band="[0,1)", **kw)  # a band that keeps rate 0: nothing dropped, every rate written
    c = rep["client"]
    assert rep["scored"] > 0 and rep["too_hard"] == rep["too_easy"] == 0 and rep["kept"] == n_before
    assert c["total"] == 2 * rep["verifiable"] and c["errors"] == 0
    rows = processed(out)
    assert len(rows) == n_before
    rates = [r["meta"]["model"]["pass_rate"] for r in rows]
    assert rates.count(0.0) == rep["scored"] and rates.count(None) == n_before - rep["scored"]
    verl = pl.read_parquet(out / "rl/verl/train.parquet")
    assert verl["extra_info"].struct.field("pass_rate").to_list() == [0.0] * verl.height  # main files: verifiable
    assert "pass_rate" in pl.read_parquet(out / "rl/trl/train.parquet").columns
    card = (out / "DATA_CARD.md").read_text(encoding="utf-8")
    assert card.count("## Pass-rate filter") == 1 and f"0/2 | {'█' * 40} {rep['scored']}" in card

    first = outputs(out)
    again = passrate(pass_band="[0,1)", **kw)  # rerun: every answer from the client's cache, same bytes
    assert again["client"]["requests"] == 0 and again["client"]["cache_hits"] == again["client"]["total"] == c["total"]
    assert {k: v for k, v in outputs(out).items() if k.name != "DATA_CARD.md"} == \
        {k: v for k, v in first.items() if k.name != "DATA_CARD.md"}

    strict = passrate(**kw)  # the default band on the same prompts: all scored ones too hard, still no request
    assert strict["client"]["requests"] == 0 and strict["too_hard"] == rep["scored"]
    assert len(processed(out)) == n_before - rep["scored"] and len(quarantined(out)) == rep["scored"]
    card = (out / "DATA_CARD.md").read_text(encoding="utf-8")
    assert card.count("## Pass-rate filter") == 1 and "shortfall: source medical-o1-verifiable" in card
    no_key(out, capfd)
    with capfd.disabled():  # the figures for the closing note (no timing is asserted)
        print(f"\npass-rate vs tiny server: {c['requests']} requests, {c['req_per_s']} req/s, {c['seconds']} s, "
              f"max in flight {c['max_in_flight']}; rerun cache hits {again['client']['cache_hits']}/"
              f"{again['client']['total']}, {again['client']['requests']} requests")


def test_passrate_arguments_refused_before_prefect(tmp_path):
    base = [sys.executable, "-m", "flows.cli", "prepare", "medical-o1", "--offline", "--raw-dir", str(tmp_path)]
    for extra, msg in ((["--policy-url", "http://127.0.0.1:9/v1"], "--policy-model"),
                       (["--policy-url", "http://127.0.0.1:9/v1", "--policy-model", "m", "--pass-band", "1,0"],
                        "--pass-band needs 0 <= LO < HI <= 1"),
                       (["--pass-samples", "0"], "--pass-samples must be at least 1")):
        r = subprocess.run(base + extra, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "flows.cli", "passrate", "--out-dir", str(tmp_path), "--policy-url",
                        "http://127.0.0.1:9/v1", "--policy-model", "m"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "run `medprep prepare` first" in r.stderr
    r = subprocess.run([sys.executable, "-m", "flows.cli", "chains", "--out-dir", str(tmp_path), "--chain-url",
                        "http://127.0.0.1:9/v1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--chain-model" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "flows.cli", "verify", "--out-dir", str(tmp_path), "--judge-url",
                        "http://127.0.0.1:9/v1", "--judge-model", "m", "--verify-threshold", "2"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--verify-threshold must lie in 0-1" in r.stderr


def test_chains_flow_on_a_prepared_sample(policy, tmp_path, capfd):
    from tasks.model.chain import chain_request
    from tasks.model.client import Cache, Sampling

    raw = tiny_raw(tmp_path)
    out = tmp_path / "out"
    prepare(sources=SOURCES, download=False, raw_dir=str(raw), out_dir=str(out))
    rows = processed(out)
    todo = [r for r in rows if not r["meta"]["has_reasoning"]]
    assert len(todo) >= 2
    # one record's chain is put in the client's cache (as a resumed run would find it): the tiny model
    # never writes a usable chain, so this is how the accepted path runs through the real flow
    good = todo[0]
    sampling = Sampling(temperature=0.7, max_tokens=8, seed=0)
    req = chain_request(good["input"], good["meta"]["reference_answer"] or good["output"], good["meta"]["language"], sampling)
    Cache(out / ".work" / "model-cache").put(req.key(policy["policy_model"]),
                                             {"text": "Key findings point one way.\nFinal answer: as known", "finish_reason": "stop"})
    kw = dict(out_dir=str(out), chain_url=policy["policy_url"], chain_model=policy["policy_model"], chain_max_tokens=8)
    rep = chains(**kw)
    assert rep["without_reasoning"] == len(todo) and rep["accepted"] >= 1
    assert rep["client"]["cache_hits"] >= 1 and rep["client"]["total"] == len(todo)
    after = {r["meta"]["id"]: r for r in processed(out)}
    assert len(after) == len(rows)  # no record lost, rejected or not
    mine = after[good["meta"]["id"]]
    assert mine["output"] == f"<think>\nKey findings point one way.\nFinal answer: as known\n</think>\n\n{good['output']}"
    assert mine["meta"]["has_reasoning"] and mine["meta"]["model"]["chain_model"] == policy["policy_model"]
    rejected = quarantined(out, "chain_rejected:")
    assert len(rejected) == rep["rejected"] == len(todo) - rep["accepted"]
    card = (out / "DATA_CARD.md").read_text(encoding="utf-8")
    assert card.count("## Reasoning chains written by a model (chain, run on the prepared sample)") == 1
    again = chains(**kw)  # rerun: nothing left to ask but the rejected ones, all from the cache
    assert again["client"]["requests"] == 0 and again["client"]["cache_hits"] == again["client"]["total"]
    assert len(quarantined(out, "chain_rejected:")) == len(rejected)  # the same rejection is not added twice

    # verify-references on its own, on the same folder (the tiny judge's verdicts are gibberish)
    n = len(processed(out))
    vkw = dict(out_dir=str(out), judge_url=policy["policy_url"], judge_model=policy["policy_model"], verify_threshold=0.5)
    ver = verify(**vkw)
    assert ver["with_reference"] > 0 and ver["judged"] + ver["unjudged"] == ver["with_reference"]
    dropped = quarantined(out, "verifier_rejected_reference:")
    assert len(dropped) == ver.get("quarantined", 0) and len(processed(out)) == n - len(dropped)
    assert "## Model verifier (verify-references, run on the prepared sample)" in (out / "DATA_CARD.md").read_text(encoding="utf-8")
    ver2 = verify(**vkw)
    assert ver2["client"]["requests"] == 0 and ver2["client"]["cache_hits"] == ver2["client"]["total"]
    no_key(out, capfd)
