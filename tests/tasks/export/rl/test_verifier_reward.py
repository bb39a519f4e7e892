"""The model-verifier reward file (tasks/export/rl/verifier_reward.py), loaded by path as trainers do.

The live tests use a REAL OpenAI-compatible server on loopback (``transformers serve`` with a tiny
random model, tests/support/tiny_serve.py): its text is gibberish, so they check plumbing — requests,
the content cache, the fallback to the lexical reward when the server is down, the key never written —
not the judge's quality. The score mapping (right 1.0 / wrong 0.1) is checked with a ``Judge`` whose
``ask`` returns fixed verdicts (no network, no model: it tests the arithmetic only)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tasks.model.verifier import parse_verdict, prompt_text

RL_DIR = Path(__file__).resolve().parents[4] / "tasks" / "export" / "rl"
KEY = "sk-verifier-test-never-written-91c2"
GOOD = "<think>Fever and neck stiffness suggest meningitis.</think>The diagnosis is bacterial meningitis."
WRONG = "<think>Could be a migraine.</think>The diagnosis is migraine."
MALFORMED = "The diagnosis is bacterial meningitis."


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"_by_path_{name}", RL_DIR / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def vr(monkeypatch):
    for var in ("MEDPREP_VERIFIER_URL", "MEDPREP_VERIFIER_MODEL", "MEDPREP_VERIFIER_CACHE"):
        monkeypatch.delenv(var, raising=False)
    return load("verifier_reward")


def test_prompt_and_parser_are_the_package_copies(vr):
    assert vr.JUDGE_EN == prompt_text("judge_en")
    assert vr.JUDGE_ZH == prompt_text("judge_zh")
    for text in ("Correct", "Incorrect.", "I think it is right... no, wrong", "正确", "答案错误", "不正确", "", None, "maybe"):
        assert vr.parse_verdict(text) == parse_verdict(text), text
    assert "正确 或 错误" in vr.judge_prompt(None, "答案是肺炎", "肺炎")
    assert "Correct or Incorrect" in vr.judge_prompt(None, "pneumonia", "pneumonia")


def test_without_endpoint_it_is_the_lexical_reward(vr):
    lex = load("reward")
    for resp in (GOOD, WRONG, MALFORMED):
        got = vr.compute_score("medical-o1", resp, "bacterial meningitis")
        assert got["score"] == pytest.approx(lex.compute_score("medical-o1", resp, "bacterial meningitis"))
        assert got["verifier"] == 0.0 and got["fallback"] == 0.0
    assert vr.compute_score("x", GOOD, "bacterial meningitis")["score"] > vr.compute_score("x", WRONG, "bacterial meningitis")["score"] > 0


def test_verdicts_map_to_huatuo_scores(vr):
    class FixedJudge(vr.Judge):  # no network: checks the score arithmetic only
        configured = True

        def ask(self, prompt):
            return ("meningitis" in prompt.split("RESPONSE:")[1]), None

    scores, used, fell = vr.score_many([GOOD, WRONG, MALFORMED], ["bacterial meningitis"] * 3, judge=FixedJudge({}))
    assert scores == [vr.RIGHT, vr.WRONG, 0.0] and used == [1.0, 1.0, 0.0] and fell == [0.0, 0.0, 0.0]


@pytest.mark.model
@pytest.mark.rl
def test_live_server_cache_and_fallback(vr, tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    pytest.importorskip("fastapi")
    from tests.support.tiny_serve import tiny_server, transformers_cli

    if transformers_cli() is None:
        pytest.skip("transformers CLI not installed (pip install 'transformers[serving]')")
    lex = load("reward")
    cache = tmp_path / "verdicts"
    queries = [f"<|im_start|>user\nq{i}<|im_end|>\n<|im_start|>assistant\n{r}" for i, r in enumerate((GOOD, WRONG, MALFORMED))]
    labels = ["bacterial meningitis"] * 3
    with tiny_server(tmp_path) as srv:
        monkeypatch.setenv("MEDPREP_VERIFIER_URL", srv["url"] + "/v1")
        monkeypatch.setenv("MEDPREP_VERIFIER_MODEL", srv["model"])
        monkeypatch.setenv("MEDPREP_VERIFIER_CACHE", str(cache))
        monkeypatch.setenv("MEDPREP_API_KEY", KEY)
        first = vr.reward_func(queries, [""] * 3, labels)
        assert len(list(cache.glob("*.json"))) == 2  # one judge call per well-formed response, none for the malformed
    # the server is stopped now: the same batch is served from the cache, no fallback
    second = vr.reward_func(queries, [""] * 3, labels)
    assert [float(x) for x in second["rewards"]] == [float(x) for x in first["rewards"]]
    assert [float(x) for x in second["extra_logs"]["fallback"]] == [float(x) for x in first["extra_logs"]["fallback"]]
    assert float(first["rewards"][2]) == 0.0
    for i in (0, 1):  # gibberish judge: either a parsed verdict (1.0 / 0.1) or the lexical fallback, counted
        if float(first["extra_logs"]["verifier"][i]):
            assert float(first["rewards"][i]) in (vr.RIGHT, vr.WRONG)
        else:
            assert float(first["extra_logs"]["fallback"][i]) == 1.0
            assert float(first["rewards"][i]) == pytest.approx(lex.compute_score("x", (GOOD, WRONG)[i], labels[i]), abs=1e-6)
    assert all(KEY not in p.read_text(encoding="utf-8") for p in cache.glob("*.json"))
    # a fresh cache and no server: every well-formed response falls back to the lexical score
    monkeypatch.setenv("MEDPREP_VERIFIER_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("MEDPREP_VERIFIER_TIMEOUT", "3")
    down = vr.reward_func(queries, [""] * 3, labels)
    assert [float(x) for x in down["extra_logs"]["fallback"]] == [1.0, 1.0, 0.0]
    assert [float(x) for x in down["rewards"]] == pytest.approx(
        [lex.compute_score("x", r, "bacterial meningitis") for r in (GOOD, WRONG, MALFORMED)], abs=1e-6)
