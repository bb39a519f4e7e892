"""The verifier agreement harness (eval/verifier_eval.py) end to end against a REAL OpenAI-compatible
server on loopback (tiny random model: gibberish verdicts, so the figures' values mean nothing — the
tests check structure, counts, the cache, the frozen-split check and that the key is never written).
``test_real_endpoint`` measures a real judge on the whole labelled set whenever MEDPREP_EVAL_URL is set."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest

from tests.support.scripts import load_script

KEY = "sk-medprep-eval-never-written-91c2"


def _harness():
    return load_script("eval/verifier_eval.py")


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _triples(split: str, lang: str, n: int) -> list[dict]:
    base = {"en": ("Which drug treats absence seizures?", "The answer is ethosuximide.", "Ethosuximide"),
            "zh": ("失神发作首选什么药？", "答案是乙琥胺。", "乙琥胺")}[lang]
    return [{"id": f"{split}-{lang}-{i}", "lang": lang, "question": base[0], "response": f"{base[1]} ({split} {i})",
             "ground_truth": base[2], "label": "right" if i % 2 == 0 else "wrong", "note": "written for this test"}
            for i in range(n)]


def _labelled_set(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _write(root / "dev_en.jsonl", _triples("dev", "en", 3))
    _write(root / "dev_zh.jsonl", _triples("dev", "zh", 2))
    _write(root / "test_en.jsonl", _triples("test", "en", 2))
    digest = hashlib.sha256((root / "test_en.jsonl").read_bytes()).hexdigest()
    (root / "SHA256SUMS").write_text(f"{digest}  test_en.jsonl\n", encoding="utf-8")
    return root


def test_without_an_endpoint_it_says_so_and_exits_0(monkeypatch, capsys):
    monkeypatch.delenv("MEDPREP_EVAL_URL", raising=False)
    monkeypatch.delenv("MEDPREP_EVAL_MODEL", raising=False)
    assert _harness().main([]) == 0
    assert "no judge endpoint" in capsys.readouterr().err
    assert _harness().main(["--url", "http://127.0.0.1:9"]) == 2  # a URL without a model name


@pytest.mark.model
def test_harness_end_to_end_cache_and_key(tiny_endpoint, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("MEDPREP_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    data = _labelled_set(tmp_path / "data")
    h = _harness()
    args = ["--url", tiny_endpoint["url"], "--model", tiny_endpoint["model"], "--split", "all", "--data", str(data),
            "--cache-dir", str(tmp_path / "cache"), "--max-tokens", "4", "--concurrency", "2"]
    assert h.main([*args, "--out", str(tmp_path / "r1.json")]) == 0
    first = capsys.readouterr()
    r1 = json.loads((tmp_path / "r1.json").read_text(encoding="utf-8"))
    assert set(r1["splits"]) == {"dev", "test"}
    dev, test = r1["splits"]["dev"], r1["splits"]["test"]
    assert set(dev["groups"]) == {"all", "en", "zh"} and set(test["groups"]) == {"all", "en"}
    for split, n in ((dev, 5), (test, 2)):
        g = split["groups"]["all"]
        assert g["n"] == n and split["client"]["total"] == n
        assert split["client"]["requests"] == n and split["client"]["cache_hits"] == 0
        parsed = g["parsed_only"]["n"] if g["parsed_only"] else 0
        assert parsed + g["unparsed"] + g["errors"] == n and g["errors"] == 0  # every triple accounted for
        assert 0 <= g["ci95"][0] <= g["agreement"] <= g["ci95"][1] <= 1
    assert dev["groups"]["en"]["n"] + dev["groups"]["zh"]["n"] == 5
    assert "dev   all" in first.out and "req/s" in first.out
    with capsys.disabled():
        print("\ntiny server, first run:", dev["client"], test["client"])
    # rerun: every verdict from the cache, nothing sent, same figures
    assert h.main([*args, "--out", str(tmp_path / "r2.json")]) == 0
    second = capsys.readouterr()
    r2 = json.loads((tmp_path / "r2.json").read_text(encoding="utf-8"))
    for split, n in (("dev", 5), ("test", 2)):
        assert r2["splits"][split]["client"]["cache_hits"] == n and r2["splits"][split]["client"]["requests"] == 0
        assert r2["splits"][split]["groups"] == r1["splits"][split]["groups"]
    # the key is nowhere: printed output, log, result files, cache
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.json"))
    for text in (first.out, first.err, second.out, second.err, caplog.text, written):
        assert KEY not in text
    # a changed frozen test file is refused before it is scored
    _write(data / "test_en.jsonl", _triples("test", "en", 3))
    with pytest.raises(SystemExit, match="does not match"):
        h.main([*args, "--split", "test"])


@pytest.mark.model
def test_a_dead_endpoint_counts_errors_and_fails(tmp_path, capsys):
    from tests.support.tiny_serve import free_port

    data = _labelled_set(tmp_path / "data")
    rc = _harness().main(["--url", f"http://127.0.0.1:{free_port()}", "--model", "m", "--data", str(data),
                          "--cache-dir", str(tmp_path / "cache"), "--max-retries", "0", "--timeout", "5",
                          "--out", str(tmp_path / "r.json")])
    assert rc == 1 and "every judge request failed" in capsys.readouterr().err
    g = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["splits"]["dev"]["groups"]["all"]
    assert g["errors"] == g["n"] == 5 and g["unparsed"] == 0 and g["parsed_only"] is None
    assert not list((tmp_path / "cache").rglob("*.json"))  # errors are never cached


@pytest.mark.skipif(not os.environ.get("MEDPREP_EVAL_URL"), reason="set MEDPREP_EVAL_URL (+ MEDPREP_EVAL_MODEL) to measure a judge")
def test_real_endpoint(tmp_path):
    """Measure the configured judge on the whole labelled set (dev and test); figures printed and
    written to $MEDPREP_EVAL_OUT (default: the test's tmp folder)."""
    out = Path(os.environ.get("MEDPREP_EVAL_OUT") or tmp_path / "verifier_eval.json")
    assert _harness().main(["--split", "all", "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    for split in ("dev", "test"):
        g = result["splits"][split]["groups"]["all"]
        assert g["n"] > 0 and g["errors"] == 0, g
        assert g["unparsed"] < g["n"], "the judge gave no parseable verdict at all: check the model name / prompt"
