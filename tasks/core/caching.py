"""Cache policy for medprep's tasks: reruns on unchanged inputs are served from cache, safely.

Key = the task's code (its module's import closure) + its inputs by content; a cached result is
reused only while the files it names (``FileRef``) are intact. Details: ``docs/caching.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from prefect.cache_policies import CachePolicy

from tasks.core.storage import sha256_file

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("tasks", "expectations")
DATA_SUFFIXES = {".json", ".txt", ".yaml", ".yml", ".toml", ".j2", ".npz"}
LIBRARIES = ("polars", "polars-hash", "pyarrow", "great-expectations", "opencc", "rensa", "pandas")
MAX_GENERATIONS = 64

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


def _module_file(name: str) -> Path | None:
    """The source file of a project module (``tasks.x.y``), or None when it is not one."""
    if name.split(".", 1)[0] not in PROJECT_PACKAGES:
        return None
    base = PACKAGE_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, name: str) -> set[str]:
    """Project modules a module imports anywhere in its body (absolute imports; ``from a import b``
    counts both ``a`` and ``a.b``, since ``b`` may be a module)."""
    import ast

    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:  # relative import
                parts = package.split(".")
                mod = ".".join(parts[: len(parts) - node.level + 1] + ([mod] if mod else []))
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in out if _module_file(m) is not None}


def module_closure(name: str) -> list[str]:
    """``name`` and every project module it imports, transitively (sorted); parent packages'
    ``__init__`` modules are included, since importing ``a.b`` runs ``a/__init__.py``."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        mod = todo.pop()
        if mod in seen or _module_file(mod) is None:
            continue
        seen.add(mod)
        parts = mod.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(_imports(_module_file(mod), mod))
    return sorted(seen)


def _data_files(module: Path) -> list[Path]:
    """Data files that belong to a module's package folder: its own folder and sub-folders that
    are not packages (e.g. ``tasks/quality/lexicons/*.json``)."""
    folder = module.parent
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or p.suffix not in DATA_SUFFIXES or "__pycache__" in rel.parts:
            continue
        if any((folder.joinpath(*rel.parts[: i + 1]) / "__init__.py").is_file() for i in range(len(rel.parts) - 1)):
            continue  # inside a sub-package: that package's own modules claim it
        out.append(p)
    return out


_DIGEST_LOCK = threading.Lock()


def code_digest(module: str | None = None) -> str:
    """sha256 of the code a task runs (see :func:`_code_digest`), computed once per process.

    Serialised: concurrent task threads computing it at once made CPython 3.11's ``ast.parse``
    fail ("AST constructor recursion depth mismatch"), and Prefect then skipped the result."""
    with _DIGEST_LOCK:
        return _code_digest(module)


@cache
def _code_digest(module: str | None = None) -> str:
    """sha256 of the code a task runs: its module's closure of project imports with their data
    files (all of ``tasks/`` and ``expectations/`` when ``module`` is None), and the versions of
    the libraries that shape the output."""
    h = hashlib.sha256()
    if module is None:
        files = sorted(p for d in PROJECT_PACKAGES for p in (PACKAGE_ROOT / d).rglob("*")
                       if p.is_file() and (p.suffix == ".py" or p.suffix in DATA_SUFFIXES) and "__pycache__" not in p.parts)
    else:
        mods = [_module_file(m) for m in module_closure(module)]
        files = sorted({*mods, *(d for m in mods for d in _data_files(m))})
    for p in files:
        h.update(p.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    for lib in LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{lib}=={version}\0".encode())
    return h.hexdigest()


code_digest.cache_clear = _code_digest.cache_clear  # type: ignore[attr-defined]
code_digest.__wrapped__ = _code_digest.__wrapped__  # type: ignore[attr-defined]  # uncached, for tests


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
    """Files a task result stands for: its ``FileRef`` fields (tasks/core/results.py)."""
    from tasks.core.results import file_refs

    return [(ref.path, ref.sha256) for ref in file_refs(result)]


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

    def base_key(self, task_name: str, inputs: dict[str, Any], flow_parameters: dict[str, Any] | None = None,
                 module: str | None = None) -> str:
        """The content key, before the check against the disk; ``module`` is the task function's
        module, whose import closure is the code keyed on (all pipeline code when None)."""
        material: dict[str, Any] = {
            "task": task_name,
            "code": code_digest(module),
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
        task = task_ctx.task
        key = self.base_key(task.name, inputs, flow_parameters, getattr(task.fn, "__module__", None))
        store = task_ctx.result_store
        for generation in range(MAX_GENERATIONS):
            candidate = key if generation == 0 else f"{key}-g{generation}"
            try:
                if not store.exists(candidate):
                    return candidate
                result = store.read(candidate).result
            except Exception:  # unreadable record (e.g. an older format): try the next generation
                continue
            reason = stale_reason((self.outputs or recorded_files)(result, inputs))
            if reason is None:
                return candidate
            from tasks.core.logs import log

            log().info("cache: not reusing %s's cached result: %s; running it again", task.name, reason)
        return f"{key}-{uuid.uuid4().hex}"  # every generation stale: run without reuse


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


def written_outputs(result: Any, inputs: dict[str, Any]) -> list[tuple[str, str | None]]:
    """write-outputs: the published files (FileRefs) and, when exported, the RL files."""
    return recorded_files(result) + (rl_outputs(result.rl, inputs) if getattr(result, "rl", None) else [])


# the policies the tasks use (results are small records; persistence is on for these tasks)
FILES = ContentCache()
RL_EXPORT = ContentCache(dirs=("processed_dir",), outputs=rl_outputs)
WRITE = ContentCache(outputs=written_outputs)
