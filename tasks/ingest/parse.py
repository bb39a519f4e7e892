"""Parse one input file into canonical Parquet (+ its quarantine). One task per file: fans out."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.logs import log
from tasks.core.results import FileRef, ParsedFile
from tasks.core.storage import PARQUET_OPTS, atomic_path, write_parquet
from tasks.ingest.readers import format_of, iter_records, original_records
from tasks.ingest.sources import REGISTRY, build_registry
from tasks.ingest.sources.base import SourceSpec, parse_file_frames


def _spec(source: str | SourceSpec) -> SourceSpec:
    return source if isinstance(source, SourceSpec) else REGISTRY[source]


def iter_parsed(source: str | SourceSpec, path: str, relpath: str):
    """Read and parse one file batch by batch -> (canonical records, quarantined records) per batch.

    CSV streams in bounded memory (a 1 GB GB18030 file never sits in memory whole); the other
    formats are one batch.
    """
    spec = _spec(source)
    fmt = format_of(Path(path), spec.format)
    originals = original_records(Path(path), fmt)
    for raw, reader_bad in iter_records(Path(path), dict(spec.read_schema), spec.encoding, fmt):
        yield parse_file_frames(spec, raw, reader_bad, relpath, originals)


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
