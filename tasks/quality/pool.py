"""Pool the parsed files: specialty and risk labels, then exact + near-duplicate removal."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.errors import BadFileError
from tasks.core.logs import log
from tasks.core.results import FileRef, ParsedFile, Pool
from tasks.core.storage import write_parquet


def label(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Specialty where the source has none, then risk level and reasons (one model hashing pass)."""
    from tasks.quality.labels import label as label_both

    return label_both(frame)


# label tasks computing at once in one process: the labeller is vectorised and multi-threaded
# itself, so more files at once only add their frames and temporaries to the peak memory (all
# twelve files at once were the 0.3x refresh's peak); Dask workers each have their own slots
_LABEL_SLOTS = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


def label_slots() -> threading.BoundedSemaphore:
    """This process's label slots (a function, so a task pickled for Dask refers to it by name
    instead of carrying the lock)."""
    return _LABEL_SLOTS


def empty_pool_message(parsed: list[ParsedFile]) -> str:
    """Why no record survived: per file, the records parsed and the quarantine reasons."""
    parts = []
    for p in sorted(parsed, key=lambda p: (p.source, p.relpath)):
        bad = pl.read_parquet(p.quarantine_file.path, columns=[S.REASON])
        reasons = ", ".join(f"{r}: {n}" for r, n in bad.group_by(S.REASON).len().sort(S.REASON).iter_rows())
        fields = ", ".join(p.fields or ["?"])
        parts.append(f"{p.relpath} ({p.source}, fields {fields}): {p.records} usable, "
                     f"{p.quarantined} quarantined" + (f" ({reasons})" if reasons else ""))
    return ("no usable record in the input files: " + "; ".join(parts)
            + ". Fix: check that each file holds records with those fields filled in.")


@task(name="label-file", cache_policy=FILES, persist_result=True)
def label_file(parsed: ParsedFile, work_dir: str) -> FileRef:
    """Label one parsed file (specialty, risk) into ``work_dir/labelled``: one task per file, so the
    labelling (the costliest per-row work) fans out over a distributed task runner's workers.

    Labels are per row, so labelling files apart gives the same rows as labelling their union."""
    t0 = time.perf_counter()
    src = Path(parsed.records_file.path)
    dest = Path(work_dir) / "labelled" / src.name
    with label_slots():
        frame = label(pl.scan_parquet(src)).collect()
        write_parquet(frame, dest)
    log().info("labelled %s: %d records in %.2fs", parsed.relpath, frame.height, time.perf_counter() - t0)
    return FileRef.of(dest)


@task(name="build-pool", cache_policy=FILES, persist_result=True)
def build_pool(parsed: list[ParsedFile], work_dir: str, labelled: list[FileRef] | None = None) -> Pool:
    """Concatenate the labelled files (``labelled``, one per parsed file, from :func:`label_file`;
    labelled here when None), dedup within and across sources; write pool.parquet."""
    from tasks.quality.dedup import dedup

    logger = log()
    t0 = time.perf_counter()
    if labelled is not None:  # labelled[i] is parsed[i] labelled
        order = sorted(zip(parsed, labelled), key=lambda pl_: (pl_[0].source, pl_[0].relpath))
        paths = [ref.path for _, ref in order]
        frame = pl.read_parquet(paths) if paths else S.empty_frame()
    else:
        paths = [p.records_file.path for p in sorted(parsed, key=lambda p: (p.source, p.relpath))]
        frame = label(pl.scan_parquet(paths)).collect() if paths else S.empty_frame()
    # canonical order: outputs must not depend on which task finished first
    frame = frame.sort(S.ID)
    before = frame.height
    kept, dropped, stats = dedup(frame)
    del frame  # the whole pool: not held while its deduplicated copy is sorted and written
    kept = kept.sort(S.ID)
    if kept.is_empty():
        raise BadFileError(empty_pool_message(parsed))
    out = Path(work_dir)
    pool = write_parquet(kept, out / "pool.parquet")
    dup = write_parquet(dropped.cast(S.QUARANTINE_SCHEMA), out / "dedup.quarantine.parquet")
    logger.info(
        "pool: %d records -> %d after dedup (%s) in %.2fs",
        before, kept.height, ", ".join(f"{k}={v}" for k, v in stats.items()), time.perf_counter() - t0,
    )
    return Pool(pool_file=FileRef.of(pool), dedup_quarantine_file=FileRef.of(dup), before_dedup=before,
                records=kept.height, dedup=stats)
