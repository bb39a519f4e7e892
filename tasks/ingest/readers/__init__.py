"""Format readers, separate from sources (one module per format, as HF ``datasets`` packaged modules).

A source asks for a set of top-level fields with their dtypes; the reader returns exactly those
columns (missing ones as nulls, unknown ones dropped) plus ``source_row``, the 0-based index of
the record in the file. Which reader runs is decided by :data:`FORMATS` (extension) and, for
files whose extension lies, by :func:`sniff_format` (first bytes).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tasks.core.errors import BadFileError
from tasks.ingest.readers.csv_stream import csv_encoding, iter_csv, read_csv
from tasks.ingest.readers.json_array import read_json_array
from tasks.ingest.readers.jsonl import read_jsonl
from tasks.ingest.readers.parquet import read_parquet
from tasks.ingest.readers.sniff import FORMATS, detect_format, is_lfs_pointer, read_head, sniff_format, sniff_keys

__all__ = [
    "FORMATS", "READERS", "csv_encoding", "detect_format", "is_lfs_pointer", "iter_csv", "iter_records",
    "read_csv", "read_head", "read_json_array", "read_jsonl", "read_parquet", "read_records",
    "sniff_format", "sniff_keys",
]

READERS = {
    "json": read_json_array,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
}


def _format_of(path: Path, declared: str | None) -> str | None:
    """The reader to use: a Git LFS pointer always wins, then a declared format, then sniffing."""
    if path.stat().st_size == 0:
        raise BadFileError(f"{path}: is empty (0 bytes). Fix: re-download it, or remove it from the raw folder.")
    if is_lfs_pointer(path):
        return "lfs"
    return declared or detect_format(path)


def read_records(
    path: Path, schema: dict[str, pl.DataType], encoding: str = "utf-8", fmt: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read any supported file (``fmt`` forces a reader) -> (records with ``source_row``, quarantined)."""
    path = Path(path)
    fmt = _format_of(path, fmt)
    if fmt == "lfs":
        raise BadFileError(
            f"{path}: is a Git LFS pointer, not the data. Fix: run `git lfs install && git lfs pull` "
            "in the cloned dataset folder (or download the file from ModelScope)."
        )
    if fmt == "csv":
        return read_csv(path, schema, encoding)
    if fmt not in READERS:
        raise BadFileError(
            f"{path}: unknown format (expected a JSON array, JSON Lines, CSV or Parquet file)."
        )
    return READERS[fmt](path, schema)


def iter_records(path: Path, schema: dict[str, pl.DataType], encoding: str = "utf-8", fmt: str | None = None):
    """Like :func:`read_records`, as batches: CSV streams (bounded memory); other formats are one batch."""
    path = Path(path)
    fmt = _format_of(path, fmt)
    if fmt == "csv":
        yield from iter_csv(path, schema, encoding)
    else:
        yield read_records(path, schema, encoding, fmt)
