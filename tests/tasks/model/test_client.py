"""Plumbing of the model client and the verify-references stage against a REAL OpenAI-compatible server
on loopback: ``transformers serve`` with a tiny random 2-layer Qwen2 + a BPE trained here (its text is
gibberish: these tests check caching, concurrency, quarantine, errors and the key, not quality)."""

from __future__ import annotations

import logging

import polars as pl
import pytest

pytestmark = [pytest.mark.model, pytest.mark.rl]

transformers = pytest.importorskip("transformers")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tasks.core import schema as S  # noqa: E402
from tasks.model.client import ChatClient, Endpoint, Request  # noqa: E402
from tasks.model.verifier import parse_verdict  # noqa: E402
from tasks.model.verify_stage import verify_references  # noqa: E402
from tests.support.tiny_serve import free_port, tiny_server, transformers_cli  # noqa: E402

KEY = "sk-medprep-test-never-logged-7f3a"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if transformers_cli() is None:
        pytest.skip("transformers CLI not installed (pip install 'transformers[serving]')")
    with tiny_server(tmp_path_factory.mktemp("tiny")) as srv:
        yield srv


def reqs(n: int, tag: str) -> list[Request]:
    return [Request.chat([{"role": "user", "content": f"{tag} {i}"}], max_tokens=4, temperature=0.0) for i in range(n)]


def test_cache_concurrency_and_key(server, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MEDPREP_API_KEY", KEY)
    ep = Endpoint(server["url"], server["model"], concurrency=2)
    client = ChatClient(ep, tmp_path / "cache")
    caplog.set_level(logging.DEBUG)
    replies, stats = client.run(reqs(6, "first"))
    assert all(r.ok and not r.cached for r in replies), [r.error for r in replies]
    assert stats.requests == 6 and stats.cache_hits == 0
    assert 1 <= stats.max_in_flight <= 2  # the limit held
    print(f"tiny server: {stats.as_dict()}")
    # second run: nothing sent, everything from the cache
    again, stats2 = client.run(reqs(6, "first"))
    assert stats2.requests == 0 and stats2.cache_hits == 6
    assert [r.text for r in again] == [r.text for r in replies]
    # a run killed after 3 answers resumes: only the unanswered ones are asked
    _, part = client.run(reqs(9, "first"))
    assert part.cache_hits == 6 and part.requests == 3
    # the key is nowhere: logs, cache files, repr
    files = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert KEY not in caplog.text and KEY not in files and KEY not in repr(client) and KEY not in str(ep.public())


def test_verify_stage_quarantines_and_survives_errors(server, tmp_path):
    frame = pl.DataFrame({
        S.ID: ["a", "b", "c"], S.SOURCE: ["s"] * 3, S.SOURCE_FILE: ["f"] * 3, S.SOURCE_ROW: [0, 1, 2],
        S.LANGUAGE: ["en", "zh", "en"], S.QUESTION: ["q1", "问题", "q3"], S.ANSWER: ["x", "y", "z"],
        S.REFERENCE_ANSWER: ["x", "y", None],
    })
    ep = Endpoint(server["url"], server["model"], concurrency=2)
    kept, bad, report = verify_references(frame, ep, str(tmp_path / "c"), threshold=1.1)  # nothing can pass 1.1
    assert report["with_reference"] == 2 and report["client"]["requests"] == 2
    # gibberish gives no verdict -> unjudged records are kept, never dropped on a failed judge
    judged = report["judged"]
    assert bad.height == judged and kept.height == 3 - judged
    assert set(bad[S.REASON].str.split(":").list.first().to_list()) <= {"verifier_rejected_reference"}
    # an endpoint that is down: every request fails after retries, records are kept, errors named
    dead = Endpoint(f"http://127.0.0.1:{free_port()}", server["model"], max_retries=1, backoff=0.01, timeout=2)
    kept2, bad2, rep2 = verify_references(frame, dead, str(tmp_path / "c2"), threshold=0.5)
    assert kept2.height == 3 and bad2.height == 0 and rep2["unjudged"] == 2 and rep2["client"]["errors"] == 2
    assert not list((tmp_path / "c2").rglob("*.json"))  # errors are never cached


def test_parse_verdict():
    assert parse_verdict("Correct") is True and parse_verdict("Incorrect.") is False
    assert parse_verdict("正确") is True and parse_verdict("错误") is False and parse_verdict("不正确") is False
    assert parse_verdict("") is None and parse_verdict("blah") is None
