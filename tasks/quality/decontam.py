"""Decontamination against evaluation benchmarks: pool records whose question overlaps a benchmark
test question go to quarantine as ``contaminated:<benchmark>:<item id>``.

Why: RL data that contains the test questions users report on (MedQA, MedMCQA, PubMedQA, CMB,
CMExam, MMLU medical subsets) makes those numbers meaningless. The benchmark files are the user's
(``data/benchmarks/`` by default, in their published formats); without that folder the stage is
a no-op. Rule, formats and figures: ``docs/decontamination.md``.

Overlap rule (one n-gram is enough, as in GPT-3 / lm-eval-harness / NeMo-Curator): after
:func:`tasks.core.text.normalise` (NFKC, lowercase, whitespace; traditional -> simplified),
English-like text is compared on word 13-grams, text with Chinese characters on 20-character
n-grams (punctuation and spaces removed). A benchmark question shorter than n but at least
``MIN_WORDS`` / ``MIN_CHARS`` long is matched as a whole (token-aligned containment, Aho-Corasick);
shorter ones are too generic to check and are counted as such. A benchmark n-gram found in more
than ``max_matches`` pool records is boilerplate (an exam stem, a template) and is not counted.

Hot path (the pool): n-gram hashes come from polynomial prefix hashes over the UTF-8 bytes of the
whole column (NumPy, a slice of rows at a time), membership via a bitmap then a sorted search
against the benchmark hashes; no Python loop over pool rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import ContentCache
from tasks.core.errors import BadFileError
from tasks.core.logs import log
from tasks.core.results import FileRef, Pool
from tasks.core.storage import write_parquet
from tasks.core.text import CJK_PATTERN, normalise

N_WORDS = 13  # word n-gram for text without Chinese characters (GPT-3, lm-eval-harness, NeMo-Curator)
N_CHARS = 20  # character n-gram for text with Chinese characters (~13 English words of content)
MIN_WORDS = 8  # shorter benchmark questions are matched whole down to this length ...
MIN_CHARS = 10  # ... and are skipped below it (too generic: "which of the following is a virus")
MAX_MATCHES = 10  # a benchmark n-gram in more pool records than this is boilerplate (NeMo-Curator's max_matches)
ROW_CHUNK = 50_000  # pool rows hashed per slice: bounds the NumPy temporaries
BITMAP_BITS = 27  # 16 MB prefilter bitmap: ~4 % false positives for 5M benchmark n-grams
# stage A (every pool row): grams of A tokens at every STRIDE-th token. A + STRIDE - 1 must not
# exceed the shortest run checked, so every match contains one: n-grams (N_WORDS / N_CHARS) ...
THREADS = 2  # pool slices matched at once (the machine has 2 cores)
A_WORDS, A_STRIDE_WORDS = 9, 5
A_CHARS, A_STRIDE_CHARS = 15, 6
# ... and short benchmark questions matched whole (MIN_WORDS / MIN_CHARS)
S_WORDS, S_STRIDE_WORDS = 5, 4
S_CHARS, S_STRIDE_CHARS = 7, 4

DATA_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")
BENCH = "benchmark"
ITEM = "item_id"
FILE = "file"
TEXT = "text"

# P odd: invertible modulo 2**64, so a run's hash can be moved to position 0
_P = np.uint64(0x100000001B3 * 2 + 1)
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_TAG = {True: np.uint64(0x5A5A5A5A00000000), False: np.uint64(0)}  # Chinese vs word grams never collide by design

# Rows made only of these characters are normalised in NumPy on their UTF-8 bytes (ASCII lowercase;
# separators: ASCII non-word bytes and every non-CJK non-ASCII character). On them NFKC is the
# identity up to punctuation and white space, which the overlap form drops anyway, so the NumPy
# form equals :func:`overlap_text`. Any other row (fullwidth letters, accents, symbols, CJK
# extensions, control characters, ...) goes through :func:`overlap_text` in Polars.
_FAST_ONLY = r"[^\x20-\x7E\s\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\p{Ps}\p{Pe}\p{Po}\p{Pd}\p{Pi}\p{Pf}]"
_ASCII_WORD = np.zeros(256, dtype=bool)
_ASCII_WORD[[ord(c) for c in "0123456789abcdefghijklmnopqrstuvwxyz_"]] = True
_CJK_BASIC = r"[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}]"


# ------------------------------------------------------------------------------ normalisation
def overlap_text(expr: pl.Expr, *, simplified: bool = False) -> pl.Expr:
    """The form n-grams are cut from: :func:`tasks.core.text.normalise` (``simplified``: also
    traditional -> simplified Chinese), then for text with a Chinese character its characters without
    spaces/punctuation/symbols (one token each), else its words as " w1 w2 … wk " (a space before
    and after every word, so containment is word-aligned); "" when nothing is left."""
    q = normalise(expr, simplified=simplified)
    chars = q.str.replace_all(r"[\s\p{P}\p{S}]+", "")
    words = q.str.replace_all(r"[^\w]+", " ").str.strip_chars(" ")
    return (pl.when(q.str.contains(CJK_PATTERN)).then(chars)
            .when(words == "").then(pl.lit(""))
            .otherwise(pl.concat_str(pl.lit(" "), words, pl.lit(" "))))


def _buffer(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of a string Series as one uint8 array plus row offsets (len n+1)."""
    arr = texts.fill_null("").to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    offsets_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    data = data[offsets[0] : offsets[-1]]
    return data, offsets - offsets[0]


