"""What every format reader shares: conforming columns to a schema, row numbers, quarantine frames,
the type check of records read one by one, and the bounded verbatim copy a quarantine row keeps.

Reader-level quarantine reasons are stable codes (the full list: ``docs/quarantine.md``):

- ``wrong_type:<field>:<type>``: a field holds a JSON value of another type than the source reads
  (``<type>``: ``number``, ``bool``, ``text``, ``object``, ``list``, ``nan``, ``infinity``);
  never coerced (``"Response": 123`` is not the answer ``"123"``). ``<field>`` is dotted for
  a field inside an object (``options.A``) and has ``[]`` for a list item (``history[].content``).
- ``not_an_object:<type>``: a JSON Lines line / array item is not an object.
- ``invalid_json``: a JSON Lines line does not parse (or is not UTF-8).
- ``too_deep``: a value nested deeper than the JSON parser's recursion limit.
- ``csv_field_count``: a CSV row with more or fewer fields than the header.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from tasks.core.schema import QUARANTINE_SCHEMA, RAW, REASON, SOURCE_ROW

# A quarantine row keeps the record as it was in the file, up to this many characters; longer ones
# are cut and end with CUT_MARKER (so a cut copy is never mistaken for the whole record).
RAW_LIMIT = 64 * 1024
CUT_MARKER = "…[cut: {n} characters in all]"


def clip(text: str) -> str:
    """``text`` bounded to :data:`RAW_LIMIT` characters, with an explicit marker when cut."""
    if len(text) <= RAW_LIMIT:
        return text
    return text[:RAW_LIMIT] + CUT_MARKER.format(n=len(text))


def clip_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`clip`, vectorised."""
    n = expr.str.len_chars()
    return (
        pl.when(n > RAW_LIMIT)
        .then(pl.concat_str([expr.str.slice(0, RAW_LIMIT), pl.lit("…[cut: "), n.cast(pl.String), pl.lit(" characters in all]")]))
        .otherwise(expr)
    )


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


class NonFinite:
    """What the slow path's JSON parser makes of ``NaN`` / ``Infinity`` / ``-Infinity`` (never a float)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = "nan" if name == "NaN" else "infinity"


DECODER = json.JSONDecoder(parse_constant=NonFinite)


class TooDeep:
    """A record nested beyond the JSON parser's recursion limit (quarantined as ``too_deep``)."""


class InvalidJSON:
    """A JSON Lines line that does not parse (quarantined as ``invalid_json``)."""


def loads(text: str | bytes) -> object:
    """One JSON value as the slow path reads it: NaN/Infinity kept apart, too deep -> TooDeep."""
    try:
        return DECODER.decode(text if isinstance(text, str) else text.decode("utf-8"))
    except RecursionError:
        return TooDeep()


def _json_type(val: object) -> str:
    if isinstance(val, NonFinite):
        return val.name
    if isinstance(val, bool):
        return "bool"
    if isinstance(val, (int, float)):
        return "number"
    if isinstance(val, str):
        return "text"
    if isinstance(val, dict):
        return "object"
    if isinstance(val, list):
        return "list"
    return "null" if val is None else type(val).__name__


def value_problem(val: object, dtype: pl.DataType, field: str) -> str | None:
    """``wrong_type:<field>:<type>`` when ``val`` does not fit ``dtype`` (null always fits)."""
    if val is None:
        return None
    kind = _json_type(val)
    if kind in ("nan", "infinity"):
        return f"wrong_type:{field}:{kind}"
    if isinstance(dtype, pl.Struct):
        if kind != "object":
            return f"wrong_type:{field}:{kind}"
        for f in dtype.fields:
            problem = value_problem(val.get(f.name), f.dtype, f"{field}.{f.name}")
            if problem:
                return problem
        return None
    if isinstance(dtype, pl.List):
        if kind != "list":
            return f"wrong_type:{field}:{kind}"
        for item in val:
            problem = value_problem(item, dtype.inner, f"{field}[]")
            if problem:
                return problem
        return None
    if dtype == pl.String:
        return None if kind == "text" else f"wrong_type:{field}:{kind}"
    if dtype.is_numeric():
        return None if kind == "number" else f"wrong_type:{field}:{kind}"
    if dtype == pl.Boolean:
        return None if kind == "bool" else f"wrong_type:{field}:{kind}"
    return None


def record_problem(rec: object, schema: dict[str, pl.DataType]) -> str | None:
    """The reason a parsed JSON record cannot be read with ``schema``, or None."""
    if isinstance(rec, TooDeep):
        return "too_deep"
    if isinstance(rec, InvalidJSON):
        return "invalid_json"
    if not isinstance(rec, dict):
        return f"not_an_object:{_json_type(rec)}"
    for key, dtype in schema.items():
        problem = value_problem(rec.get(key), dtype, key)
        if problem:
            return problem
    return None


