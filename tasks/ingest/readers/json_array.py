"""JSON array reader (the medical-o1 files): Polars fast path, per-record slow path for bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from tasks.core.errors import BadFileError
from tasks.ingest.readers.common import (
    DECODER,
    TooDeep,
    check_suspects,
    coerced_rows,
    no_quarantine,
    records_to_frames,
    with_row,
)
from tasks.ingest.readers.sniff import UTF8_BOM, read_head

_WS = re.compile(r"[ \t\n\r]*")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def _bad_json_file(path: Path, err: json.JSONDecodeError) -> BadFileError:
    return BadFileError(
        f"{path}: not valid JSON at line {err.lineno}, column {err.colno} ({err.msg}). "
        "Fix: re-download the file (a partial download cuts the array short) or repair that line."
    )


def _skip_value(text: str, start: int) -> int:
    """End of the (deeply nested) value starting at ``start``: brackets counted, strings skipped."""
    depth = 0
    for m in _TOKEN.finditer(text, start):
        tok = m.group()
        if tok in "[{":
            depth += 1
        elif tok in "]}":
            depth -= 1
            if depth == 0:
                return m.end()
    raise json.JSONDecodeError("Unterminated value", text, start)


def iter_array_items(text: str, stop: int | None = None):
    """The items of one JSON array text -> (index, start, end, parsed item).

    ``text[start:end]`` is the item exactly as written. ``NaN``/``Infinity`` parse to
    :class:`~tasks.ingest.readers.common.NonFinite`; an item nested beyond Python's recursion
    limit comes back as a :class:`~tasks.ingest.readers.common.TooDeep` (quarantined as ``too_deep``). Raises
    ``json.JSONDecodeError`` (with line and column) where the array is malformed, e.g. a trailing
    comma. ``stop``: stop after that index.
    """
    i = _WS.match(text, 0).end()
    if text[i : i + 1] != "[":
        raise json.JSONDecodeError("Expecting '['", text, i)
    i = _WS.match(text, i + 1).end()
    if text[i : i + 1] == "]":
        end = i + 1
    else:
        idx = 0
        while True:
            try:
                obj, end = DECODER.raw_decode(text, i)
            except RecursionError:
                obj, end = TooDeep(), _skip_value(text, i)
            yield idx, i, end, obj
            if stop is not None and idx >= stop:
                return
            idx += 1
            j = _WS.match(text, end).end()
            c = text[j : j + 1]
            if c == ",":
                i = _WS.match(text, j + 1).end()  # a trailing comma fails in raw_decode: "Expecting value"
                continue
            if c == "]":
                end = j + 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, j)
    rest = _WS.match(text, end).end()
    if rest != len(text):
        raise json.JSONDecodeError("Extra data", text, rest)


def decode_utf8(path: Path, data: bytes) -> str:
    """The file's text (BOM dropped), or one clear error naming the byte."""
    try:
        return data.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadFileError(
            f"{path}: not UTF-8 (byte {err.start + (3 if data.startswith(UTF8_BOM) else 0)}). Fix: convert it, "
            f"e.g. `iconv -f gb18030 -t utf-8 in > out` for Chinese text in GB18030/GBK."
        ) from None


def read_json_array(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read one JSON array (UTF-8, BOM or not) -> (records, quarantined records).

    Fast path: Polars reads the file; rows where a text field may hold a number or a boolean that
    Polars turned into text (a vectorised check, :func:`~tasks.ingest.readers.common.coerced_rows`)
    are parsed again on their own from the file's text and quarantined when their types are wrong. Otherwise every
    item is parsed on its own and checked; bad ones are quarantined with their text as written.
    """
    if not read_head(path, 4096).removeprefix(UTF8_BOM).lstrip().startswith(b"["):
        raise BadFileError(
            f"{path}: expected one JSON array of records ([{{...}}, ...]), found something else. "
            "Fix: use the file as published, or save one object per line as JSON Lines (.jsonl)."
        )
    try:
        frame = pl.read_json(path, schema=schema)
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, ValueError):
        pass  # malformed JSON, NaN, or a record of another shape: find out which, below
    else:
        suspects = coerced_rows(frame, schema)
        if not suspects:
            return with_row(frame), no_quarantine()
        return check_suspects(path, frame, schema, suspects, lambda rows: original_items(path, rows))
    text = decode_utf8(path, Path(path).read_bytes())
    try:
        items = [(idx, obj, text[a:b]) for idx, a, b, obj in iter_array_items(text)]
    except json.JSONDecodeError as err:
        raise _bad_json_file(path, err) from None
    return records_to_frames(path, items, schema)


def original_items(path: Path, rows: list[int]) -> dict[int, str]:
    """The text of items ``rows`` of a JSON array file, as written (for quarantine rows)."""
    want = set(rows)
    if not want:
        return {}
    text = decode_utf8(path, Path(path).read_bytes())
    return {idx: text[a:b] for idx, a, b, _ in iter_array_items(text, stop=max(want)) if idx in want}
