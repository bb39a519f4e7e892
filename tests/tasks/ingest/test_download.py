"""Download step, unit level: the endpoint the probe knocks on is the one the SDK will use, the
offline path gives up in seconds, and only network failures count as retryable.

The network is really absent on CI machines. Where a server is needed it is the ModelScope-
compatible test server on loopback (tests/support/modelscope_server.py): it replaces the
network only; the SDK's own endpoint resolution is compared against ours, not mocked.
"""

from __future__ import annotations

import time

import pytest

from tasks.ingest.download import download_source, is_network_error, modelscope_endpoint, probe
from tests.support.modelscope_server import ModelScopeServer

ENDPOINT_CASES = [
    ({}, "https://modelscope.cn"),
    ({"MODELSCOPE_DOMAIN": "www.modelscope.cn"}, "https://www.modelscope.cn"),
    ({"MODELSCOPE_DOMAIN": "http://127.0.0.1:8080"}, "http://127.0.0.1:8080"),
    ({"MODELSCOPE_DOMAIN": "127.0.0.1:8080/"}, "https://127.0.0.1:8080"),
    ({"MODELSCOPE_ENDPOINT": "http://127.0.0.1:9"}, "http://127.0.0.1:9"),
    ({"MODELSCOPE_ENDPOINT": "http://127.0.0.1:9", "MODELSCOPE_DOMAIN": "other.example"}, "http://127.0.0.1:9"),
]


@pytest.mark.parametrize(("env", "expected"), ENDPOINT_CASES)
def test_endpoint_is_the_one_the_sdk_resolves(monkeypatch, tmp_path, env, expected):
    for k in ("MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("MODELSCOPE_HOME", str(tmp_path))  # no stored credential of this machine is read
    from modelscope_hub.config import HubConfig

    with pytest.warns(FutureWarning) if env.keys() == {"MODELSCOPE_DOMAIN"} else _no_warning():
        sdk = HubConfig().endpoint
    assert modelscope_endpoint() == sdk == expected


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_probe_follows_scheme_and_port_of_a_non_default_endpoint(monkeypatch):
    with ModelScopeServer() as srv:
        monkeypatch.delenv("MODELSCOPE_ENDPOINT", raising=False)
        monkeypatch.setenv("MODELSCOPE_DOMAIN", srv.url)  # http://127.0.0.1:<port>
        assert probe(modelscope_endpoint(), timeout=3) is None
    # the same host on the SDK's default port (443, https) is closed: the old probe's answer
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "127.0.0.1")
    assert probe(modelscope_endpoint(), timeout=3) is not None


def test_offline_gives_up_fast_with_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.delenv("MODELSCOPE_ENDPOINT", raising=False)
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "http://127.0.0.1:9")  # discard port: nothing listens
    t0 = time.perf_counter()
    res = download_source.fn("medical-o1", str(tmp_path), probe_timeout=3.0)
    assert time.perf_counter() - t0 < 10  # vs ~22 s of the SDK's own retries
    assert res["status"] == "offline"
    assert "ModelScope unreachable (http://127.0.0.1:9" in res["message"] and str(tmp_path) in res["message"]


def test_only_network_failures_are_retryable():
    import requests
    from modelscope_hub.errors import (
        AuthenticationError,
        FileDownloadError,
        FileIntegrityError,
        FileSizeMismatchError,
        NetworkError,
        NotExistError,
    )

    assert is_network_error(requests.ConnectionError("reset"))
    assert is_network_error(FileDownloadError("x", failed_files={"a.json": NetworkError("cut")}, total=1))
    assert is_network_error(FileDownloadError("x", failed_files={"a.json": FileIntegrityError("hash")}, total=1))
    assert not is_network_error(FileDownloadError("x", failed_files={"a.json": FileSizeMismatchError("size")}, total=1))
    for cause in (AuthenticationError("login"), NotExistError("no such dataset")):
        wrapped = requests.HTTPError(str(cause))
        wrapped.__cause__ = cause
        assert not is_network_error(wrapped)
    assert not is_network_error(ValueError("a bug"))
