"""The download step end to end: the real `prepare` flow, the real modelscope SDK, its real cache
layout, real detection and parsing, against a ModelScope-compatible server on 127.0.0.1.

Only the network is replaced: tests/support/modelscope_server.py answers the HTTP calls the
installed SDK makes (listing, file download, region probe) with the repo's shipped demo files under
the published dataset ids and file names, and logs every request, so the tests can count what was
transferred. The SDK is pointed at it the way a user would point it at a mirror
(``MODELSCOPE_ENDPOINT``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

# the SDK reads its retry tunables once, at import (modelscope_hub/constants.py): fewer and
# shorter per-file retries keep the failure tests at seconds; the behaviour is the same
os.environ.setdefault("MODELSCOPE_DOWNLOAD_MAX_RETRIES", "2")
os.environ.setdefault("MODELSCOPE_DOWNLOAD_RETRY_MAX_DELAY_SECONDS", "1")

from flows.prepare import prepare  # noqa: E402
from tasks.core.errors import SourceNotFoundError  # noqa: E402
from tasks.ingest.sources import REGISTRY  # noqa: E402
from tests.support.modelscope_server import SAMPLES, ModelScopeServer, published_repos  # noqa: E402

pytestmark = pytest.mark.usefixtures("prefect_harness")

DATATANG = "DatatangBeijing/203029Groups-ChineseMedicalQuestionAnsweringData"
TOKEN = "ms-test-token-5f1c9e0b7a"  # a made-up token the server requires for the Datatang repo


@pytest.fixture
def server(monkeypatch, tmp_path):
    with ModelScopeServer(published_repos({DATATANG: TOKEN})) as srv:
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", srv.url)
        monkeypatch.delenv("MODELSCOPE_DOMAIN", raising=False)
        monkeypatch.delenv("MODELSCOPE_API_TOKEN", raising=False)
        monkeypatch.setenv("MODELSCOPE_HOME", str(tmp_path / "ms-home"))  # no stored login of this machine
        monkeypatch.setenv("MEDPREP_DOWNLOAD_RETRY_DELAYS", "0.1")  # one snapshot retry, at once
        yield srv


def _run(source: str, tmp_path: Path, out: str = "out", **kw):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    return prepare(sources=source, download=True, raw_dir=str(raw), out_dir=str(tmp_path / out),
                   export_rl=False, **kw)


def _card(tmp_path: Path, out: str = "out") -> str:
    return (tmp_path / out / "DATA_CARD.md").read_text(encoding="utf-8")


def _snapshot(tmp_path: Path, source: str, revision: str = "master") -> Path:
    owner_name = REGISTRY[source].modelscope_id.replace("/", "--")
    return tmp_path / "raw" / "modelscope" / "datasets" / owner_name / "snapshots" / revision


@pytest.mark.parametrize("source", ["medical-o1", "delicate-medical", "medical-o1-verifiable"])
def test_downloaded_detected_in_cache_parsed_and_carded(server, tmp_path, source):
    spec = REGISTRY[source]
    served = server.repos[spec.modelscope_id].files
    res = _run(source, tmp_path)

    # only the published files were fetched (README.md / .gitattributes of the repo were not)
    fetched = sorted(r.query["FilePath"] for r in server.transfers())
    assert fetched == sorted(n for n in served if n in spec.files)
    assert all(r.query.get("Revision") == "master" for r in server.log if r.route in ("tree", "file"))
    # in the SDK's cache layout, byte for byte what was served
    snap = _snapshot(tmp_path, source)
    for name in fetched:
        assert (snap / name).read_bytes() == served[name]
    # parsed from there: records exist, and the card names ModelScope and the revision
    assert res["sample"]["drawn"] > 0
    card = _card(tmp_path)
    assert "ModelScope, revision master" in card
    for name in fetched:
        assert hashlib.sha256(served[name]).hexdigest() in card
        assert f"modelscope/datasets/{spec.modelscope_id.replace('/', '--')}/snapshots/master/{name}" in card


def test_second_run_transfers_nothing_and_gives_the_same_card(server, tmp_path):
    _run("medical-o1", tmp_path, "a")
    first = server.counts()
    server.clear()
    _run("medical-o1", tmp_path, "b")
    second = server.counts()
    print(f"\nSDK requests, first run: {dict(first)}; repeated run: {dict(second)}")
    assert first["GET file"] == 2 and first["GET tree"] == 1
    assert server.transfers() == [] and second["GET file"] == 0 and second["GET tree"] == 1
    assert _card(tmp_path, "a").split("## ")[1:4] == _card(tmp_path, "b").split("## ")[1:4]


def test_revision_pins_what_is_downloaded_and_the_card_records_it(server, tmp_path):
    repo = server.repos["FreedomIntelligence/medical-o1-verifiable-problem"]
    full = repo.files["medical_o1_verifiable_problem.json"]
    # an older revision of the dataset: the first 30 problems (still one JSON array)
    import json

    older = json.dumps(json.loads(full)[:30], ensure_ascii=False, indent=2).encode()
    repo.extra_revisions["v0.9"] = {"medical_o1_verifiable_problem.json": older}

    res = _run("medical-o1-verifiable", tmp_path, revision="v0.9")
    assert {r.query["Revision"] for r in server.log if r.route in ("tree", "file")} == {"v0.9"}
    assert (_snapshot(tmp_path, "medical-o1-verifiable", "v0.9") / "medical_o1_verifiable_problem.json").read_bytes() == older
    card = _card(tmp_path)
    assert "ModelScope, revision v0.9" in card and hashlib.sha256(older).hexdigest() in card
    assert res["sample"]["drawn"] <= 30

    # the same cache then gets master: the run reads master's snapshot only, not the old one too
    server.clear()
    _run("medical-o1-verifiable", tmp_path, "out2")
    card2 = _card(tmp_path, "out2")
    assert "ModelScope, revision master" in card2 and "v0.9" not in card2
    assert hashlib.sha256(full).hexdigest() in card2


def test_connection_cut_mid_file_is_resumed(server, tmp_path):
    server.fault("krisfu/delicate_medical_r1_data", "r1_data_example.jsonl", "cut", times=1)
    _run("delicate-medical", tmp_path)
    gets = [r for r in server.log if r.route == "file"]
    assert len(gets) == 2 and "range" in gets[1].headers and gets[1].status == 206  # resumed, not restarted
    assert (_snapshot(tmp_path, "delicate-medical") / "r1_data_example.jsonl").read_bytes() == (
        SAMPLES / "r1_data_example.jsonl").read_bytes()


def test_connection_cut_every_time_falls_back_to_raw_without_the_partial_file(server, tmp_path, caplog):
    server.fault("krisfu/delicate_medical_r1_data", "r1_data_example.jsonl", "cut")
    raw = tmp_path / "raw"
    raw.mkdir()
    mine = raw / "my_copy.jsonl"  # the user's own copy under data/raw, renamed
    mine.write_bytes((SAMPLES / "r1_data_example.jsonl").read_bytes())
    _run("delicate-medical", tmp_path)

    assert len(server.transfers()) >= 4  # the SDK's resumes, then medprep's snapshot retry
    partial = list(_snapshot(tmp_path, "delicate-medical").glob("*.incomplete"))
    assert partial, "the SDK keeps the partial file to resume later"
    card = _card(tmp_path)
    lines = [ln for ln in card.splitlines() if "delicate-medical" in ln and "failed" in ln]
    assert len(lines) == 1 and "after 2 attempts" in lines[0] and "r1_data_example.jsonl" in lines[0]
    assert "my_copy.jsonl" in card and "snapshots/master" not in card and ".incomplete" not in card
    warnings = [r.getMessage() for r in caplog.records if "failed after" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0]


def test_checksum_mismatch_is_retried_then_reported_and_nothing_is_read(server, tmp_path):
    server.fault("krisfu/delicate_medical_r1_data", "r1_data_example.jsonl", "corrupt")
    with pytest.raises(SourceNotFoundError) as err:
        _run("delicate-medical", tmp_path)
    assert len(server.transfers()) == 6  # 3 tries per snapshot (the SDK's), 2 snapshots (medprep's)
    snap = _snapshot(tmp_path, "delicate-medical")
    assert not [p for p in snap.rglob("*") if p.is_file()], "a file that failed its checksum must not stay"
    assert "could not be reached" in str(err.value)


def test_login_token_from_env_is_sent_and_never_written_anywhere(server, tmp_path, monkeypatch, capfd, caplog):
    # without a token: refused at once (no retry), one line naming the variable to set
    with pytest.raises(SourceNotFoundError):
        _run("datatang-qa", tmp_path, "no-token")
    assert server.counts()["GET tree"] == 1 and not server.transfers()

    server.clear()
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", TOKEN)
    state = _run("datatang-qa", tmp_path, return_state=True)
    assert state.is_completed()
    assert [r.headers.get("authorization") for r in server.log if r.route in ("tree", "file")] == [f"Bearer {TOKEN}"] * 2
    assert "ModelScope, revision master" in _card(tmp_path)

    # scan everything the runs left: logs, terminal, files written, Prefect's logs and artifacts
    seen = capfd.readouterr()
    texts = [seen.out, seen.err, *(r.getMessage() for r in caplog.records)]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*")
              if p.is_file() and "ms-home" not in p.parts]
    texts += _prefect_records(state.state_details.flow_run_id)
    assert texts and not [t for t in texts if TOKEN in t]


def _prefect_records(flow_run_id) -> list[str]:
    """The flow run's logs and artifacts as stored by the Prefect API."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    time.sleep(3)  # logs reach the API through a background batch worker
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        arts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    assert arts  # the card / counts artifacts of the run
    return [lg.message for lg in logs] + [str(a.data) for a in arts]
