"""Sniffing: a file's format and field names from its first bytes (renamed files lie)."""

from __future__ import annotations

import re
from pathlib import Path

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
