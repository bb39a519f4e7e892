"""Cache policy: keys follow file contents (not names, paths or mtimes); stale results are not reused."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from prefect import flow, task

from tasks.core.caching import ContentCache, code_digest, fingerprint, recorded_files, stale_reason
from tasks.core.results import FileRef, OutputFile, Pool

POLICY = ContentCache()


def key(inputs: dict, policy: ContentCache = POLICY, task_name: str = "t") -> str:
    return policy.base_key(task_name, inputs)


def found(path: Path, root: Path) -> dict:
    return {
        "source": "medical-o1",
        "path": str(path.resolve()),
        "relpath": path.relative_to(root).as_posix(),
        "how": "published name",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "size": path.stat().st_size,
    }


def test_parse_key_ignores_absolute_path_and_mtime(tmp_path):
    a, b = tmp_path / "clone-a" / "raw", tmp_path / "clone-b" / "raw"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    (a / "x.json").write_text('[{"Question": "q"}]')
    shutil.copy(a / "x.json", b / "x.json")
    os.utime(b / "x.json", (1, 1))  # another mtime
    work = "data/.work"
    assert key({"found": found(a / "x.json", a), "work_dir": work}) == key({"found": found(b / "x.json", b), "work_dir": work})


def test_one_byte_changes_the_key(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    f = raw / "x.json"
    f.write_text('[{"Question": "q1"}]')
    before = key({"found": found(f, raw), "work_dir": "w"})
    f.write_text('[{"Question": "q2"}]')
    assert key({"found": found(f, raw), "work_dir": "w"}) != before


def test_upstream_files_are_keyed_by_content_not_name(tmp_path):
    (tmp_path / "pool-a.parquet").write_bytes(b"same bytes")
    (tmp_path / "pool-b.parquet").write_bytes(b"same bytes")
    (tmp_path / "pool-c.parquet").write_bytes(b"other bytes")
    k = lambda name: key({"pool_path": str(tmp_path / name), "work_dir": "w"})  # noqa: E731
    assert k("pool-a.parquet") == k("pool-b.parquet") != k("pool-c.parquet")
    # nested, as in build-pool's list of parse results; timings do not count
    parsed = lambda name, secs: [{"records_path": str(tmp_path / name), "records": 3, "seconds": secs}]  # noqa: E731
    assert key({"parsed": parsed("pool-a.parquet", 0.1)}) == key({"parsed": parsed("pool-b.parquet", 9.9)})


def test_parameters_output_dir_and_task_change_the_key(tmp_path):
    base = {"pool_path": "missing/pool.parquet", "work_dir": "w", "cfg": {"size": 5000, "seed": 42}}
    assert key(base) != key({**base, "cfg": {"size": 5000, "seed": 7}})
    assert key(base) != key({**base, "work_dir": "other"})
    assert key(base) != key(base, task_name="u")
    assert len(code_digest()) == 64


def test_user_defined_sources_are_part_of_the_key(tmp_path):
    inputs = {"found": {"source": "my-qa", "sha256": "0" * 64, "relpath": "x.csv"}, "work_dir": "w"}
    plain = POLICY.base_key("t", inputs, {"custom_sources": None, "seed": 1})
    assert plain == POLICY.base_key("t", inputs) == POLICY.base_key("t", inputs, {})
    cfg = {"name": "my-qa", "fields": {"q": "question", "a": "answer"}}
    with_cfg = POLICY.base_key("t", inputs, {"custom_sources": [cfg]})
    assert with_cfg != plain
    assert POLICY.base_key("t", inputs, {"custom_sources": [{**cfg, "fields": {"q": "question", "r": "answer"}}]}) != with_cfg
    conf = tmp_path / "sources.toml"
    conf.write_text("a = 1\n")
    k1 = POLICY.base_key("t", inputs, {"custom_sources": str(conf)})
    conf.write_text("a = 2\n")  # the same config file, edited
    assert POLICY.base_key("t", inputs, {"custom_sources": str(conf)}) != k1


def test_directory_arguments_are_keyed_by_their_files(tmp_path):
    policy = ContentCache(dirs=("processed_dir",))
    d = tmp_path / "processed"
    d.mkdir()
    (d / "train.jsonl").write_text("a\n")
    k1 = key({"processed_dir": str(d)}, policy)
    (d / ".train.jsonl.x.tmp").write_text("half-written")  # temp files of an atomic write do not count
    assert key({"processed_dir": str(d)}, policy) == k1
    (d / "train.jsonl").write_text("b\n")
    assert key({"processed_dir": str(d)}, policy) != k1
    assert fingerprint({"n": 1, "seconds_total": 3.0}) == {"n": 1}


def test_recorded_files_and_staleness(tmp_path):
    p = tmp_path / "pool.parquet"
    p.write_bytes(b"pool")
    digest = hashlib.sha256(b"pool").hexdigest()
    ref = FileRef(str(p), digest)
    # found through FileRef fields, however nested; names like *_path mean nothing to the cache
    result = Pool(pool_file=ref, dedup_quarantine_file=ref, before_dedup=1, records=1,
                  dedup={"nested": [OutputFile(str(p), digest, 3)], "x_path": "elsewhere", "x_sha256": "0" * 64})
    assert recorded_files(result) == [(str(p), digest), (str(p), digest), (str(p), digest)]
    assert stale_reason(recorded_files(result)) is None
    p.write_bytes(b"other")
    assert "changed" in stale_reason(recorded_files(result))
    p.unlink()
    assert "missing" in stale_reason(recorded_files(result))


# ---------------------------------------------------------------- through the real task engine
@task(name="test-write-marker", cache_policy=ContentCache(), persist_result=True)
def write_marker(src: str, out_dir: str) -> FileRef:
    out = Path(out_dir) / "marker.txt"
    out.write_text(Path(src).read_text().upper())
    return FileRef(str(out), hashlib.sha256(out.read_bytes()).hexdigest())


@flow
def marker_flow(src: str, out_dir: str):
    return write_marker(src, out_dir, return_state=True)


@pytest.mark.usefixtures("prefect_harness")
def test_engine_reuses_then_recomputes_deleted_or_changed_outputs(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello")
    out = tmp_path / "out"
    out.mkdir()
    assert marker_flow(str(src), str(out)).name == "Completed"
    assert marker_flow(str(src), str(out)).name == "Cached"

    (out / "marker.txt").unlink()  # the user deleted the output: no reuse, the file comes back
    assert marker_flow(str(src), str(out)).name == "Completed"
    assert (out / "marker.txt").read_text() == "HELLO"
    assert marker_flow(str(src), str(out)).name == "Cached"

    (out / "marker.txt").write_text("edited by hand")  # changed output: rewritten
    assert marker_flow(str(src), str(out)).name == "Completed"
    assert (out / "marker.txt").read_text() == "HELLO"

    src.write_text("hello!")  # changed input: recomputed
    assert marker_flow(str(src), str(out)).name == "Completed"
    assert (out / "marker.txt").read_text() == "HELLO!"


@pytest.mark.usefixtures("prefect_harness")
def test_prepare_rerun_rewrites_deleted_outputs_byte_for_byte(tmp_path):
    from flows.prepare import prepare
    from tests.conftest import DEMO_SAMPLES

    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft.json", raw / "medical_o1_sft.json")
    out = tmp_path / "out"
    run = lambda: prepare(sources="medical-o1", download=False, raw_dir=str(raw), out_dir=str(out))  # noqa: E731
    run()
    names = ["processed/train.jsonl", "processed/val.jsonl", "DATA_CARD.md", "rl/verl/train.parquet", "rl/manifest.json"]
    before = {n: (out / n).read_bytes() for n in names}
    shutil.rmtree(out / "processed")
    shutil.rmtree(out / "rl")
    (out / "DATA_CARD.md").unlink()
    run()  # upstream tasks come from the cache; the writers see their files gone and write again
    assert {n: (out / n).read_bytes() for n in names} == before


def test_code_key_follows_the_tasks_own_imports(tmp_path, monkeypatch):
    """A task is keyed on its module's import closure (+ data files beside it): an edit elsewhere
    (say the RL export) does not invalidate a parse result."""
    from tasks.core import caching

    pkg = tmp_path / "tasks"
    (pkg / "x" / "lexicons").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "x" / "__init__.py").write_text("")
    (pkg / "x" / "a.py").write_text("def f():\n    from tasks.x import b\n    return b.g()\n")
    (pkg / "x" / "b.py").write_text("def g():\n    return 1\n")
    (pkg / "x" / "c.py").write_text("def h():\n    return 2\n")
    (pkg / "x" / "lexicons" / "words.json").write_text('{"v": 1}')
    monkeypatch.setattr(caching, "PACKAGE_ROOT", tmp_path)
    caching.code_digest.cache_clear()
    assert caching.module_closure("tasks.x.a") == ["tasks", "tasks.x", "tasks.x.a", "tasks.x.b"]

    def key(module):
        caching.code_digest.cache_clear()
        return caching.code_digest(module)

    a0, c0 = key("tasks.x.a"), key("tasks.x.c")
    (pkg / "x" / "c.py").write_text("def h():\n    return 3\n")  # outside a's closure
    assert key("tasks.x.a") == a0 and key("tasks.x.c") != c0
    (pkg / "x" / "b.py").write_text("def g():\n    return 5\n")  # imported inside a function
    a1 = key("tasks.x.a")
    assert a1 != a0
    (pkg / "x" / "lexicons" / "words.json").write_text('{"v": 2}')  # data beside the module
    assert key("tasks.x.a") != a1
    caching.code_digest.cache_clear()


def test_real_task_closures_are_separate():
    from tasks.core.caching import module_closure

    parse = module_closure("tasks.ingest.parse")
    rl = module_closure("tasks.export.rl.export")
    assert "tasks.ingest.sources.medical_o1" in parse and "tasks.export.rl.export" not in parse
    assert "tasks.ingest.parse" not in rl and "tasks.export.rl.reward" in rl
    assert "expectations.prepare" in module_closure("tasks.quality.gate")


def test_code_digest_is_safe_under_concurrent_tasks():
    """Parse tasks run in threads: the first digests, computed at once, agree and do not fail."""
    from concurrent.futures import ThreadPoolExecutor

    from tasks.core import caching

    mods = ["tasks.ingest.parse", "tasks.quality.pool", "tasks.sample", "tasks.export.outputs"] * 4
    caching.code_digest.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(caching.code_digest, mods))
    caching.code_digest.cache_clear()
    assert got == [caching.code_digest(m) for m in mods]
