"""Parquet reader: only the requested columns are read; a column of the wrong type is never coerced."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tasks.core.schema import QUARANTINE_SCHEMA, RAW, REASON, SOURCE_ROW
from tasks.ingest.readers.common import clip_expr, conform, no_quarantine, with_row


def _kind(dtype: pl.DataType) -> str:
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_numeric():
        return "number"
    if isinstance(dtype, pl.Struct):
        return "object"
    if isinstance(dtype, (pl.List, pl.Array)):
        return "list"
    return "text" if dtype == pl.String else str(dtype).lower()


def read_parquet(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read the requested columns of a Parquet file -> (records, quarantined rows).

    A text field stored as numbers, booleans, structs or lists: its non-null rows are quarantined
    as ``wrong_type:<field>:<type>`` (``raw``: the row's requested columns as JSON), the rest kept.
    """
    found = pl.read_parquet_schema(path)
    frame = with_row(pl.scan_parquet(path).select([c for c in schema if c in found]).collect())
    wrong = {c: _kind(found[c]) for c, t in schema.items() if c in found and t == pl.String and found[c] != pl.String}
    if not wrong:
        return with_row(conform(frame.drop(SOURCE_ROW), schema)), no_quarantine()
    reason = pl.lit(None, dtype=pl.String)
    for c, kind in reversed(wrong.items()):
        reason = pl.when(pl.col(c).is_not_null()).then(pl.lit(f"wrong_type:{c}:{kind}")).otherwise(reason)
    frame = frame.with_columns(reason.alias(REASON))
    bad = frame.filter(pl.col(REASON).is_not_null()).select(
        pl.lit(None, dtype=pl.String).alias("source"),
        pl.lit(str(path)).alias("source_file"),
        pl.col(SOURCE_ROW),
        pl.col(REASON),
        clip_expr(pl.struct([c for c in schema if c in found]).struct.json_encode()).alias(RAW),
    ).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]
    good = frame.filter(pl.col(REASON).is_null())
    return good.select(SOURCE_ROW).hstack(conform(good, schema)), bad
