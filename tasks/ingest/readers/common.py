"""What every format reader shares: conforming columns to a schema, row numbers, quarantine frames."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tasks.core.schema import QUARANTINE_SCHEMA, RAW, REASON, SOURCE_ROW


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Exactly the requested columns, in order, with their dtypes; absent ones as nulls."""
    return frame.select(
        [
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in schema.items()
        ]
    )


def with_row(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index(SOURCE_ROW).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def records_to_frames(
    path: Path, indexed: list[tuple[int, object]], schema: dict[str, pl.DataType]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Slow path, only for files polars refused: split good records from bad ones, with reasons."""
    good_rows: list[int] = []
    good: list[dict] = []
    bad: list[dict] = []
    for row, rec in indexed:
        reason = record_problem(rec, schema)
        if reason:
            bad.append({SOURCE_ROW: row, REASON: reason, RAW: json.dumps(rec, ensure_ascii=False)[:2000]})
        else:
            good_rows.append(row)
            good.append({k: rec.get(k) for k in schema})
    frame = pl.DataFrame(good, schema=schema) if good else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.Series(SOURCE_ROW, good_rows, dtype=pl.Int64)).select(
        [SOURCE_ROW, *schema]
    )
    quarantine = quarantine_frame(
        path, [b[SOURCE_ROW] for b in bad], [b[REASON] for b in bad], [b[RAW] for b in bad]
    )
    return frame, quarantine


def record_problem(rec: object, schema: dict[str, pl.DataType]) -> str | None:
    if not isinstance(rec, dict):
        return f"record is a JSON {type(rec).__name__}, expected an object"
    for key, dtype in schema.items():
        val = rec.get(key)
        if val is None:
            continue
        if dtype == pl.String and not isinstance(val, (str, int, float)):
            return f"field {key!r} is a {type(val).__name__}, expected text"
        if isinstance(dtype, pl.Struct) and not isinstance(val, dict):
            return f"field {key!r} is a {type(val).__name__}, expected an object"
        if isinstance(dtype, pl.List) and not isinstance(val, list):
            return f"field {key!r} is a {type(val).__name__}, expected a list"
    return None


def quarantine_frame(path: Path, rows: list, reasons: list[str], raws: list[str]) -> pl.DataFrame:
    """Quarantined records of one file in the quarantine schema (``source`` is set by the parser)."""
    return pl.DataFrame(
        {
            "source": [None] * len(reasons),
            "source_file": [str(path)] * len(reasons),
            SOURCE_ROW: rows,
            REASON: reasons,
            RAW: raws,
        },
        schema=QUARANTINE_SCHEMA,
    )


def no_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)
