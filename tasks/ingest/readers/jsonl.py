"""JSON Lines reader: Polars fast path; bad lines quarantined with their row and text as written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tasks.core.errors import BadFileError
from tasks.ingest.readers.common import (
    InvalidJSON,
    check_suspects,
    coerced_rows,
    loads,
    no_quarantine,
    records_to_frames,
    with_row,
)
from tasks.ingest.readers.sniff import UTF8_BOM


def _lines(path: Path):
    """(row, line number, line bytes) of every non-blank line; row counts non-blank lines from 0."""
    row = -1
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.removeprefix(UTF8_BOM) if lineno == 1 else line
            if not line.strip():
                continue
            row += 1
            yield row, lineno, line


def _text(line: bytes) -> str:
    return line.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


def read_jsonl(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read JSON Lines -> (records, quarantined lines); blank lines are skipped, bad lines quarantined.

    Fast path: Polars reads the file; when every non-blank line became a record, only the lines
    where a text field may hold a number, boolean, object or list that Polars turned into text
    (:func:`~tasks.ingest.readers.common.coerced_rows`) are parsed again on their own. Otherwise
    line by line: ``invalid_json`` for a line that does not
    parse, ``wrong_type:…`` / ``not_an_object:…`` / ``too_deep`` for one that cannot be read.
    """
    try:
        frame = pl.read_ndjson(path, schema=schema)
        if frame.height == _count_nonblank_lines(path):
            suspects = coerced_rows(frame, schema)
            if not suspects:
                return with_row(frame), no_quarantine()
            return check_suspects(path, frame, schema, suspects, lambda rows: original_lines(path, rows))
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, ValueError):
        pass
    indexed: list[tuple[int, object, str]] = []
    invalid: list[tuple[int, str]] = []
    for row, lineno, line in _lines(path):
        try:
            indexed.append((row, loads(line), _text(line)))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            invalid.append((row, f"line {lineno}: {err}"))
            indexed.append((row, InvalidJSON(), _text(line)))
    if invalid and len(invalid) == len(indexed):
        raise BadFileError(
            f"{path}: no line parses as JSON (first error: {invalid[0][1]}). "
            "Fix: check the file is JSON Lines (one object per line) in UTF-8."
        )
    return records_to_frames(path, indexed, schema)


def _count_nonblank_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def original_lines(path: Path, rows: list[int]) -> dict[int, str]:
    """The text of non-blank lines ``rows`` (0-based among non-blank lines), as written."""
    want = set(rows)
    out: dict[int, str] = {}
    if not want:
        return out
    last = max(want)
    for row, _, line in _lines(path):
        if row in want:
            out[row] = _text(line)
        if row >= last:
            break
    return out
