"""Pool the parsed files: specialty and risk labels, then exact + near-duplicate removal."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.errors import BadFileError
from tasks.core.logs import log
from tasks.core.memory import bound_allocators
from tasks.core.results import FileRef, ParsedFile, Pool
from tasks.core.storage import write_parquet, write_parquet_groups


def label(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Specialty where the source has none, then risk level and reasons (one model hashing pass)."""
    from tasks.quality.labels import label as label_both

    return label_both(frame)


# pool.parquet's row groups: the writer holds about one group while encoding (docs/dedup.md)
POOL_ROW_GROUP = 32_768
# row groups of the per-file parts it is merged from: small, so a slice reads little beyond itself
PART_GROUP = 4_096

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
    bound_allocators()  # a Dask worker process has not imported the flow
    t0 = time.perf_counter()
    src = Path(parsed.records_file.path)
    dest = Path(work_dir) / "labelled" / src.name
    with label_slots():
        frame = label(pl.scan_parquet(src)).collect()
        write_parquet(frame, dest)
    log().info("labelled %s: %d records in %.2fs", parsed.relpath, frame.height, time.perf_counter() - t0)
    return FileRef.of(dest)


@task(name="dedup-keys", cache_policy=FILES, persist_result=True)
def dedup_keys_file(labelled: FileRef, work_dir: str) -> FileRef:
    """One labelled file's dedup keys (``tasks.quality.dedup.row_keys``: ranking columns, exact-key
    hash, MinHash band keys) into ``work_dir/dedup-keys``: one task per file, so the text
    normalisation and shingling fan out like labelling; only the small keys meet in one process."""
    bound_allocators()  # a Dask worker process has not imported the flow
    from tasks.quality.dedup import row_keys

    t0 = time.perf_counter()
    src = Path(labelled.path)
    dest = Path(work_dir) / "dedup-keys" / src.name
    with label_slots():
        keys = row_keys(pl.scan_parquet(src))
        write_parquet(keys, dest)
    log().info("dedup keys of %s: %d rows in %.2fs", src.name, keys.height, time.perf_counter() - t0)
    return FileRef.of(dest)


def _file_major(paths: list[str], picks: list[np.ndarray], rows: list[np.ndarray], columns: list[str]) -> pl.DataFrame:
    """Rows ``rows[i]`` of file ``paths[i]``, file after file, read a column of one file at a time
    (each result column keeps one chunk per file: nothing is copied to join them)."""
    out = []
    for c in columns:
        parts = [pl.read_parquet(path, columns=[c])[c].gather(r) for path, pick, r in zip(paths, picks, rows) if pick.size]
        out.append(pl.concat(parts, rechunk=False) if parts else pl.read_parquet(paths[0], columns=[c])[c].clear())
        del parts
    return pl.DataFrame(out)