# first two UTF-8 bytes of a character (little-endian uint16) -> it is a token of a Chinese row:
# ASCII letters/digits (any byte after) and CJK U+3400-U+9FFF (lead E3 with 90-BF, or E4-E9)
_ZH_TOKEN = np.zeros(1 << 16, dtype=bool)
_lead = np.arange(1 << 16) & 0xFF
_second = np.arange(1 << 16) >> 8
_ZH_TOKEN[:] = (np.isin(_lead, [ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"])
                | ((_lead >= 0xE4) & (_lead <= 0xE9)) | ((_lead == 0xE3) & (_second >= 0x90)))
# lead byte -> mask of the character's bytes in a little-endian uint32, and ASCII lowercase offset
_CHAR_MASK = np.array([0xFF if b < 0xC0 else 0xFFFF if b < 0xE0 else 0xFFFFFF if b < 0xF0 else 0xFFFFFFFF
                       for b in range(256)], dtype=np.uint64)
_LOWER_ADD = np.array([32 if 65 <= b <= 90 else 0 for b in range(256)], dtype=np.uint64)
del _lead, _second


@dataclass
class Batch:
    """Tokens of some texts of one kind (``zh``: a token is a character, else a word), each text's
    tokens contiguous: ``values`` (uint64 per token), ``counts`` (tokens per text) and ``rows``
    (each text's position in the input). ``prefix`` caches the polynomial prefix sums."""

    zh: bool
    values: np.ndarray
    counts: np.ndarray
    rows: np.ndarray
    prefix: np.ndarray | None = None

    def prefix_sums(self) -> np.ndarray:
        if self.prefix is None:
            pw, _ = _powers(self.values.size + 1)
            self.prefix = np.zeros(self.values.size + 1, dtype=np.uint64)
            with np.errstate(over="ignore"):
                np.cumsum(self.values * pw[: self.values.size], out=self.prefix[1:])
        return self.prefix


def _per_row(flags: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Number of True flags in each [offsets[i], offsets[i+1])."""
    c = np.zeros(flags.size + 1, dtype=np.int32 if flags.size < 2**31 else np.int64)
    np.cumsum(flags, out=c[1:])
    return (c[offsets[1:]] - c[offsets[:-1]]).astype(np.int64)


def _padded(texts: pl.Series, pad: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(UTF-8 bytes followed by ``pad`` zero bytes, row offsets, byte count)."""
    data, offsets = _buffer(texts)
    b = np.zeros(data.size + pad, dtype=np.uint8)
    b[: data.size] = data
    return b, offsets, data.size


def _char_batch(texts: pl.Series, rows: np.ndarray, every_char: bool) -> Batch:
    """Chinese rows: a token per character (``every_char``: texts already in overlap form) or per
    ASCII letter/digit and CJK character (raw text: the rest is punctuation and space); value =
    the character's UTF-8 bytes (ASCII lowercased) as a number."""
    b, offsets, size = _padded(texts, 4)
    pos = np.flatnonzero(b[:size].view(np.int8) > -65)  # not a continuation byte (0x80-0xBF)
    word4 = np.ndarray(shape=(size,), dtype="<u4", buffer=b, strides=(1,))  # 4 bytes from each byte
    w = word4[pos]
    char_off = np.zeros(offsets.size, dtype=np.int64)
    np.cumsum(texts.str.len_chars().to_numpy(), out=char_off[1:])
    if every_char:  # overlap form: any character, 1-4 bytes, already lowercase
        counts = np.diff(char_off)
        values = w.astype(np.uint64) & _CHAR_MASK[(w & np.uint32(0xFF)).astype(np.intp)]
    else:  # raw text: ASCII letters/digits (lowercased) and 3-byte CJK characters are the tokens
        keep = _ZH_TOKEN[(w & np.uint32(0xFFFF)).astype(np.intp)]
        w = w[keep]
        counts = _per_row(keep, char_off)
        lead = w & np.uint32(0xFF)
        w = np.where(lead >= 0x80, w & np.uint32(0xFFFFFF), lead + ((lead - np.uint32(65)) < 26) * np.uint32(32))
        values = w.astype(np.uint64)
    return Batch(zh=True, values=values, counts=counts, rows=rows)


def _word_batch(texts: pl.Series, rows: np.ndarray, spaced: bool) -> Batch:
    """Word rows: a token per word, value = hash of its bytes. ``spaced``: texts in overlap form
    (words between single spaces), else raw text (words = runs of ASCII letters, digits and _,
    lowercased; any other byte separates)."""
    b, offsets, size = _padded(texts, 8)
    v = b[:size]
    if spaced:
        word = v != 0x20
    else:
        v += ((v - np.uint8(65)) < 26).view(np.uint8) << np.uint8(5)
        word = ((v - np.uint8(97)) < 26) | ((v - np.uint8(48)) < 10) | (v == 0x5F)
    # runs of word bytes: +1 where one starts, -1 after it ends; a run never crosses a row start
    d = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    inner = offsets[1:-1]
    inner = inner[(inner > 0) & (inner < size)]
    glued = inner[word[inner] & word[inner - 1]]  # a row ending in a word, the next starting with one
    if glued.size:
        starts, ends = np.sort(np.concatenate([starts, glued])), np.sort(np.concatenate([ends, glued]))
    counts = np.diff(np.searchsorted(starts, offsets))
    return Batch(zh=False, values=_word_hashes(b, size, starts, ends - starts), counts=counts, rows=rows)


_MASK8 = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def _word_hashes(b: np.ndarray, size: int, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Mixed hashes of the byte runs b[starts[i] : starts[i] + lens[i]], 8 bytes at a time
    (``b`` has 8 zero bytes after ``size``)."""
    word8 = np.ndarray(shape=(size,), dtype="<u8", buffer=b, strides=(1,))  # 8 bytes from each byte
    h = _mix64((lens.astype(np.uint64) << np.uint64(56)) ^ (word8[starts] & _MASK8[np.minimum(lens, 8)]))
    idx = np.flatnonzero(lens > 8)
    k = 8
    while idx.size:
        rest = lens[idx] - k
        h[idx] = _mix64(h[idx] ^ (word8[starts[idx] + k] & _MASK8[np.minimum(rest, 8)]))
        k += 8
        idx = idx[rest > 8]
    return h


def tokens(texts: pl.Series) -> list[Batch]:
    """Token batches of raw question texts, in the overlap form of :func:`overlap_text`.

    Rows with only ASCII, CJK U+3400-U+9FFF, punctuation and white space (nearly all) are cut in
    NumPy from their UTF-8 bytes; the rest are put in overlap form by Polars first (see
    ``_FAST_ONLY``)."""
    s = texts.fill_null("")
    flags = s.to_frame("q").select(pl.col("q").str.contains(_FAST_ONLY).alias("special"),
                                   pl.col("q").str.contains(_CJK_BASIC).alias("zh"))
    special, zh = flags["special"].to_numpy(), flags["zh"].to_numpy()
    batches = []
    for is_zh in (True, False):
        idx = np.flatnonzero(~special & (zh == is_zh))
        if idx.size:
            part = s.gather(idx)
            batches.append(_char_batch(part, idx, False) if is_zh else _word_batch(part, idx, False))
    idx = np.flatnonzero(special)
    if idx.size:
        form = s.gather(idx).to_frame("q").select(overlap_text(pl.col("q")))["q"]
        pre_zh = (form.str.len_bytes() > 0) & ~form.str.starts_with(" ")
        for is_zh in (True, False):
            sel = np.flatnonzero((pre_zh == is_zh).to_numpy())
            if sel.size:
                part = form.gather(sel)
                batches.append(_char_batch(part, idx[sel], True) if is_zh else _word_batch(part, idx[sel], True))
    return batches


def token_counts(batches: list[Batch], nrows: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens per row, row is Chinese) over all batches."""
    ntok = np.zeros(nrows, dtype=np.int64)
    is_zh = np.zeros(nrows, dtype=bool)
    for bt in batches:
        ntok[bt.rows] = bt.counts
        is_zh[bt.rows] = bt.zh
    return ntok, is_zh


_POW_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_POW_LOCK = threading.Lock()


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i for i < n (mod 2**64), cached and grown as needed (thread-safe)."""
    have = _POW_CACHE.get("t")
    if have is None or have[0].size < n:
        with _POW_LOCK:
            have = _POW_CACHE.get("t")
            if have is None or have[0].size < n:
                size = max(n, 1 << 22, 0 if have is None else 2 * have[0].size)
                with np.errstate(over="ignore"):
                    pw = np.full(size, _P, dtype=np.uint64)
                    pw[0] = 1
                    np.multiply.accumulate(pw, out=pw)
                    inv = np.full(size, _P_INV, dtype=np.uint64)
                    inv[0] = 1
                    np.multiply.accumulate(inv, out=inv)
                have = _POW_CACHE["t"] = (pw, inv)
    return have[0][:n], have[1][:n]


def gram_hashes(bt: Batch, m: int | np.ndarray, stride: int = 1, rows: np.ndarray | None = None,
                with_pos: bool = False) -> tuple[np.ndarray, ...]:
    """(hash, input row) of every run of ``m`` consecutive tokens of a batch starting at a token
    position that is a multiple of ``stride``. ``m`` may be one per input row (array indexed by
    input row); ``rows`` (bool mask indexed by input row) limits it to some rows."""
    counts = bt.counts
    mm = m[bt.rows] if isinstance(m, np.ndarray) else np.full(counts.size, m, dtype=np.int64)
    per = np.where(counts >= mm, (counts - mm) // stride + 1, 0)
    if rows is not None:
        per = per * rows[bt.rows]
    total = int(per.sum())
    firsts = np.cumsum(counts) - counts
    gfirst = np.cumsum(per) - per
    i = np.repeat(firsts - stride * gfirst, per) + stride * np.arange(total, dtype=np.int64)
    h = hash_at(bt, i, np.repeat(mm, per))
    local = np.repeat(np.arange(counts.size), per)
    return (h, bt.rows[local], i, local) if with_pos else (h, bt.rows[local])


def hash_at(bt: Batch, i: np.ndarray, m: np.ndarray | int) -> np.ndarray:
    """Hashes of the runs of ``m`` tokens starting at batch token indices ``i``."""
    if i.size == 0:
        return np.zeros(0, dtype=np.uint64)
    prefix = bt.prefix_sums()
    _, inv = _powers(bt.values.size + 1)
    mi = np.asarray(m, dtype=np.int64)
    with np.errstate(over="ignore"):
        h = (prefix[i + mi] - prefix[i]) * inv[i]
        h ^= (mi.astype(np.uint64) << np.uint64(48)) ^ _TAG[bt.zh]
    return _mix64(h)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits (the bitmap indexes the top bits)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


# ------------------------------------------------------------------------------ the index
@dataclass(frozen=True)
class BenchmarkIndex:
    """Benchmark questions prepared for matching.

    ``items``: benchmark, item id, file, question and ``__item`` (its row), one row per question.
    ``hashes`` (sorted, unique) -> ``owner`` (the first item with that n-gram); ``whole`` ->
    ``whole_owner``: hashes of the short questions matched whole, ``whole_lengths`` their lengths
    per kind (True: Chinese); ``cand`` + ``bitmap``: every ``A_*``-gram of the long questions,
    ``short_cand`` + ``short_bitmap``: every ``S_*``-gram of the short ones (stage A, the stride
    filters over the pool); ``hash_bitmap`` prefilters ``hashes``.
    """

    items: pl.DataFrame
    hashes: np.ndarray
    owner: np.ndarray
    whole: np.ndarray
    whole_owner: np.ndarray
    whole_lengths: dict
    cand: np.ndarray
    bitmap: np.ndarray
    short_cand: np.ndarray
    short_bitmap: np.ndarray
    hash_bitmap: np.ndarray
    n: dict
    too_short: dict[str, int] = field(default_factory=dict)


def _unique_first(h: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique hashes, each with its lowest row."""
    if h.size == 0:
        return h, r
    order = np.argsort(h)
    h, r = h[order], r[order]
    starts = np.flatnonzero(np.concatenate([[True], h[1:] != h[:-1]]))
    return h[starts], np.minimum.reduceat(r, starts)


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique by sorting (NumPy 2's hash-based unique is several times slower on 1M+ hashes)."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if a.size else a


def _bitmap(h: np.ndarray) -> np.ndarray:
    """A 2**BITMAP_BITS-bit set of the top bits of sorted hashes (a cheap first membership test)."""
    bitmap = np.zeros(1 << (BITMAP_BITS - 3), dtype=np.uint8)
    top = (h >> np.uint64(64 - BITMAP_BITS)).astype(np.int64)  # sorted, as h is
    top = top[np.concatenate([[True], top[1:] != top[:-1]])] if top.size else top
    if top.size:
        byte = top >> 3
        starts = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
        bitmap[byte[starts]] = np.bitwise_or.reduceat((1 << (top & 7)).astype(np.uint8), starts)
    return bitmap


def _member(h: np.ndarray, sorted_h: np.ndarray, bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mask of ``h`` found in ``sorted_h``, their positions there)."""
    if sorted_h.size == 0 or h.size == 0:
        return np.zeros(h.size, dtype=bool), np.zeros(h.size, dtype=np.int64)
    if bitmap is not None:
        top = (h >> np.uint64(64 - BITMAP_BITS)).astype(np.int64)
        maybe = np.flatnonzero((bitmap[top >> 3] >> (top & 7).astype(np.uint8)) & 1)
    else:
        maybe = np.arange(h.size)
    pos = np.searchsorted(sorted_h, h[maybe]).clip(max=sorted_h.size - 1)
    hit = sorted_h[pos] == h[maybe]
    mask = np.zeros(h.size, dtype=bool)
    mask[maybe[hit]] = True
    where = np.zeros(h.size, dtype=np.int64)
    where[maybe[hit]] = pos[hit]
    return mask, where


def build_index(questions: pl.DataFrame, n_words: int = N_WORDS, n_chars: int = N_CHARS,
                min_words: int = MIN_WORDS, min_chars: int = MIN_CHARS) -> BenchmarkIndex:
    """Index benchmark questions (columns benchmark, item_id, file, question)."""
    if (A_WORDS + A_STRIDE_WORDS - 1 > n_words or A_CHARS + A_STRIDE_CHARS - 1 > n_chars
            or S_WORDS + S_STRIDE_WORDS - 1 > min_words or S_CHARS + S_STRIDE_CHARS - 1 > min_chars):
        raise ValueError("stage A grams must fit in the shortest checked run (m + stride - 1 <= minimum)")
    items = questions.with_row_index("__item")
    batches = tokens(items[S.QUESTION])
    ntok, is_zh = token_counts(batches, items.height)
    n = {True: n_chars, False: n_words}
    long = ntok >= np.where(is_zh, n_chars, n_words)
    short = ~long & (ntok >= np.where(is_zh, min_chars, min_words))
    tiny = ~long & ~short
    too_short = {b: int(c) for b, c in items.filter(pl.Series(tiny)).group_by(BENCH).len().sort(BENCH).iter_rows()}
    ex, wh, ca, sc = [], [], [], []
    for bt in batches:
        ex.append(gram_hashes(bt, n[bt.zh], rows=long))
        wh.append(gram_hashes(bt, ntok, rows=short))
        ca.append(gram_hashes(bt, A_CHARS if bt.zh else A_WORDS, rows=long))
        sc.append(gram_hashes(bt, S_CHARS if bt.zh else S_WORDS, rows=short))
    lengths = {kind: np.unique(ntok[short & (is_zh == kind)]) for kind in (True, False)}
    cat = lambda parts, k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, np.uint64 if k == 0 else np.int64)  # noqa: E731
    hashes, owner = _unique_first(cat(ex, 0), cat(ex, 1))
    whole, whole_owner = _unique_first(cat(wh, 0), cat(wh, 1))
    cand, short_cand = _sorted_unique(cat(ca, 0)), _sorted_unique(cat(sc, 0))
    return BenchmarkIndex(items=items, hashes=hashes, owner=owner, whole=whole, whole_owner=whole_owner,
                          whole_lengths=lengths, cand=cand, bitmap=_bitmap(cand), short_cand=short_cand,
                          short_bitmap=_bitmap(short_cand), hash_bitmap=_bitmap(hashes), n=n, too_short=too_short)


def _chunk_overlaps(chunk: pl.Series, lo: int, index: BenchmarkIndex) -> tuple[list, list, list, list]:
    """Stage A and B over one slice of pool questions starting at row ``lo``: (n-gram hit rows,
    their gram ids, whole-question hit rows, their whole ids)."""
    gram_rows, gram_ids, whole_rows, whole_ids = [], [], [], []
    batches = tokens(chunk)
    for bt in batches:
        # n-grams: stage A flags rows, stage B checks every n-gram of those rows
        h, r = gram_hashes(bt, A_CHARS if bt.zh else A_WORDS, stride=A_STRIDE_CHARS if bt.zh else A_STRIDE_WORDS)
        hit, _ = _member(h, index.cand, index.bitmap)
        if hit.any():
            cand = np.zeros(chunk.len(), dtype=bool)
            cand[r[hit]] = True
            h, r = gram_hashes(bt, index.n[bt.zh], rows=cand)
            hit, pos = _member(h, index.hashes, index.hash_bitmap)
            gram_rows.append(r[hit] + lo)
            gram_ids.append(pos[hit])
        lengths = index.whole_lengths[bt.zh]
        if lengths.size == 0:
            continue
        # whole short questions: a stage-A hit at token i lies inside any occurrence, which then
        # starts at one of i - (longest - m) .. i: check those starts for every length
        m = S_CHARS if bt.zh else S_WORDS
        h, r, i, local = gram_hashes(bt, m, stride=S_STRIDE_CHARS if bt.zh else S_STRIDE_WORDS, with_pos=True)
        hit, _ = _member(h, index.short_cand, index.short_bitmap)
        r, i, local = r[hit], i[hit], local[hit]
        if r.size == 0:
            continue
        first = (np.cumsum(bt.counts) - bt.counts)[local]
        last = first + bt.counts[local]
        back = np.arange(int(lengths.max()) - m + 1)
        start = (i[:, None] - back[None, :]).ravel()
        rr, ff, ll = (np.repeat(x, back.size) for x in (r, first, last))
        for length in lengths.tolist():
            ok = (start >= ff) & (start + length <= ll)
            h = hash_at(bt, start[ok], length)
            hit, pos = _member(h, index.whole)
            whole_rows.append(rr[ok][hit] + lo)
            whole_ids.append(pos[hit])
    return gram_rows, gram_ids, whole_rows, whole_ids


def find_overlaps(questions: pl.Series, index: BenchmarkIndex, *, max_matches: int = MAX_MATCHES) -> pl.DataFrame:
    """Pool rows that overlap the index: columns row (position in ``questions``), item (row of
    ``index.items``) and grams (n-grams shared with that item; 0 for a whole-question match), one
    row per (pool row, item).

    Stage A: n-grams of ``A_*`` tokens at every ``A_STRIDE_*``-th token of each pool text against
    all of the benchmark's: a shared run of at least ``A + stride - 1`` tokens (every checked run
    is that long) always contains one, so no match is lost. Stage B, on the rows stage A flagged
    (few): the exact rule, every n-gram and every whole short question."""
    from concurrent.futures import ThreadPoolExecutor

    starts = range(0, questions.len(), ROW_CHUNK)
    # NumPy and Polars release the GIL: two slices at a time use both cores (results in slice order)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        parts = list(pool.map(lambda lo: _chunk_overlaps(questions.slice(lo, ROW_CHUNK), lo, index), starts))
    gram_rows, gram_ids, whole_rows, whole_ids = ([x for p in parts for x in p[k]] for k in range(4))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
    gram = cat(gram_ids)
    gram_hits = pl.DataFrame({"row": cat(gram_rows).astype(np.int64), "gram": gram.astype(np.int64),
                              "item": index.owner[gram].astype(np.int64)})
    # boilerplate: a benchmark n-gram shared by more than max_matches pool records is not evidence
    # (every record holding a benchmark n-gram passed stage A, so this count is over the whole pool)
    gram_hits = gram_hits.unique().filter(pl.len().over("gram") <= max_matches)
    by_gram = gram_hits.group_by("row", "item").agg(pl.len().cast(pl.Int64).alias("grams"))
    wid = cat(whole_ids)
    whole = pl.DataFrame({"row": cat(whole_rows).astype(np.int64), "item": index.whole_owner[wid].astype(np.int64),
                          "grams": np.zeros(wid.size, dtype=np.int64)}).unique()
    return pl.concat([by_gram, whole]).sort("row", "item")


def contamination(pool: pl.DataFrame, index: BenchmarkIndex, *, max_matches: int = MAX_MATCHES) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split ``pool`` into (kept, contaminated with a REASON column, matches per pool id).

    The reason names the item sharing the most n-grams with the record (a whole-question match
    counts as most; ties -> first benchmark, then item order)."""
    hits = find_overlaps(pool[S.QUESTION], index, max_matches=max_matches)
    items = index.items.select(pl.col("__item").cast(pl.Int64).alias("item"), BENCH, ITEM)
    hits = hits.join(items, on="item").with_columns(pl.when(pl.col("grams") == 0).then(pl.lit(1 << 30)).otherwise("grams").alias("__w"))
    best = (hits.sort("row", "__w", "item", descending=[False, True, False])
            .group_by("row", maintain_order=True).first()
            .select("row", pl.format("contaminated:{}:{}", BENCH, ITEM).alias(S.REASON)))
    marked = pool.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64)).join(best, on="row", how="left")
    kept = marked.filter(pl.col(S.REASON).is_null()).drop("row", S.REASON)
    bad = marked.filter(pl.col(S.REASON).is_not_null()).drop("row")
    return kept, bad, hits.drop("__w")


# ------------------------------------------------------------------------------ benchmark files
def _fail(rel: str, where: str, what: str) -> BadFileError:
    return BadFileError(
        f"benchmark file {rel}, {where}: {what}. Fix: put the benchmark's test file there as published "
        "(MedQA/MedMCQA/CMB JSON Lines, PubMedQA ori_pqal.json, CMExam or MMLU CSV, or any JSON/JSONL/CSV/"
        "Parquet with a question field), repair that record, or move the file out of the benchmarks folder "
        "(see docs/decontamination.md)")


def _qfield(rec: dict) -> str | None:
    for k in ("question", "Question", "QUESTION"):
        if k in rec:
            return k
    return None


def _name_records(records: list[dict], rel: str, top: str) -> tuple[str, str | None]:
    """(benchmark name, id field or None) from the keys of a file's records (first record)."""
    keys = set(records[0]) if records else set()
    if {"opa", "opb", "cop"} <= keys:
        return "medmcqa", "id"
    if {"options", "answer_idx"} <= keys:
        low = rel.lower()
        if "taiwan" in low:
            return "medqa-taiwan", None
        zh = any(re.search(CJK_PATTERN, str(r.get("question", ""))) for r in records[:20])
        return ("medqa-mcmle" if zh else "medqa-usmle"), None
    if {"exam_type", "exam_class"} & keys or ("option" in keys and "question_type" in keys):
        return "cmb", "id" if "id" in keys else None
    if "QA_pairs" in keys and "description" in keys:
        return "cmb-clin", "id"
    if {"Question", "Options"} <= keys:
        return "cmexam", None
    return top, "id" if "id" in keys else None


def _records_from_json(path: Path, rel: str) -> tuple[list[dict], list[str]]:
    """Records of a JSON array / object / JSON Lines file, with their positions ("line 3", "record 2")."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _fail(rel, f"byte {err.start}", "not UTF-8 text") from None
    stripped = text.lstrip()
    if not stripped:
        return [], []
    if stripped[0] in "[{":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            if "Extra data" not in err.msg:  # JSON Lines start with "{" too
                raise _fail(rel, f"line {err.lineno} column {err.colno}", f"not valid JSON ({err.msg})") from None
        else:
            if isinstance(doc, list):
                bad = next((i for i, r in enumerate(doc) if not isinstance(r, dict)), None)
                if bad is not None:
                    raise _fail(rel, f"record {bad + 1}", "not a JSON object")
                return doc, [f"record {i + 1}" for i in range(len(doc))]
            if isinstance(doc, dict):
                if doc and all(isinstance(v, dict) for v in doc.values()):  # PubMedQA: {id: {QUESTION: …}}
                    return [{"__key": k, **v} for k, v in doc.items()], [f"key {k}" for k in doc]
                return [doc], ["record 1"]
            raise _fail(rel, "top level", "neither a JSON array, an object nor JSON Lines")
    recs, where = [], []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise _fail(rel, f"line {i}", f"not valid JSON ({err.msg})") from None
        if not isinstance(rec, dict):
            raise _fail(rel, f"line {i}", "not a JSON object")
        recs.append(rec)
        where.append(f"line {i}")
    return recs, where


def _items_from_records(recs: list[dict], where: list[str], rel: str, top: str) -> tuple[str, list[tuple[str, str]]]:
    """(benchmark, [(item id, question)]) for JSON-like records; a record without a question field
    is an error naming it (an answer-key file, where no record has one, is not a benchmark: empty)."""
    if not recs:
        return top, []
    if all(_qfield(r) is None and "QA_pairs" not in r for r in recs):
        return top, []  # e.g. PubMedQA test_ground_truth.json, CMB answers: nothing to check
    name, id_field = _name_records(recs, rel, top)
    out = []
    for n, (rec, pos) in enumerate(zip(recs, where, strict=True), 1):
        if name == "cmb-clin":
            q = rec.get("description")
        else:
            k = _qfield(rec)
            if k is None:
                raise _fail(rel, pos, "record has no question field (question / Question / QUESTION)")
            q = rec[k]
        if q is not None and not isinstance(q, str):
            raise _fail(rel, pos, f"question is {type(q).__name__}, not text")
        key = rec.get("__key") if "__key" in rec else (rec.get(id_field) if id_field else None)
        out.append((str(key) if key is not None else f"{Path(rel).name}#{n}", q or ""))
    return name, out


def _items_from_csv(path: Path, rel: str, top: str) -> tuple[str, list[tuple[str, str]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _fail(rel, f"byte {err.start}", "not UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return top, []
    head = [h.strip() for h in rows[0]]
    qcol = next((i for i, h in enumerate(head) if h.lower() == "question"), None)
    if qcol is not None:  # CMExam (Question, Options, Answer, …) or any CSV with a question column
        name = "cmexam" if {"Question", "Options"} <= set(head) else top
        idcol = next((i for i, h in enumerate(head) if h.lower() == "id"), None)
        out = []
        for n, row in enumerate(rows[1:], 1):
            if len(row) <= qcol:
                raise _fail(rel, f"line {n + 1}", f"{len(row)} fields, the question is field {qcol + 1}")
            key = row[idcol] if idcol is not None and len(row) > idcol else f"{Path(rel).name}#{n}"
            out.append((key, row[qcol]))
        return name, out
    # MMLU: no header, question,A,B,C,D,answer
    if len(rows[0]) == 6 and rows[0][5].strip() in ("A", "B", "C", "D"):
        subject = re.sub(r"_(test|val|dev)$", "", path.stem)
        out = []
        for n, row in enumerate(rows, 1):
            if len(row) != 6:
                raise _fail(rel, f"line {n}", f"{len(row)} fields; MMLU rows are question,A,B,C,D,answer")
            out.append((f"{subject}#{n}", row[0]))
        return f"mmlu-{subject}", out
    raise _fail(rel, "line 1", "no 'question' column and not MMLU's question,A,B,C,D,answer rows")


def _items_from_parquet(path: Path, rel: str, top: str) -> tuple[str, list[tuple[str, str]]]:
    try:
        cols = pl.read_parquet_schema(path)
    except Exception as err:  # noqa: BLE001 - any reader error is the file's problem
        raise _fail(rel, "file", f"not a readable Parquet file ({err})") from None
    q = next((c for c in ("question", "Question", "QUESTION") if c in cols), None)
    if q is None:
        raise _fail(rel, "schema", f"no question column (columns: {', '.join(cols)})")
    frame = pl.read_parquet(path, columns=[q] + (["id"] if "id" in cols else []))
    recs = frame.rename({q: "question"}).to_dicts()  # benchmark files are small (≤ tens of thousands)
    if {"opa", "opb", "cop"} <= set(cols):
        return "medmcqa", [(str(r.get("id") or f"{Path(rel).name}#{i}"), r["question"] or "") for i, r in enumerate(recs, 1)]
    return _items_from_records(recs, [f"row {i}" for i in range(1, len(recs) + 1)], rel, top)


def benchmark_files(bench_dir: str | Path) -> list[Path]:
    """Data files under the benchmarks folder (dot files and other suffixes are not read)."""
    root = Path(bench_dir)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def read_benchmarks(bench_dir: str | Path) -> tuple[pl.DataFrame, list[dict]]:
    """Every benchmark question under ``bench_dir``: (frame benchmark/item_id/file/question, per-file
    info). A file that cannot be read raises one BadFileError naming the file, position and fix."""
    root = Path(bench_dir)
    frames, files = [], []
    for path in benchmark_files(root):
        rel = path.relative_to(root).as_posix()
        top = path.relative_to(root).parts[0] if len(path.relative_to(root).parts) > 1 else path.stem
        suffix = path.suffix.lower()
        if suffix == ".csv":
            name, items = _items_from_csv(path, rel, top)
        elif suffix == ".parquet":
            name, items = _items_from_parquet(path, rel, top)
        else:
            recs, where = _records_from_json(path, rel)
            name, items = _items_from_records(recs, where, rel, top)
        from tasks.core.caching import file_sha256

        info = {"file": rel, "benchmark": name if items else None, "items": len(items), "sha256": file_sha256(path),
                "note": ("looks like a training split: only test files belong here" if re.search(r"train", rel, re.I)
                         else "" if items else "no question field: not read (an answer key?)")}
        files.append(info)
        if items:
            frames.append(pl.DataFrame({BENCH: [name] * len(items), ITEM: [i for i, _ in items], FILE: [rel] * len(items),
                                        S.QUESTION: [q for _, q in items]}, schema={BENCH: pl.String, ITEM: pl.String,
                                                                                   FILE: pl.String, S.QUESTION: pl.String}))
    empty = pl.DataFrame(schema={BENCH: pl.String, ITEM: pl.String, FILE: pl.String, S.QUESTION: pl.String})
    return (pl.concat(frames) if frames else empty), files


# ------------------------------------------------------------------------------ the task
REASON_KIND = "contaminated"
METHOD = (f"question-text overlap after NFKC / lowercase / whitespace normalisation: {N_WORDS}-word n-grams "
          f"(text without Chinese characters), {N_CHARS}-character n-grams (text with Chinese characters, "
          "spaces and punctuation removed); one shared n-gram is enough. Benchmark questions shorter than "
          f"that are matched whole down to {MIN_WORDS} words / {MIN_CHARS} characters (shorter ones are too "
          "generic and not checked); a benchmark n-gram found in more than {max_matches} pool records is "
          "boilerplate and not counted")


@dataclass(frozen=True)
class Decontam:
    """What the decontamination stage did: the pool it hands on, its quarantine and the counts.

    ``ran`` is False when there was nothing to check against (no benchmarks folder, or no
    benchmark question in it): the pool is passed through and ``note`` says why. ``counts`` has
    the step's counters like the other steps: ``in``, ``kept`` and ``dropped`` by reason kind.
    """

    pool: Pool
    quarantine_file: FileRef | None
    ran: bool
    benchmarks_dir: str
    note: str = ""
    files: list[dict] = field(default_factory=list)
    by_benchmark: dict = field(default_factory=dict)
    contaminated: int = 0
    counts: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


DECONTAM = ContentCache(dirs=("benchmarks_dir",))


def _quarantine(bad: pl.DataFrame) -> pl.DataFrame:
    """Contaminated records in the quarantine schema (raw = id/question/answer JSON, as dedup's)."""
    from tasks.quality.dedup import quarantine as dedup_quarantine

    return dedup_quarantine(bad).cast(S.QUARANTINE_SCHEMA)


def resolve_benchmarks_dir(benchmarks_dir: str | None, raw_dir: str) -> str:
    """The benchmarks folder of a run: ``benchmarks_dir`` when given (it must exist: a typo must not
    silently skip the check), else ``benchmarks`` next to ``raw_dir`` (``data/benchmarks``), which
    may be absent (the stage then says it did not run)."""
    from tasks.core.errors import ConfigError

    if benchmarks_dir is None:
        return str(Path(raw_dir).parent / "benchmarks")
    if not Path(benchmarks_dir).is_dir():
        raise ConfigError(missing_dir_message(benchmarks_dir))
    return benchmarks_dir


def missing_dir_message(benchmarks_dir: str) -> str:
    """The one line for a --benchmarks-dir / benchmarks_dir that is not a folder."""
    return (f"--benchmarks-dir {benchmarks_dir}: folder does not exist. Put the benchmark test files there "
            "(see docs/decontamination.md), or leave the flag out to use data/benchmarks when it exists")


def shown_dir(path: str) -> str:
    """The benchmarks folder as the card shows it: as given when relative, else ``…/<name>`` (the
    card holds no absolute paths: the same inputs give the same bytes on any machine)."""
    p = Path(path)
    return p.as_posix() if not p.is_absolute() else f"…/{p.name}"


@task(name="decontaminate", cache_policy=DECONTAM, persist_result=True)
def decontaminate(pool: Pool, benchmarks_dir: str, work_dir: str, max_matches: int = MAX_MATCHES,
                  shown: str | None = None) -> Decontam:
    """Quarantine pool records whose question overlaps a benchmark question under ``benchmarks_dir``
    (reason ``contaminated:<benchmark>:<item id>``); a missing or empty folder passes the pool
    through untouched and says so. ``shown`` is the folder as reports name it."""
    logger = log()
    shown = shown or shown_dir(benchmarks_dir)
    settings = {"n_words": N_WORDS, "n_chars": N_CHARS, "min_words": MIN_WORDS, "min_chars": MIN_CHARS,
                "max_matches": max_matches, "method": METHOD.format(max_matches=max_matches)}
    passthrough = {"in": pool.records, "kept": pool.records, "dropped": {}}
    if not Path(benchmarks_dir).is_dir():
        note = (f"not run: no benchmarks folder at {shown} (put the benchmark test files you report on there, "
                "or pass --benchmarks-dir)")
        logger.info("decontaminate: %s", note)
        return Decontam(pool=pool, quarantine_file=None, ran=False, benchmarks_dir=shown, note=note,
                        counts=passthrough, settings=settings)
    t0 = time.perf_counter()
    questions, files = read_benchmarks(benchmarks_dir)
    if questions.is_empty():
        note = f"not run: no benchmark questions in {shown} ({len(files)} data files)"
        logger.info("decontaminate: %s", note)
        return Decontam(pool=pool, quarantine_file=None, ran=False, benchmarks_dir=shown, note=note, files=files,
                        counts=passthrough, settings=settings)
    index = build_index(questions)
    frame = pl.read_parquet(pool.pool_file.path)
    kept, bad, hits = contamination(frame, index, max_matches=max_matches)
    out = Path(work_dir)
    q = write_parquet(_quarantine(bad), out / "decontam.quarantine.parquet")
    new_pool = write_parquet(kept, out / "pool.decontaminated.parquet") if bad.height else None
    per = (bad.select(pl.col(S.REASON).str.split(":").list.get(1).alias(BENCH)).group_by(BENCH).len())
    items_per = questions.group_by(BENCH).len()
    hit_items = hits.select(BENCH, ITEM).unique().group_by(BENCH).len()
    names = sorted(set(items_per[BENCH].to_list()) | set(index.too_short))
    lookup = lambda f, b: dict(f.iter_rows()).get(b, 0)  # noqa: E731
    by_benchmark = {b: {"items": lookup(items_per, b), "too_short": index.too_short.get(b, 0),
                        "items_matched": lookup(hit_items, b), "records": lookup(per, b)} for b in names}
    counts = {"in": frame.height, "kept": kept.height, "dropped": {REASON_KIND: bad.height} if bad.height else {}}
    logger.info("decontaminate: %d benchmark questions in %d files; %d of %d pool records contaminated in %.2fs",
                questions.height, len(files), bad.height, frame.height, time.perf_counter() - t0)
    result_pool = pool if new_pool is None else Pool(
        pool_file=FileRef.of(new_pool), dedup_quarantine_file=pool.dedup_quarantine_file,
        before_dedup=pool.before_dedup, records=kept.height, dedup=pool.dedup)
    return Decontam(pool=result_pool, quarantine_file=FileRef.of(q), ran=True, benchmarks_dir=shown,
                    files=files, by_benchmark=by_benchmark, contaminated=bad.height, counts=counts, settings=settings)
