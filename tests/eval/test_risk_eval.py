"""The risk evaluation harness (eval/risk_eval.py) and the frozen test split's recorded sha256.

The harness is exercised on small files written here; the frozen test split is only hashed
(its bytes are compared with eval/risk/data/SHA256SUMS), never parsed by these tests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.support.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "eval" / "risk" / "data"


def _harness():
    return load_script("eval/risk_eval.py")


def test_frozen_test_files_match_recorded_sha256():
    sums = _harness().recorded_sums(DATA / "SHA256SUMS")
    assert set(sums) == {"test_zh.jsonl", "test_en.jsonl"}
    for name, digest in sums.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, f"{name} changed since it was frozen"


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _rows(lang: str) -> list[dict]:
    qs = {"zh": [("最近总想自杀", "high", "psychiatry"), ("青霉素是谁发现的？", "low", "other"),
                 ("我胃胀好几个月了，怎么办", "medium", "internal_medicine")],
          "en": [("I keep thinking about ending my life", "high", "psychiatry"), ("Who discovered penicillin?", "low", "other"),
                 ("I've had heartburn for months, what should I do?", "medium", "internal_medicine")]}[lang]
    return [{"id": f"{lang}{i}", "question": q, "language": lang, "source_kind": "patient_question", "risk": r,
             "why": "", "specialty": s, "origin": "written for this test", "license": "CC0"} for i, (q, r, s) in enumerate(qs)]


def test_harness_scores_dev_with_intervals_and_refuses_an_unrecorded_test_split(tmp_path):
    h = _harness()
    for lang in ("zh", "en"):
        _write(tmp_path / f"dev_{lang}.jsonl", _rows(lang))
    results, frames = h.evaluate_splits(["dev"], tmp_path)
    groups = results["splits"]["dev"]["groups"]
    assert {"all", "language=zh", "language=en", "source_kind=patient_question"} <= set(groups)
    acc = groups["all"]["accuracy"]
    assert 0 <= acc["ci95"][0] <= acc["value"] <= acc["ci95"][1] <= 1
    assert groups["all"]["n"] == 6 and frames["dev"].height == 6
    # same inputs and seed -> same intervals
    assert h.evaluate_splits(["dev"], tmp_path)[0] == results
    # a test split without recorded sums is refused, a changed one too
    _write(tmp_path / "test_zh.jsonl", _rows("zh"))
    with pytest.raises(SystemExit, match="no sha256"):
        h.evaluate_splits(["test"], tmp_path)
    (tmp_path / "SHA256SUMS").write_text("0" * 64 + "  test_zh.jsonl\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="changed"):
        h.evaluate_splits(["test"], tmp_path)


def test_model_arguments_are_checked_before_any_request(tmp_path, capsys):
    h = _harness()
    assert h.main(["--split", "dev", "--model-url", "http://127.0.0.1:9"]) == 2  # no --model
    (tmp_path / "p.txt").write_text("no slot", encoding="utf-8")
    assert h.main(["--split", "dev", "--model-url", "http://127.0.0.1:9", "--model", "m",
                   "--prompt", str(tmp_path / "p.txt")]) == 2
    assert "{question} slot" in capsys.readouterr().err


def test_report_shows_dev_test_side_by_side_and_the_drop(tmp_path):
    h = _harness()
    for split in ("dev", "test"):
        _write(tmp_path / f"{split}_en.jsonl", _rows("en"))
    digest = hashlib.sha256((tmp_path / "test_en.jsonl").read_bytes()).hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{digest}  test_en.jsonl\n", encoding="utf-8")
    results, _ = h.evaluate_splits(["dev", "test"], tmp_path)
    text = h.report(results)
    assert "dev (n)" in text and "test (n)" in text and "drop" in text


@pytest.mark.model
def test_model_labeller_through_the_same_harness(tiny_endpoint, tmp_path, monkeypatch, capsys, caplog):
    """--model-url: the model labels risk via a REAL server on loopback (tiny random model: its answers
    never parse, so every question falls back to the rules, counted); same metric code, cache on rerun,
    the rules' results file untouched, the key never written. Relabelling a file reuses the cache."""
    import logging

    import polars as pl

    from tasks.model import risk_labeller

    key = "sk-medprep-risk-never-written-5d1e"
    monkeypatch.setenv("MEDPREP_API_KEY", key)
    caplog.set_level(logging.DEBUG)
    h = _harness()
    for lang in ("zh", "en"):
        _write(tmp_path / f"dev_{lang}.jsonl", _rows(lang))
    prompt = tmp_path / "prompt.txt"  # a short template: the packaged 11 kB one is slow on a random CPU model
    prompt.write_text("Label the risk (high, medium or low).\nQUESTION:\n{question}\nrisk:", encoding="utf-8")
    rules_file = h.RESULTS_FILE.read_bytes() if h.RESULTS_FILE.is_file() else None
    args = ["--split", "dev", "--data-dir", str(tmp_path), "--model-url", tiny_endpoint["url"],
            "--model", tiny_endpoint["model"], "--prompt", str(prompt), "--max-tokens", "4",
            "--cache-dir", str(tmp_path / "cache"), "--concurrency", "2"]
    assert h.main([*args, "--results", str(tmp_path / "m1.json")]) == 0
    first = capsys.readouterr()
    m1 = json.loads((tmp_path / "m1.json").read_text(encoding="utf-8"))
    run = m1["splits"]["dev"]["risk_model"]
    assert run["questions"] == 6 and run["by_model"] + run["fallback_rules"] == 6
    assert run["fallback_rules"] == run["unparsed"] + run["request_errors"] and run["request_errors"] == 0
    assert run["client"]["requests"] == 6 and run["client"]["cache_hits"] == 0
    assert run["prompt_version"] == risk_labeller.prompt_version(prompt.read_text(encoding="utf-8"))
    assert m1["risk_version"].startswith(f"model {tiny_endpoint['model']}")
    assert m1["splits"]["dev"]["groups"]["all"]["n"] == 6 and "accuracy" in m1["splits"]["dev"]["groups"]["all"]
    # questions the model did not label carry the rules' label: equal to the rules-only harness then
    rules, _ = h.evaluate_splits(["dev"], tmp_path)
    if run["by_model"] == 0:
        assert m1["splits"]["dev"]["confusion"] == rules["splits"]["dev"]["confusion"]
    assert "model labeller: " in first.out and "labelled by the model" in first.out
    with capsys.disabled():
        print("\ntiny server, risk labeller:", run["client"])
    # rerun: all from the cache, same figures
    assert h.main([*args, "--results", str(tmp_path / "m2.json")]) == 0
    second = capsys.readouterr()
    m2 = json.loads((tmp_path / "m2.json").read_text(encoding="utf-8"))
    assert m2["splits"]["dev"]["risk_model"]["client"]["cache_hits"] == 6
    assert m2["splits"]["dev"]["risk_model"]["client"]["requests"] == 0
    assert m2["splits"]["dev"]["groups"] == m1["splits"]["dev"]["groups"]
    # without --results a model run writes nothing: the rules' figures (read by the card) stay
    assert h.main(args) == 0
    assert "wrote" not in capsys.readouterr().out
    assert (h.RESULTS_FILE.read_bytes() if h.RESULTS_FILE.is_file() else None) == rules_file
    # the relabel tool on the same questions, prompt and budget: answered from the same cache
    recs = tmp_path / "records.jsonl"
    _write(recs, [{"id": r["id"], "question": r["question"]} for lang in ("zh", "en") for r in _rows(lang)])
    assert risk_labeller.main(["--url", tiny_endpoint["url"], "--model", tiny_endpoint["model"], "--prompt", str(prompt),
                               "--max-tokens", "4", "--cache-dir", str(tmp_path / "cache"), str(recs),
                               str(tmp_path / "out.parquet")]) == 0
    third = capsys.readouterr()
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out.height == 6 and set(out["risk_level"]) <= {"high", "medium", "low"}
    assert out["risk_by"].value_counts().sort("risk_by").rows() == (
        [(k, v) for k, v in (("model", run["by_model"]), ("rules", run["fallback_rules"])) if v])
    assert json.loads(third.out)["client"]["cache_hits"] == 6
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.json"))
    for text in (first.out, first.err, second.out, second.err, third.out, third.err, caplog.text, written):
        assert key not in text
