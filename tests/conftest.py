"""Shared fixtures: one Prefect test server per session, and the real-sample folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# before prefect is imported anywhere: no telemetry, and time for a cold server on 2 cores
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

REPO = Path(__file__).resolve().parents[1]
REAL_SAMPLES = Path(os.environ.get("MEDPREP_REAL_SAMPLES", REPO.parent / "shared" / "real-samples"))
DEMO_SAMPLES = REPO / "data" / "samples"


@pytest.fixture(scope="session")
def prefect_harness():
    """A real Prefect API on a temporary SQLite database, started once per test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def api_url(prefect_harness) -> str:
    """URL of the session's test server, for child processes (CLI, workers)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def real_sample(relpath: str) -> Path:
    """Path of a byte-exact real sample, or skip the test when this machine lacks it."""
    p = REAL_SAMPLES / relpath
    if not p.exists():
        pytest.skip(f"real sample {relpath} not present at {REAL_SAMPLES} (set MEDPREP_REAL_SAMPLES)")
    return p


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory):
    """One real OpenAI-compatible server on loopback (``transformers serve``, tiny random model) for
    the flow tests that only talk to it (tests/support/tiny_serve.py); tests that stop a server
    start their own."""
    pytest.importorskip("transformers")
    pytest.importorskip("fastapi")
    from tests.support.tiny_serve import tiny_server, transformers_cli

    if transformers_cli() is None:
        pytest.skip("transformers CLI not installed (pip install 'transformers[serving]')")
    with tiny_server(tmp_path_factory.mktemp("tiny-llm")) as srv:
        yield srv
