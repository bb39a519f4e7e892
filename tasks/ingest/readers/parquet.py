"""Parquet reader: only the requested columns are read."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tasks.ingest.readers.common import conform, no_quarantine, with_row


def read_parquet(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read the requested columns of a Parquet file."""
    names = set(pl.read_parquet_schema(path))
    frame = pl.scan_parquet(path).select([c for c in schema if c in names]).collect()
    return with_row(conform(frame, schema)), no_quarantine()
