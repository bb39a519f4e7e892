"""The `prepare` flow on a real Dask cluster (prefect-dask's DaskTaskRunner on a
``distributed.LocalCluster`` with two worker processes): per-file tasks run on the workers and
the outputs are byte-identical to a run on the default thread runner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tasks.export.outputs import DATA_DOCS
from tests.conftest import DEMO_SAMPLES

pytest.importorskip("prefect_dask")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.usefixtures("prefect_harness")

DEMO_FILES = ["medical_o1_sft.json", "medical_o1_sft_Chinese.json", "r1_data_example.jsonl"]


def _outputs(out: Path) -> dict[str, bytes]:
    # GE's Data Docs pages are named by validation time: every other output must match byte for byte
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".work" not in p.relative_to(out).parts
            and not p.relative_to(out).as_posix().startswith(DATA_DOCS + "/")}


def test_prepare_on_a_local_dask_cluster_matches_the_thread_run(tmp_path, api_url, monkeypatch):
    from flows.prepare import prepare_on

    raw = tmp_path / "raw"
    raw.mkdir()
    for name in DEMO_FILES:
        shutil.copy(DEMO_SAMPLES / name, raw / name)
    kw = dict(sources="all", download=False, raw_dir=str(raw))

    prepare_on("thread")(out_dir=str(tmp_path / "local"), **kw)

    # worker processes inherit the environment: the session's test API, this checkout on the path
    monkeypatch.setenv("PREFECT_API_URL", api_url)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                      os.environ.get("PYTHONPATH", "")]))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        with distributed.get_task_stream(client) as stream:
            prepare_on(f"dask:{cluster.scheduler_address}")(out_dir=str(tmp_path / "dask"), **kw)
        ran = [(t["key"], t["worker"]) for t in stream.data]
    # the Dask key names the task function; each per-file task ran on a worker process, and the
    # files were spread over both workers rather than funnelled through one
    by_kind = {kind: {w for k, w in ran if str(k).startswith(kind + "-")} for kind in ("parse_file", "label_file")}
    for kind, where in by_kind.items():
        assert where and where <= workers, (kind, ran)
    assert by_kind["parse_file"] | by_kind["label_file"] == workers, ran
    local, dask = _outputs(tmp_path / "local"), _outputs(tmp_path / "dask")
    assert set(local) == set(dask) and "processed/train.jsonl" in local
    for name in local:
        assert local[name] == dask[name], name
