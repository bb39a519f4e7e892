"""Parse one input file into canonical Parquet (+ its quarantine). One task per file: fans out."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.logs import log

from tasks.readers import read_records
from tasks.sources import REGISTRY
from tasks.sources.base import parse_file_frames
from tasks.storage import write_parquet


def parse_to_frames(source: str, path: str, relpath: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and parse one file -> (canonical records, quarantined records)."""
    spec = REGISTRY[source]
    raw, reader_bad = read_records(Path(path), dict(spec.read_schema), spec.encoding)
    return parse_file_frames(spec, raw, reader_bad, relpath)


@task(name="parse-file")
def parse_file(found: dict, work_dir: str) -> dict:
    """Parse one detected file into work_dir as Parquet; returns paths and counts."""
    logger = log()
    t0 = time.perf_counter()
    good, bad = parse_to_frames(found["source"], found["path"], found["relpath"])
    stem = f"{found['source']}--{found['sha256'][:16]}"
    out = Path(work_dir) / "parsed"
    records = write_parquet(good, out / f"{stem}.parquet")
    quarantine = write_parquet(bad, out / f"{stem}.quarantine.parquet")
    secs = time.perf_counter() - t0
    logger.info(
        "parsed %s: %d records, %d quarantined in %.2fs (%.0f rows/s)",
        found["relpath"], good.height, bad.height, secs, (good.height + bad.height) / max(secs, 1e-9),
    )
    return {
        **found,
        "records_path": str(records),
        "quarantine_path": str(quarantine),
        "records": good.height,
        "quarantined": bad.height,
        "seconds": round(secs, 3),
    }
