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
from tasks.ingest.readers.json_array import original_items, read_json_array
from tasks.ingest.readers.jsonl import original_lines, read_jsonl
from tasks.ingest.readers.parquet import read_parquet
from tasks.ingest.readers.sniff import FORMATS, detect_format, is_lfs_pointer, read_head, sniff_format, sniff_keys

__all__ = [
    "FORMATS", "READERS", "csv_encoding", "detect_format", "format_of", "is_lfs_pointer", "iter_csv", "iter_records",
    "original_records",
    "read_csv", "read_head", "read_json_array", "read_jsonl", "read_parquet", "read_records",
    "sniff_format", "sniff_keys",
]

READERS = {
    "json": read_json_array,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
}


def format_of(path: Path, declared: str | None) -> str | None:
    """The reader to use: a Git LFS pointer always wins, then a declared format, then sniffing."""
    if path.stat().st_size == 0:
        raise BadFileError(f"{path}: is empty (0 bytes). Fix: re-download it, or remove it from the raw folder.")
    if is_lfs_pointer(path):
        return "lfs"
    head = read_head(path, 4096)
    for bom, name in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if head.startswith(bom):
            raise BadFileError(
                f"{path}: is {name.upper()} text (byte-order mark at byte 0); medprep reads UTF-8 (and GB18030 "
                f"CSVs). Fix: convert it, e.g. `iconv -f {name} -t utf-8 in > out`."
            )
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        raise BadFileError(
            f"{path}: is an HTML/XML page, not data (byte 0 starts with '<'; a download that saved an error or "
            "login page?). Fix: download the file again from the dataset page and check its size."
        )
    return declared or detect_format(path)


def read_records(
    path: Path, schema: dict[str, pl.DataType], encoding: str = "utf-8", fmt: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read any supported file (``fmt`` forces a reader) -> (records with ``source_row``, quarantined)."""
    path = Path(path)
    fmt = format_of(path, fmt)
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
    fmt = format_of(path, fmt)
    if fmt == "csv":
        yield from iter_csv(path, schema, encoding)
    else:
        yield read_records(path, schema, encoding, fmt)


def original_records(path: Path, fmt: str | None):
    """For quarantine rows: a function rows -> {row: the record's text as written in the file}, for
    the formats that have one (a JSON array item, a JSON Lines line); None for CSV and Parquet,
    whose rejected rows show the fields as read. Only called for the rows that were rejected."""
    if fmt == "json":
        return lambda rows: original_items(Path(path), rows)
    if fmt == "jsonl":
        return lambda rows: original_lines(Path(path), rows)
    return None
