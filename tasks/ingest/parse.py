"""Parse one input file into canonical Parquet (+ its quarantine). One task per file: fans out."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.logs import log
from tasks.core.memory import bound_allocators
from tasks.core.results import FileRef, ParsedFile
from tasks.core.storage import PARQUET_OPTS, atomic_path, write_parquet
from tasks.ingest.readers import format_of, iter_records, original_records
from tasks.ingest.sources import REGISTRY, build_registry
from tasks.ingest.sources.base import SourceSpec, parse_file_frames, tag_quarantine


def _spec(source: str | SourceSpec) -> SourceSpec:
    return source if isinstance(source, SourceSpec) else REGISTRY[source]


# Reader batches (pyarrow's ~1 MiB CSV blocks) parsed together: the source's parse and the shared
# tail run once per group instead of once per block (two collects and a dozen expressions each,
# ~9 ms of fixed cost per block: a third of a dialogue CSV's parse time); each block still comes
# out as its own (records, quarantine) pair, so the Parquet row groups are the same.
GROUP_BYTES = 16 << 20


def iter_parsed(source: str | SourceSpec, path: str, relpath: str):
    """Read and parse one file batch by batch -> (canonical records, quarantined records) per batch.

    CSV streams in bounded memory (a 1 GB GB18030 file never sits in memory whole: about
    :data:`GROUP_BYTES` of parsed rows at a time); the other formats are one batch.
    """
    spec = _spec(source)
    fmt = format_of(Path(path), spec.format)
    originals = original_records(Path(path), fmt)
    group: list[tuple[pl.DataFrame, pl.DataFrame]] = []
    size = 0
    for raw, reader_bad in iter_records(Path(path), dict(spec.read_schema), spec.encoding, fmt):
        group.append((raw, reader_bad))
        size += raw.estimated_size()
        if size >= GROUP_BYTES:
            yield from _parse_group(spec, group, relpath, originals)
            group, size = [], 0
    if group:
        yield from _parse_group(spec, group, relpath, originals)


def _parse_group(spec: SourceSpec, group: list[tuple[pl.DataFrame, pl.DataFrame]], relpath: str, originals):
    """Parse consecutive reader batches at once -> (records, quarantine) per batch, as if each had
    been parsed on its own: rows keep their batch (its ``source_row`` range; readers number rows
    in file order) and each batch's quarantine is sorted on its own."""
    if len(group) == 1:
        yield parse_file_frames(spec, group[0][0], group[0][1], relpath, originals)
        return
    raws = [raw for raw, _ in group]
    empty = pl.DataFrame(schema=group[0][1].schema)
    good, bad = parse_file_frames(spec, pl.concat(raws), empty, relpath, originals)
    good_rows = good.get_column(S.SOURCE_ROW).to_numpy()
    bad_rows = bad.get_column(S.SOURCE_ROW)
    none = bad.clear()
    g0 = 0
    for raw, reader_bad in group:
        if raw.height == 0:
            lo, hi = 0, -1
        else:
            lo, hi = int(raw.get_column(S.SOURCE_ROW)[0]), int(raw.get_column(S.SOURCE_ROW)[-1])
        g1 = g0 + int(((good_rows[g0:] >= lo) & (good_rows[g0:] <= hi)).sum()) if raw.height else g0
        mine = bad.filter(bad_rows.is_between(lo, hi).fill_null(False)) if raw.height and bad.height else none
        if reader_bad.height or mine.height:
            mine = pl.concat([tag_quarantine(reader_bad, spec.name, relpath), mine]).sort(S.SOURCE_ROW)
        yield good.slice(g0, g1 - g0), mine
        g0 = g1


def parse_to_frames(source: str | SourceSpec, path: str, relpath: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and parse one whole file -> (canonical records, quarantined records)."""
    goods, bads = zip(*iter_parsed(source, path, relpath))
    return pl.concat(goods), pl.concat(bads)


def write_parsed(source: str | SourceSpec, path: str, relpath: str, dest: Path) -> tuple[int, pl.DataFrame]:
    """Stream one file's parsed batches into a Parquet file (atomically) -> (records, quarantine)."""
    import pyarrow.parquet as pq

    rows, bads = 0, []
    with atomic_path(dest) as tmp:
        writer = pq.ParquetWriter(tmp, S.empty_frame().to_arrow().schema, compression=PARQUET_OPTS["compression"])
        try:
            for good, bad in iter_parsed(source, path, relpath):
                writer.write_table(good.to_arrow())
                rows += good.height
                bads.append(bad)
        finally:
            writer.close()
    return rows, pl.concat(bads)


@task(name="parse-file", cache_policy=FILES, persist_result=True)
def parse_file(found: dict, work_dir: str, custom_sources: list[dict] | str | None = None) -> ParsedFile:
    """Parse one detected file into work_dir as Parquet (records + quarantine)."""
    bound_allocators()  # a Dask worker process has not imported the flow
    # the run's own registry, built here from the same parameter: a worker process of a
    # distributed task runner needs nothing from the flow's process
    spec = build_registry(custom_sources)[found["source"]]
    logger = log()
    t0 = time.perf_counter()
    stem = f"{found['source']}--{found['sha256'][:16]}"
    out = Path(work_dir) / "parsed"
    records = out / f"{stem}.parquet"
    n_good, bad = write_parsed(spec, found["path"], found["relpath"], records)
    quarantine = write_parquet(bad, out / f"{stem}.quarantine.parquet")
    secs = time.perf_counter() - t0
    logger.info(
        "parsed %s: %d records, %d quarantined in %.2fs (%.0f rows/s)",
        found["relpath"], n_good, bad.height, secs, (n_good + bad.height) / max(secs, 1e-9),
    )
    return ParsedFile(
        input=dict(found),
        records_file=FileRef.of(records),
        quarantine_file=FileRef.of(quarantine),
        fields=tuple(spec.fields),
        records=n_good,
        quarantined=bad.height,
        seconds=round(secs, 3),
    )
