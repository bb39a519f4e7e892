"""Cache policy for medprep's tasks: reruns on unchanged inputs are served from cache, safely.

A task's cache key is a sha256 over

- the task's name and the **code digest**: every source file of ``tasks/`` (parsers, labels,
  lexicons, dedup, sampler, writers ...) and ``expectations/``, plus the versions of the
  libraries that shape the output (Polars, pyarrow, Great Expectations, OpenCC, rensa). A change
  to any of them invalidates every cached result; a task's own decorator source is not enough,
  since the logic lives in the helpers it calls;
- the task's **inputs by content**: a string that names an existing file is replaced by the
  sha256 of its bytes (so upstream Parquet is keyed on what it holds, not on its name or mtime);
  in a dict that carries a ``sha256``, the ``path`` beside it is dropped (an input file found at
  another absolute path, e.g. another clone, gives the same key); keys starting with ``seconds``
  (timings) are dropped; arguments named in ``dirs`` are keyed on the content of the files in
  that directory; everything else (parameters, output folders, relative paths) as is;
- the flow's ``custom_sources`` parameter when set (user-defined sources change parsing).

Before a key is used, the cached result it points at is checked against the disk: every file
the result stands for (``x_path`` + ``x_sha256`` pairs, ``{"path", "sha256"}`` dicts, or what
the policy's ``outputs`` function lists) must exist with the recorded sha256. If one is missing
or different (someone deleted ``data/processed``, another run overwrote ``.work/pool.parquet``),
the record is dropped and the task runs again, writing the files and a fresh record under the
same key.

Results are small dicts (paths, counts, digests) persisted under ``PREFECT_LOCAL_STORAGE_PATH``
(``.prefect/storage`` with scripts/stack.sh); frames stay in Parquet and are never pickled.
Force a full recompute with ``PREFECT_TASKS_REFRESH_CACHE=true``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from prefect.cache_policies import CachePolicy

from tasks.core.storage import sha256_file

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("tasks", "expectations")
CODE_SUFFIXES = {".py", ".json", ".txt", ".yaml", ".yml", ".toml"}
LIBRARIES = ("polars", "polars-hash", "pyarrow", "great-expectations", "opencc", "rensa", "pandas")

OutputsFn = Callable[[Any, dict[str, Any]], Iterable[tuple[str | Path, str | None]]]

_DIGESTS: dict[tuple, str] = {}


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file; memoised per (device, inode, size, mtime) within the process."""
    p = Path(path)
    st = p.stat()
    memo = (str(p.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if memo in _DIGESTS:
        return _DIGESTS[memo]
    _DIGESTS[memo] = sha256_file(p, chunk)
    return _DIGESTS[memo]


def dir_digest(path: str | Path) -> dict[str, str] | str:
    """{relative path: sha256} of the files under ``path`` (dot files skipped), or "missing"."""
    root = Path(path)
    if not root.is_dir():
        return "missing"
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = file_sha256(p)
    return out


@lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 of medprep's pipeline code (tasks/, expectations/) and the key libraries' versions."""
    h = hashlib.sha256()
    for d in CODE_DIRS:
        for p in sorted((PACKAGE_ROOT / d).rglob("*")):
            if p.is_file() and p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts:
                h.update(p.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    for lib in LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{lib}=={version}\0".encode())
    return h.hexdigest()


# names of things, never opened relative to the working directory
VERBATIM_KEYS = {"relpath", "source", "how", "message", "status"}


def _looks_like_file(value: str) -> bool:
    return ("/" in value or os.sep in value) and len(value) < 4096 and Path(value).is_file()


def fingerprint(value: Any) -> Any:
    """A JSON-able stand-in for ``value`` that depends on file contents, not names or timings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return fingerprint(dataclasses.asdict(value))
    if isinstance(value, dict):
        drop_path = "sha256" in value
        return {
            str(k): (v if k in VERBATIM_KEYS else fingerprint(v))
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            if not str(k).startswith("seconds") and not (drop_path and k == "path")
        }
    if isinstance(value, (list, tuple)):
        return [fingerprint(v) for v in value]
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str) and _looks_like_file(value):
        return {"file_sha256": file_sha256(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def recorded_files(result: Any, inputs: dict[str, Any] | None = None) -> list[tuple[str, str | None]]:
    """Files a task result stands for: ``x_path``/``x_sha256`` pairs and ``{path, sha256}`` dicts."""
    found: list[tuple[str, str | None]] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if isinstance(v.get("path"), str) and isinstance(v.get("sha256"), str):
                found.append((v["path"], v["sha256"]))
            for k, sub in v.items():
                if isinstance(k, str) and k.endswith("_path") and isinstance(sub, str):
                    digest = v.get(k[: -len("_path")] + "_sha256")
                    if isinstance(digest, str):
                        found.append((sub, digest))
                walk(sub)
        elif isinstance(v, (list, tuple)):
            for sub in v:
                walk(sub)

    walk(result)
    return found


def stale_reason(files: Iterable[tuple[str | Path, str | None]]) -> str | None:
    """Why a cached result cannot be reused (a file missing or changed), or None."""
    for path, digest in files:
        p = Path(path)
        if not p.is_file():
            return f"{p} is missing"
        if digest is not None and file_sha256(p) != digest:
            return f"{p} changed since it was written"
    return None


@dataclass
class ContentCache(CachePolicy):
    """Key on code digest + inputs by content; never reuse a result whose files are gone or changed.

    Attributes:
        dirs: names of arguments that are directories to key on by the content of their files.
        outputs: ``f(result, inputs) -> [(path, sha256 or None)]``, the files a cached result
            stands for (default: :func:`recorded_files`); None as digest = existence only.
    """

    dirs: tuple[str, ...] = ()
    outputs: OutputsFn | None = None

    def base_key(self, task_name: str, inputs: dict[str, Any], flow_parameters: dict[str, Any] | None = None) -> str:
        """The content key, before the check against the disk."""
        material: dict[str, Any] = {
            "task": task_name,
            "code": code_digest(),
            "inputs": {
                k: (dir_digest(v) if k in self.dirs and v is not None else fingerprint(v))
                for k, v in sorted((inputs or {}).items())
            },
        }
        # user-defined sources (prepare's custom_sources: dicts or a config file) shape how files
        # parse without appearing in any task's inputs: key on them when a run has them
        custom = (flow_parameters or {}).get("custom_sources")
        if custom:
            material["custom_sources"] = fingerprint(custom)
        blob = json.dumps(material, sort_keys=True, ensure_ascii=False, default=repr)
        return f"medprep-{task_name}-{hashlib.sha256(blob.encode()).hexdigest()}"

    def compute_key(self, task_ctx, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        key = self.base_key(task_ctx.task.name, inputs, flow_parameters)
        store = task_ctx.result_store
        try:
            if not store.exists(key):
                return key
            result = store.read(key).result
        except Exception:  # unreadable record (e.g. older format): recompute under a fresh key
            return f"{key}-{uuid.uuid4().hex}"
        files = (self.outputs or recorded_files)(result, inputs)
        reason = stale_reason(files)
        if reason is None:
            return key
        from tasks.core.logs import log

        log().info("cache: not reusing %s's cached result: %s; running it again", task_ctx.task.name, reason)
        return key if _drop_record(store, key) else f"{key}-{uuid.uuid4().hex}"


def _drop_record(store, key: str) -> bool:
    """Delete a cache record from local result storage; False when the storage is not local."""
    dropped = False
    for storage in (store.metadata_storage, store.result_storage):
        resolve = getattr(storage, "_resolve_path", None)
        if resolve is None:
            continue
        try:
            Path(resolve(key)).unlink(missing_ok=True)
            dropped = True
        except OSError:
            return False
    return dropped


# ---------------------------------------------------------------------------- per-task outputs
def rl_outputs(result: Any, inputs: dict[str, Any]) -> list[tuple[str, str | None]]:
    """export-rl: every export and the reward module by sha256; manifest and launch scripts exist."""
    out = Path(result.get("out_dir") or inputs["out_dir"])
    files: list[tuple[str, str | None]] = [
        (str(out / info["path"]), info["sha256"]) for splits in result.get("exports", {}).values() for info in splits.values()
    ]
    reward = result.get("reward_module") or {}
    if reward:
        files.append((str(out / reward["path"]), reward.get("sha256")))
    files.append((str(out / "manifest.json"), None))
    files += [(str(out / info["path"]), None) for info in (result.get("launch") or {}).values()]
    return files


# the policies the tasks use (results are small dicts; persistence is on for these tasks)
FILES = ContentCache()
RL_EXPORT = ContentCache(dirs=("processed_dir",), outputs=rl_outputs)
