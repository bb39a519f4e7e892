"""JSON array reader (the medical-o1 files): Polars fast path, per-record slow path for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tasks.core.errors import BadFileError
from tasks.ingest.readers.common import no_quarantine, records_to_frames, with_row
from tasks.ingest.readers.sniff import UTF8_BOM, read_head


def _bad_json_file(path: Path, err: json.JSONDecodeError) -> BadFileError:
    return BadFileError(
        f"{path}: not valid JSON at line {err.lineno}, column {err.colno} ({err.msg}). "
        "Fix: re-download the file (a partial download cuts the array short) or repair that line."
    )


def read_json_array(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read one JSON array (UTF-8, BOM or not) -> (records, quarantined records)."""
    if not read_head(path, 4096).removeprefix(UTF8_BOM).lstrip().startswith(b"["):
        raise BadFileError(
            f"{path}: expected one JSON array of records ([{{...}}, ...]), found something else. "
            "Fix: use the file as published, or save one object per line as JSON Lines (.jsonl)."
        )
    try:
        frame = pl.read_json(path, schema=schema)
        return with_row(frame), no_quarantine()
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, ValueError):
        pass  # malformed JSON or a record of another shape: find out which, below
    raw = Path(path).read_bytes().removeprefix(UTF8_BOM)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise _bad_json_file(path, err) from None
    except UnicodeDecodeError as err:
        raise BadFileError(
            f"{path}: not UTF-8 (byte {err.start}). Fix: convert it, e.g. "
            f"`iconv -f gb18030 -t utf-8 in > out`."
        ) from None
    return records_to_frames(path, list(enumerate(data)), schema)
