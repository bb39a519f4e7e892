"""CSV reader, streamed in any encoding (the GB18030 dialogue CSVs): transcoder + pyarrow."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from tasks.core.errors import BadFileError
from tasks.core.schema import SOURCE_ROW
from tasks.ingest.readers.common import conform, no_quarantine, quarantine_frame, with_row
from tasks.ingest.readers.sniff import UTF8_BOM, read_head

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
    wrong number of fields is quarantined as ``csv_field_count`` with its text; ``source_row`` is
    the 0-based index of the data row in the file (bad rows included, header not), so a good row
    keeps its index whether or not a row before it was bad.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    import numpy as np

    bad: list[tuple[int | None, str]] = []
    ahead: list[int] = []  # indices of bad rows not yet passed by the good rows' numbering

    def on_invalid(row) -> str:
        # pyarrow numbers rows from 1 with the header as row 1; -1/None when it does not know
        idx = row.number - 2 if row.number is not None and row.number >= 2 else None
        bad.append((idx, row.text))
        if idx is not None:
            ahead.append(idx)
        return "skip"

    encoding = csv_encoding(path, encoding)
    _check_header(path, schema, encoding)
    stream = _Transcoder(path, encoding, chunk_bytes)
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
                yield with_row(pl.DataFrame(schema=schema)), no_quarantine()
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
            n = frame.height
            skip = np.array(sorted(i for i in ahead if i >= row), dtype=np.int64)
            index = np.arange(row, row + n + len(skip), dtype=np.int64)
            index = index[~np.isin(index, skip)][:n]
            if frame.schema != schema:  # pyarrow gave the requested text columns in order: nothing to cast
                frame = conform(frame, schema)
            frame = pl.Series(SOURCE_ROW, index, dtype=pl.Int64).to_frame().hstack(frame)
            row = int(index[-1]) + 1 if n else row
            ahead[:] = [i for i in ahead if i >= row]
            quarantine = _bad_rows(path, bad)
            bad.clear()
            yield frame, quarantine
        if bad or row == 0:  # trailing bad rows, or a file with a header only: one (empty) batch
            yield with_row(pl.DataFrame(schema=schema)), _bad_rows(path, bad)
    finally:
        stream.close()


def _check_header(path: Path, schema: dict[str, pl.DataType], encoding: str) -> None:
    """A header that names none of the columns the source reads is a wrong file (or one without a
    header line): one clear error, not every row quarantined as 'empty question'."""
    import csv

    head = read_head(path).removeprefix(UTF8_BOM)
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError:
        return  # the transcoder names the byte
    if not text.strip():
        return
    header = next(csv.reader([text]), [])
    if not set(header) & set(schema):
        shown = ", ".join(header[:8]) + (" …" if len(header) > 8 else "")
        raise BadFileError(
            f"{path}: the CSV header (line 1: {shown[:200]}) names none of the columns this source reads "
            f"({', '.join(schema)}). Fix: use the file as published, with its header line, or define a custom "
            "source for this layout (docs/sources.md)."
        )


def _bad_rows(path: Path, bad: list[tuple[int | None, str]]) -> pl.DataFrame:
    if not bad:  # nearly every batch: no frame built from empty lists
        return no_quarantine()
    return quarantine_frame(path, [b[0] for b in bad], ["csv_field_count"] * len(bad), [b[1] for b in bad])


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
