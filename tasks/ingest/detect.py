"""Find a source's files under ``data/raw``: published names, git clones, ModelScope cache, renamed copies."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.core.errors import SourceNotFoundError
from tasks.core.logs import log
from tasks.core.storage import sha256_file
from tasks.ingest.readers import FORMATS, detect_format, is_lfs_pointer, sniff_keys
from tasks.ingest.sources import REGISTRY, build_registry
from tasks.ingest.sources.base import SourceSpec

# folders medprep itself writes under a data dir; never read back as input
SKIP_DIRS = {".work", ".staging", "processed", "quarantine", "rl", ".git", "__pycache__"}
# what the ModelScope SDK keeps beside a snapshot: lock files, its temp folder, and the partial
# file of a download that did not finish (``<name>.incomplete``, resumed by the next run)
SKIP_DIRS |= {".lock", "._____temp"}
PARTIAL_SUFFIXES = (".incomplete", ".parallel_tmp", ".lock")


@dataclass(frozen=True)
class FoundFile:
    """One input file of one source, with provenance for the data card."""

    source: str
    path: str  # absolute
    relpath: str  # relative to raw_dir (what outputs record, so they do not depend on the clone path)
    how: str  # "published name", "git clone", "modelscope cache", "renamed copy (matched by content)"
    sha256: str
    size: int
    revision: str | None = None
    lfs_pointer: bool = False

    def to_dict(self) -> dict:
        """Plain dict (for Prefect parameters and the data card)."""
        return asdict(self)


def _inside(path: Path, root: Path) -> str | None:
    """Why ``path`` (a file under ``root``) must not be read, or None: a symlink that loops, dangles,
    or leads outside the raw folder is skipped (a cloned or unpacked dataset must not make medprep
    read, and quarantine the text of, a file elsewhere on the machine)."""
    if not path.is_symlink():
        return None
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as err:  # loop (RuntimeError on 3.11, OSError later) or dangling
        return f"a broken symlink ({err.__class__.__name__})"
    if not real.is_file():
        return "a symlink to something that is not a file"
    if not _in(real, root.resolve()):
        return f"a symlink to {real}, outside the raw folder"
    return None


def _candidates(root: Path) -> list[Path]:
    """Files under ``root`` (directory symlinks are not followed, so a symlink loop ends nowhere)."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.endswith(PARTIAL_SUFFIXES):
                continue
            why = _inside(path, root)
            if why:
                log().warning("skipping %s: %s", path.relative_to(root).as_posix(), why)
                continue
            out.append(path)
    return out


def _how(path: Path, root: Path, published: bool) -> tuple[str, str | None]:
    parts = path.relative_to(root).parts[:-1]
    if "snapshots" in parts:  # modelscope >= 1.38: datasets/<ns>--<name>/snapshots/<rev>/
        return "modelscope cache", parts[parts.index("snapshots") + 1] if len(parts) > parts.index("snapshots") + 1 else None
    if "modelscope" in parts or "datasets" in parts and "hub" in parts:
        return "modelscope cache", None
    if parts and any((root.joinpath(*parts[: i + 1]) / ".git").exists() for i in range(len(parts))):
        return "git clone", None
    if parts:
        return ("published name in a folder" if published else "renamed copy (matched by content)"), None
    return ("published name" if published else "renamed copy (matched by content)"), None


def matches_content(spec: SourceSpec, path: Path) -> bool:
    """True when the file's visible field names carry the source's signature."""
    try:
        keys = sniff_keys(path, spec.encoding)
    except Exception:  # unreadable -> not ours; a bad file of ours is reported by the parser
        return False
    return spec.signature <= keys and not (spec.exclude & keys)


def _in(path: Path, folder: Path) -> bool:
    return folder == path or folder in path.parents


def _snapshot_filter(spec: SourceSpec, snapshot: str | None, snapshot_ok: bool):
    """Which ModelScope cache files of ``spec`` to read, given this run's download.

    After a download, only its snapshot is read (an older revision of the same dataset in the
    cache would be a second, stale copy). After a failed download its snapshot folder is not read
    at all: it may hold only some of the files. ``snapshot`` None: no filter (offline runs).
    """
    if not snapshot or not spec.modelscope_id:
        return lambda path: True
    snap = Path(snapshot).resolve()
    repo_cache = snap.parent.parent  # .../datasets/<owner>--<name>
    if snapshot_ok:
        return lambda path: not _in(path.resolve(), repo_cache) or _in(path.resolve(), snap)
    return lambda path: not _in(path.resolve(), snap)


