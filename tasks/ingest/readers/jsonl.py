"""JSON Lines reader: Polars fast path; bad lines quarantined with their line number."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tasks.core.errors import BadFileError
from tasks.core.schema import SOURCE_ROW
from tasks.ingest.readers.common import no_quarantine, quarantine_frame, records_to_frames, with_row
from tasks.ingest.readers.sniff import UTF8_BOM


def read_jsonl(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read JSON Lines -> (records, quarantined lines); blank lines are skipped, bad lines quarantined."""
    try:
        frame = pl.read_ndjson(path, schema=schema)
        if frame.height == _count_nonblank_lines(path):
            return with_row(frame), no_quarantine()
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, ValueError):
        pass
    indexed: list[tuple[int, object]] = []
    bad: list[tuple[int, str, str]] = []
    row = -1  # source_row = 0-based index among non-blank lines, as on the fast path
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.removeprefix(UTF8_BOM) if lineno == 1 else line
            if not line.strip():
                continue
            row += 1
            try:
                indexed.append((row, json.loads(line)))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                bad.append((row, f"line {lineno} is not valid JSON ({err})", line[:2000].decode("utf-8", "replace")))
    if indexed == [] and bad:
        raise BadFileError(
            f"{path}: no line parses as JSON (first error: {bad[0][1]}). "
            "Fix: check the file is JSON Lines (one object per line) in UTF-8."
        )
    frame, quarantine = records_to_frames(path, indexed, schema)
    extra = quarantine_frame(path, [b[0] for b in bad], [b[1] for b in bad], [b[2] for b in bad])
    return frame, pl.concat([quarantine, extra]).sort(SOURCE_ROW)


def _count_nonblank_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())
