"""Format readers, separate from sources: JSON array, JSON Lines, CSV (any encoding), Parquet.

A source asks for a set of top-level fields with their dtypes; the reader returns exactly those
columns (missing ones as nulls, unknown ones dropped) plus ``source_row``, the 0-based index of
the record in the file. Which reader runs is decided by :data:`FORMATS` (extension) and, for
files whose extension lies, by :func:`sniff_format` (first bytes).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import polars as pl

from tasks.errors import BadFileError
from tasks.schema import QUARANTINE_SCHEMA, RAW, REASON, SOURCE_ROW

LFS_MAGIC = b"version https://git-lfs.github.com/spec/v1"
UTF8_BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 64 * 1024

# extension -> format; sniff_format() overrides it when the bytes say otherwise
FORMATS: dict[str, str] = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_KEY_RE = re.compile(rb'"((?:[^"\\\n]|\\.){1,200})"\s*:')


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file."""
    with open(path, "rb") as fh:
        return fh.read(n)


def is_lfs_pointer(path: Path) -> bool:
    """True when the file is a Git LFS pointer (what `git clone` leaves without `git lfs`)."""
    return read_head(path, len(LFS_MAGIC)) == LFS_MAGIC


def sniff_format(path: Path) -> str | None:
    """Guess the format from the first bytes: 'json', 'jsonl', 'csv', 'parquet', 'lfs' or None."""
    head = read_head(path, 4096)
    if head.startswith(LFS_MAGIC):
        return "lfs"
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.removeprefix(UTF8_BOM).lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        # one object per line -> JSONL; a pretty-printed single object has a bare "{" line
        first, newline, _ = text.partition(b"\n")
        if not newline:  # a first line longer than the head: one long object per line
            return "jsonl"
        return "jsonl" if first.strip().endswith(b"}") else "json"
    if b"," in text.split(b"\n", 1)[0]:
        return "csv"
    return None


def detect_format(path: Path) -> str | None:
    """Format by content first (renamed files lie), then by extension."""
    return sniff_format(path) or FORMATS.get(path.suffix.lower())


def sniff_keys(path: Path, encoding: str = "utf-8") -> set[str]:
    """Field names visible in the first 64 KiB: JSON keys, a CSV header, or a Parquet schema."""
    fmt = detect_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(path).names)
    head = read_head(path)
    if fmt in ("json", "jsonl"):
        return {m.decode("utf-8", errors="ignore") for m in _KEY_RE.findall(head)}
    if fmt == "csv":
        for enc in (encoding, "utf-8", "gb18030"):
            try:
                first = head.removeprefix(UTF8_BOM).split(b"\n", 1)[0].decode(enc)
            except UnicodeDecodeError:
                continue
            return {f.strip().strip('"') for f in first.strip().split(",")}
    return set()


def _conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Exactly the requested columns, in order, with their dtypes; absent ones as nulls."""
    return frame.select(
        [
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in schema.items()
        ]
    )


def _with_row(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index(SOURCE_ROW).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


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
        return _with_row(frame), pl.DataFrame(schema=QUARANTINE_SCHEMA)
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
    return _records_to_frames(path, list(enumerate(data)), schema)


def _records_to_frames(
    path: Path, indexed: list[tuple[int, object]], schema: dict[str, pl.DataType]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Slow path, only for files polars refused: split good records from bad ones, with reasons."""
    good_rows: list[int] = []
    good: list[dict] = []
    bad: list[dict] = []
    for row, rec in indexed:
        reason = _record_problem(rec, schema)
        if reason:
            bad.append({SOURCE_ROW: row, REASON: reason, RAW: json.dumps(rec, ensure_ascii=False)[:2000]})
        else:
            good_rows.append(row)
            good.append({k: rec.get(k) for k in schema})
    frame = pl.DataFrame(good, schema=schema) if good else pl.DataFrame(schema=schema)
    frame = frame.with_columns(pl.Series(SOURCE_ROW, good_rows, dtype=pl.Int64)).select(
        [SOURCE_ROW, *schema]
    )
    quarantine = pl.DataFrame(
        {
            "source": [None] * len(bad),
            "source_file": [str(path)] * len(bad),
            SOURCE_ROW: [b[SOURCE_ROW] for b in bad],
            REASON: [b[REASON] for b in bad],
            RAW: [b[RAW] for b in bad],
        },
        schema=QUARANTINE_SCHEMA,
    )
    return frame, quarantine


