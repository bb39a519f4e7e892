"""Download step. The network is really absent on CI machines: the probe fails in seconds and the
flow falls back to data/raw. No mock: where the network is present the test is skipped."""

from __future__ import annotations

import time

import pytest

from tasks.ingest.download import download_source, modelscope_host, probe


def test_offline_gives_up_fast_with_one_clear_line(tmp_path, caplog):
    if probe(modelscope_host(), timeout=3) is None:
        pytest.skip("ModelScope is reachable from here; this test covers the offline path")
    t0 = time.perf_counter()
    res = download_source.fn("medical-o1", str(tmp_path), probe_timeout=3.0)
    assert time.perf_counter() - t0 < 10  # vs ~22 s of the SDK's own retries
    assert res["status"] == "offline"
    assert "ModelScope unreachable" in res["message"] and str(tmp_path) in res["message"]