def find_files(spec: SourceSpec, raw_dir: Path, snapshot: str | None = None, snapshot_ok: bool = True) -> list[FoundFile]:
    """Every file of ``spec`` under ``raw_dir``, sorted by path, duplicates (same bytes) once.

    ``snapshot``: the ModelScope snapshot folder this run downloaded (``snapshot_ok``) or failed
    to complete; see :func:`_snapshot_filter`.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return []
    found: list[FoundFile] = []
    seen: set[str] = set()
    keep = _snapshot_filter(spec, snapshot, snapshot_ok)
    for path in _candidates(raw_dir):
        if not keep(path):
            continue
        rel = path.relative_to(raw_dir).as_posix()
        claimed = spec.claims_patterns and any(fnmatch.fnmatch(rel, p) for p in spec.patterns)
        if not (claimed or path.suffix.lower() in FORMATS or path.suffix == ""):
            continue
        published = path.name in spec.files or claimed
        lfs = is_lfs_pointer(path)
        if spec.claims_patterns:  # a user-defined source reads exactly the files its globs select
            ours = claimed
        elif lfs:
            ours = published or any(fnmatch.fnmatch(path.name, p) for p in spec.patterns)
        else:
            # a published name is ours whatever it holds (an empty or broken download must be
            # reported by the parser, not called "missing"); anything else must match by content
            ours = published or (detect_format(path) is not None and matches_content(spec, path))
        if not ours:
            continue
        digest = sha256_file(path)
        if digest in seen:
            continue
        seen.add(digest)
        how, rev = _how(path, raw_dir, published)
        if claimed and path.name not in spec.files:
            how = "matched the source's file pattern"
        found.append(
            FoundFile(
                source=spec.name,
                path=str(path.resolve()),
                relpath=path.relative_to(raw_dir).as_posix(),
                how=how,
                sha256=digest,
                size=path.stat().st_size,
                revision=rev,
                lfs_pointer=lfs,
            )
        )
    return found


def not_found_message(spec: SourceSpec, raw_dir: Path, download: str | None = None) -> str:
    """What to put where, so the user needs no docs.

    ``download`` is what this run knows of ModelScope: None (not tried: ``--offline``),
    "reachable", "offline" (unreachable), "failed" or "downloaded"; the advice never contradicts it.
    """
    names = ", ".join(spec.files)
    where = f"Put {'one of ' if len(spec.files) > 1 else ''}{names} into {raw_dir}/"
    get = f" (download: {spec.url})" if spec.url else ""
    tail = "."
    if spec.modelscope_id and download is None:
        tail = ", or run without --offline to download it from ModelScope."
    elif spec.modelscope_id and download == "reachable":
        tail = f", or run `medprep prepare {spec.name}` to download it from ModelScope."
    elif spec.modelscope_id and download in ("offline", "failed"):
        tail = "; ModelScope could not be reached from this machine, so download it elsewhere and copy it here."
    missing = "" if Path(raw_dir).is_dir() else " (that folder does not exist)"
    return f"{spec.name}: no data file found under {raw_dir}{missing}. {where}{get}{tail}"


@task(name="detect-files", cache_policy=NO_CACHE)  # looks at the disk every run
def detect_files(source: str, raw_dir: str, required: bool = True, custom_sources=None,
                 download: str | None = None, snapshot: str | None = None) -> list[dict]:
    """Find the source's input files under raw_dir (names, clones, cache, renamed copies);
    ``custom_sources`` are the run's user-defined sources (see ``build_registry``); ``download``
    is the download step's status, for the advice when nothing is found; ``snapshot`` the
    ModelScope snapshot folder that download wrote (read alone when it succeeded, skipped when
    it failed)."""
    spec = build_registry(custom_sources)[source]
    found = find_files(spec, Path(raw_dir), snapshot, snapshot_ok=download == "downloaded")
    if not found and required:
        raise SourceNotFoundError(not_found_message(spec, Path(raw_dir), download))
    return [f.to_dict() for f in found]


def auto_not_found(raw_dir: str) -> SourceNotFoundError:
    """The error when no source was named and none has files: what to put where, per source."""
    missing = "" if Path(raw_dir).is_dir() else " (that folder does not exist)"
    lines = [f"no source has data under {raw_dir}{missing}. Put the files of one of these there:"]
    for spec in REGISTRY.by_priority():
        lines.append(f"  {spec.name}: {', '.join(spec.files)} ({spec.url})")
    return SourceNotFoundError("\n".join(lines))