def _record_problem(rec: object, schema: dict[str, pl.DataType]) -> str | None:
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


def read_jsonl(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read JSON Lines -> (records, quarantined lines); blank lines are skipped, bad lines quarantined."""
    try:
        frame = pl.read_ndjson(path, schema=schema)
        if frame.height == _count_nonblank_lines(path):
            return _with_row(frame), pl.DataFrame(schema=QUARANTINE_SCHEMA)
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
    frame, quarantine = _records_to_frames(path, indexed, schema)
    extra = pl.DataFrame(
        {
            "source": [None] * len(bad),
            "source_file": [str(path)] * len(bad),
            SOURCE_ROW: [b[0] for b in bad],
            REASON: [b[1] for b in bad],
            RAW: [b[2] for b in bad],
        },
        schema=QUARANTINE_SCHEMA,
    )
    return frame, pl.concat([quarantine, extra]).sort(SOURCE_ROW)


def _count_nonblank_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


# --- CSV: streamed, any encoding ------------------------------------------------------------
# Raw bytes decoded at a time, and pyarrow's block size (rows per batch ~ block / row length).
# Measured (bench/parse_bench.py): 2 MiB / 1 MiB keep RSS flat (~70 MB over the imports) at the
# same speed; 8 MiB / 4 MiB grew to ~300 MB in the allocators on a 220 MB file.
CSV_CHUNK_BYTES = 2 << 20
CSV_BLOCK_BYTES = 1 << 20


class _Transcoder(io.RawIOBase):
    """Read-only file object: the bytes of ``path`` in ``encoding``, re-encoded as UTF-8, in chunks.

    Chunks are cut after the last ``\\n`` byte, so no character is split: 0x0A never occurs inside
    a multi-byte GB18030/GBK/UTF-8 character (their trail bytes are >= 0x30). A quoted field may
    still span two chunks; pyarrow's streaming reader (``newlines_in_values=True``) joins them.
    A BOM (UTF-8 or GB18030) at the start is dropped.
    """

    def __init__(self, path: Path, encoding: str, chunk: int = CSV_CHUNK_BYTES) -> None:
        super().__init__()
        self.path, self.encoding, self.chunk = Path(path), encoding, chunk
        self._fh = open(path, "rb")
        self._buf = b""  # encoded UTF-8 of the current chunk
        self._pos = 0  # how much of _buf was handed out
        self._carry = b""  # raw bytes after the last newline of the previous chunk
        self._offset = 0  # file offset of the first byte of _carry
        self._first = True
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while self._pos >= len(self._buf) and not self._eof:
            block = self._fh.read(self.chunk)
            if block:
                data = self._carry + block
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # no newline yet: keep reading (a huge single line)
                    self._carry = data
                    continue
                part, self._carry = data[:cut], data[cut:]
            else:
                self._eof = True
                part, self._carry = self._carry, b""
            self._buf, self._pos = self._transcode(part), 0
            self._offset += len(part)

    def _transcode(self, part: bytes) -> bytes:
        if self._first:
            self._first = False
            part = part.removeprefix(UTF8_BOM)
        try:
            text = part.decode(self.encoding)
        except UnicodeDecodeError as err:
            raise BadFileError(
                f"{self.path}: cannot be decoded as {self.encoding} (byte {self._offset + err.start}). "
                f"Fix: give the file's real encoding (the Toyhom dialogue CSVs are gb18030), "
                f"or convert it, e.g. `iconv -f <encoding> -t utf-8 in.csv > out.csv`."
            ) from None
        return text.removeprefix("\ufeff").encode("utf-8")

    def readinto(self, b) -> int:
        self._fill()
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = memoryview(self._buf)[self._pos : self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def csv_encoding(path: Path, encoding: str) -> str:
    """The encoding to decode with: ``encoding``, except that a file whose first 64 KiB are valid
    non-ASCII UTF-8 is read as UTF-8 (UTF-8 re-encodings of GB18030 datasets exist)."""
    if encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig"):
        return "utf-8"
    head = read_head(path).removeprefix(UTF8_BOM)
    head = head[: head.rfind(b"\n") + 1] or head
    if not head.isascii():
        try:
            head.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return encoding


def iter_csv(
    path: Path,
    schema: dict[str, pl.DataType],
    encoding: str = "utf-8",
    chunk_bytes: int = CSV_CHUNK_BYTES,
    block_bytes: int = CSV_BLOCK_BYTES,
):
    """Stream a CSV in any encoding -> (records, quarantined rows) per batch; memory stays at a few
    chunks whatever the file size.

    The header names the columns; the requested ones come back as text (absent ones as nulls),
    others are never converted. Quoted fields may hold newlines, and a bare ``"`` inside an
    unquoted field is kept as a literal quote (what Python's ``csv`` module does). A row with the
    wrong number of fields is quarantined with the reason and its text (``source_row`` null: its
    position is not known to the streaming parser); ``source_row`` counts the rows read.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    bad: list[tuple[str, str]] = []

    def on_invalid(row) -> str:
        bad.append(
            (f"CSV row has {row.actual_columns} fields, the header has {row.expected_columns}", row.text[:2000])
        )
        return "skip"

    stream = _Transcoder(path, csv_encoding(path, encoding), chunk_bytes)
    try:
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in schema},
                    include_columns=list(schema),
                    include_missing_columns=True,
                    strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as err:
            if "Empty CSV file" in str(err):
                yield _with_row(pl.DataFrame(schema=schema)), pl.DataFrame(schema=QUARANTINE_SCHEMA)
                return
            raise BadFileError(f"{path}: not a readable CSV file ({err}).") from None
        row = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as err:
                raise BadFileError(f"{path}: CSV malformed after data row {row} ({err}).") from None
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = _conform(frame, schema).with_row_index(SOURCE_ROW, offset=row)
            frame = frame.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
            row += frame.height
            quarantine = _bad_rows(path, bad)
            bad.clear()
            yield frame, quarantine
        if bad or row == 0:  # trailing bad rows, or a file with a header only: one (empty) batch
            yield _with_row(pl.DataFrame(schema=schema)), _bad_rows(path, bad)
    finally:
        stream.close()


def _bad_rows(path: Path, bad: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": [None] * len(bad),
            "source_file": [str(path)] * len(bad),
            SOURCE_ROW: [None] * len(bad),
            REASON: [b[0] for b in bad],
            RAW: [b[1] for b in bad],
        },
        schema=QUARANTINE_SCHEMA,
    )


def read_csv(
    path: Path, schema: dict[str, pl.DataType], encoding: str = "utf-8"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read a whole CSV in any encoding -> (records, quarantined rows); see :func:`iter_csv`.

    The raw file is never held whole: it is decoded chunk by chunk; only the parsed columns are.
    """
    frames, bad = [], []
    for frame, quarantine in iter_csv(path, schema, encoding):
        frames.append(frame)
        bad.append(quarantine)
    return pl.concat(frames, rechunk=False), pl.concat(bad)


def read_parquet(path: Path, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read the requested columns of a Parquet file."""
    names = set(pl.read_parquet_schema(path))
    frame = pl.scan_parquet(path).select([c for c in schema if c in names]).collect()
    return _with_row(_conform(frame, schema)), pl.DataFrame(schema=QUARANTINE_SCHEMA)


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
