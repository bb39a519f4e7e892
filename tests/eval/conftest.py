"""One real OpenAI-compatible server on loopback for the eval harnesses' model tests (session-scoped,
started only when such a test runs): ``transformers serve`` with the tiny random Qwen2 of
tests/support/tiny_serve.py. Its text is gibberish: the tests check plumbing, not quality."""

from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(scope="session")
def tiny_endpoint(tmp_path_factory):
    for mod in ("transformers", "fastapi", "uvicorn"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} not installed (pip install 'transformers[serving]')")
    from tests.support.tiny_serve import tiny_server, transformers_cli

    if transformers_cli() is None:
        pytest.skip("transformers CLI not installed (pip install 'transformers[serving]')")
    with tiny_server(tmp_path_factory.mktemp("tiny-eval")) as srv:
        yield srv