def _plan(n_files: int, file_idx: np.ndarray, row_idx: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per file, which of the wanted rows it holds (``picks``) and their row numbers; and ``where``:
    wanted row i is row ``where[i]`` of the file-major frame."""
    picks = [np.flatnonzero(file_idx == i) for i in range(n_files)]
    concat_order = np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)
    where = np.empty(concat_order.size, dtype=np.int64)
    where[concat_order] = np.arange(concat_order.size, dtype=np.int64)
    return picks, [row_idx[p] for p in picks], where


def gather_rows(paths: list[str], file_idx: np.ndarray, row_idx: np.ndarray, columns: list[str]) -> pl.DataFrame:
    """Rows ``(file_idx[i], row_idx[i])`` of Parquet files with one schema, in that order; only the
    wanted rows of the wanted columns are held (never the files whole)."""
    picks, rows, where = _plan(len(paths), file_idx, row_idx)
    return _file_major(paths, picks, rows, columns).gather(where)


def write_rows(paths: list[str], file_idx: np.ndarray, row_idx: np.ndarray, columns: list[str], dest: Path,
               group: int, scratch: Path) -> int:
    """:func:`gather_rows` written to Parquet in row groups of ``group`` rows, holding about one
    file's wanted rows at a time instead of all of them.

    Each file's wanted rows are written, in the wanted order, to a part in ``scratch`` (row groups
    of :data:`PART_GROUP` rows); the output is then a merge: a row group takes from each part the
    next slice of rows it holds (a file's rows are contiguous in its part) and interleaves them.
    Returns the number of rows; ``scratch`` is removed."""
    picks, rows, where = _plan(len(paths), file_idx, row_idx)
    schema = pl.scan_parquet(paths[0]).select(columns).collect_schema() if paths else pl.Schema()
    scratch.mkdir(parents=True, exist_ok=True)
    parts: list[Path | None] = []
    try:
        for i, path in enumerate(paths):
            if not picks[i].size:
                parts.append(None)
                continue
            held = _file_major([path], [picks[i]], [rows[i]], columns)  # this file's rows, wanted order
            parts.append(scratch / f"{i}.parquet")
            write_parquet_groups(lambda h=held: (h.slice(lo, PART_GROUP) for lo in range(0, h.height, PART_GROUP)),
                                 schema, parts[-1], PART_GROUP)
            del held

        def groups():
            for lo in range(0, where.size, group):
                hi = min(lo + group, where.size)
                pieces = []
                for pick, part in zip(picks, parts):
                    a, b = np.searchsorted(pick, [lo, hi]) if part is not None else (0, 0)
                    if b > a:
                        pieces.append(pl.scan_parquet(part).slice(int(a), int(b - a)).collect())
                # the pieces hold the group's rows file after file: put them in the wanted order
                order = np.argsort(file_idx[lo:hi], kind="stable")
                back = np.empty(order.size, dtype=np.int64)
                back[order] = np.arange(order.size, dtype=np.int64)
                yield pl.concat(pieces).gather(back)

        write_parquet_groups(groups, schema, dest, group)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return where.size


@task(name="build-pool", cache_policy=FILES, persist_result=True)
def build_pool(parsed: list[ParsedFile], work_dir: str, labelled: list[FileRef] | None = None,
               keys: list[FileRef] | None = None) -> Pool:
    """Dedup the labelled files (``labelled``, one per parsed file, from :func:`label_file`;
    labelled here when None) within and across sources; write pool.parquet and the dedup
    quarantine.

    Bounded memory: the survivors are chosen on the files' dedup keys (``keys``, from
    :func:`dedup_keys_file`; computed here, a file at a time, when None), then the kept and
    dropped rows are gathered from the files column by column — the pool's texts are held once,
    never twice, and never with the dropped rows."""
    from tasks.quality.dedup import NUM_PERM, POS, QUARANTINE_INPUTS, SEED, decide, digests, quarantine, row_keys

    logger = log()
    t0 = time.perf_counter()
    if not parsed:
        raise BadFileError(empty_pool_message(parsed))
    if labelled is None:
        labelled = [label_file.fn(p, work_dir) for p in parsed]
    # canonical order of the files, then of the rows (by id): outputs must not depend on which
    # task finished first
    order = sorted(range(len(parsed)), key=lambda i: (parsed[i].source, parsed[i].relpath))
    paths = [labelled[i].path for i in order]
    frames = [pl.read_parquet(keys[i].path) if keys is not None else row_keys(pl.scan_parquet(labelled[i].path))
              for i in order]
    table = pl.concat([
        f.with_columns(pl.lit(n, dtype=pl.UInt32).alias("__file"), pl.int_range(f.height, dtype=pl.UInt32).alias("__row"))
        for n, f in enumerate(frames)
    ]).sort(S.ID, maintain_order=True)
    del frames
    before = table.height
    t1 = time.perf_counter()
    file_of, row_of = table["__file"].to_numpy(), table["__row"].to_numpy()

    def digests_of(pos: np.ndarray) -> np.ndarray:
        """The MinHash digests of rows ``pos`` of the key table, from their files' questions."""
        questions = gather_rows(paths, file_of[pos], row_of[pos], [S.QUESTION])[S.QUESTION]
        return digests(questions, num_perm=NUM_PERM, seed=SEED)

    kept_pos, reasons, stats = decide(table.drop("__file", "__row"), digests_of)
    stats["seed"] = SEED
    del table
    if kept_pos.is_empty():
        raise BadFileError(empty_pool_message(parsed))
    t2 = time.perf_counter()
    out = Path(work_dir)
    cols = pl.read_parquet_schema(paths[0]).names()
    drop_pos = reasons[POS].to_numpy()
    dropped = gather_rows(paths, file_of[drop_pos], row_of[drop_pos], [c for c in QUARANTINE_INPUTS if c in cols])
    dup = write_parquet(quarantine(dropped.with_columns(reasons[S.REASON])).cast(S.QUARANTINE_SCHEMA),
                        out / "dedup.quarantine.parquet")
    del dropped
    kept_idx = kept_pos.to_numpy()
    records = write_rows(paths, file_of[kept_idx], row_of[kept_idx], cols, out / "pool.parquet", POOL_ROW_GROUP,
                         out / ".pool-parts")
    logger.info(
        "pool: %d records -> %d after dedup (%s) in %.2fs (keys %.2fs, decide %.2fs, gather + write %.2fs)",
        before, records, ", ".join(f"{k}={v}" for k, v in stats.items()), time.perf_counter() - t0,
        t1 - t0, t2 - t1, time.perf_counter() - t2,
    )
    return Pool(pool_file=FileRef.of(out / "pool.parquet"), dedup_quarantine_file=FileRef.of(dup), before_dedup=before,
                records=records, dedup=stats)