# What Polars makes of a non-text JSON value read into a String field: 123 -> "123", true -> "true",
# and (JSON Lines) {"a": 1} -> '{"a":1}'. A real text value can look like this too ("42"): such a
# file only takes the exact record-by-record path, which is slower, never wrong.
_COERCED = r"(?s)^(?:-?[0-9][0-9.eE+-]*|true|false|[\[{].*[\]}])$"


def _leaf_flags(expr: pl.Expr, dtype: pl.DataType) -> list[pl.Expr]:
    if isinstance(dtype, pl.Struct):
        return [e for f in dtype.fields for e in _leaf_flags(expr.struct.field(f.name), f.dtype)]
    if isinstance(dtype, pl.List):
        inner = _leaf_flags(pl.element(), dtype.inner)
        return [expr.list.eval(pl.any_horizontal(inner).fill_null(False)).list.any()] if inner else []
    if dtype == pl.String:
        return [expr.str.contains(_COERCED)]
    return []


def coerced_rows(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> list[int]:
    """Rows of ``frame`` (as Polars read it, in file order) where a text field may hold a coerced
    non-text value.

    Polars' JSON readers, given a String field, turn a number or boolean (and, in JSON Lines, an
    object or a list) into text; this vectorised check is what keeps the fast path honest: only the
    rows it returns are looked at again, parsed on their own from the file's text
    (:func:`check_suspects`). A real text value that looks like this ("42") costs that look, never
    the record.
    """
    flags = [e for c, t in schema.items() if c in frame.columns for e in _leaf_flags(pl.col(c), t)]
    if not flags or frame.height == 0:
        return []
    hit = frame.select(pl.any_horizontal(flags).fill_null(False).arg_true()).to_series()
    return hit.cast(pl.Int64).to_list()


def check_suspects(
    path: Path, frame: pl.DataFrame, schema: dict[str, pl.DataType], suspects: list[int], originals
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fast-path frame + its suspect rows -> (records, quarantined): each suspect is parsed from its
    text as written (``originals``: rows -> {row: text}) and quarantined when its types are wrong;
    every other row stays as Polars read it."""
    texts = originals(suspects)
    bad = [(row, record_problem(loads(texts[row]), schema), texts[row]) for row in suspects]
    bad = [b for b in bad if b[1]]
    good = with_row(frame)
    if bad:
        good = good.filter(~pl.col(SOURCE_ROW).is_in(pl.Series([b[0] for b in bad], dtype=pl.Int64).implode()))
    return good, quarantine_frame(path, [b[0] for b in bad], [b[1] for b in bad], [b[2] for b in bad])


def quarantine_frame(path: Path, rows: list, reasons: list[str], raws: list[str]) -> pl.DataFrame:
    """Quarantined records of one file in the quarantine schema (``source`` is set by the parser)."""
    return pl.DataFrame(
        {
            "source": [None] * len(reasons),
            "source_file": [str(path)] * len(reasons),
            SOURCE_ROW: rows,
            REASON: reasons,
            RAW: [clip(r) for r in raws],
        },
        schema=QUARANTINE_SCHEMA,
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(val: object) -> object:
    """A lone surrogate (``"\\ud800"`` in JSON: not valid Unicode) becomes U+0000, as Polars' fast
    path makes it, so both paths quarantine the record the same way ('text contains NUL …')."""
    if isinstance(val, str):
        return val if val.isascii() or not _SURROGATE.search(val) else _SURROGATE.sub("\x00", val)
    if isinstance(val, dict):
        return {k: _no_surrogates(v) for k, v in val.items()}
    if isinstance(val, list):
        return [_no_surrogates(v) for v in val]
    return val


def records_to_frames(
    path: Path, indexed: list[tuple[int, object, str]], schema: dict[str, pl.DataType]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Slow path, only for files Polars refused or that hold coercible values: split good records
    from bad ones. ``indexed`` holds (row, parsed record, the record's text as in the file)."""
    good_rows: list[int] = []
    good: list[dict] = []
    bad_rows: list[int] = []
    reasons: list[str] = []
    raws: list[str] = []
    for row, rec, text in indexed:
        reason = record_problem(rec, schema)
        if reason:
            bad_rows.append(row)
            reasons.append(reason)
            raws.append(text)
        else:
            good_rows.append(row)
            good.append({k: _no_surrogates(rec.get(k)) for k in schema})
    frame = pl.DataFrame(good, schema=schema) if good else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.Series(SOURCE_ROW, good_rows, dtype=pl.Int64)).select(
        [SOURCE_ROW, *schema]
    )
    return frame, quarantine_frame(path, bad_rows, reasons, raws)


def no_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)
