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
BITMAP_BITS = 27  # 16 MB prefilter bitmap: ~2 % false positives for 2.5M benchmark n-grams

DATA_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")
BENCH = "benchmark"
ITEM = "item_id"
FILE = "file"
TEXT = "text"

# P odd: invertible modulo 2**64, so a substring's hash can be moved to position 0
_P = np.uint64(0x100000001B3 * 2 + 1)
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))


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
    """UTF-8 bytes of a string Series as one uint8 array plus row offsets (len n+1), zero-copy."""
    arr = texts.fill_null("").to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    offsets_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, dtype=np.uint8)
    return data, offsets


def ngram_hashes(texts: pl.Series, n_words: int = N_WORDS, n_chars: int = N_CHARS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, row, tokens) for texts already in :func:`overlap_text` form.

    ``hashes``/``row``: one uint64 hash per n-gram and the row it is in; ``tokens``: tokens per row
    (words, or characters for Chinese rows). A gram of a word row is the bytes from the space before
    its first word to the space after its last; of a Chinese row, from its first character's first
    byte to the byte before the character after it. Hash = polynomial prefix hash over the bytes,
    shifted to position 0 (so equal byte strings hash equal wherever they are), then mixed.
    """
    # Chinese rows get a closing "\x01" (ASCII, so a character start): k characters -> k+1 boundaries
    closed = texts.fill_null("").to_frame("t").select(
        pl.when(pl.col("t").str.starts_with(" ") | (pl.col("t") == "")).then(pl.col("t"))
        .otherwise(pl.col("t") + "\x01"))["t"]
    data, offsets = _buffer(closed)
    nrows = offsets.size - 1
    lengths = np.diff(offsets)
    if data.size == 0:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, np.zeros(0, dtype=np.int64), np.zeros(nrows, dtype=np.int64)
    is_word_row = (lengths > 0) & (data[offsets[:-1].clip(max=data.size - 1)] == 0x20)  # " w1 … " rows
    row_of_byte = np.repeat(np.arange(nrows, dtype=np.int64), lengths)
    # token boundaries: spaces in word rows (k words -> k+1 spaces), character starts in Chinese rows
    boundary = np.where(is_word_row[row_of_byte], data == 0x20, (data & 0xC0) != 0x80)
    del row_of_byte
    bpos = np.flatnonzero(boundary)
    brow = np.searchsorted(offsets, bpos, side="right") - 1
    per_row = np.bincount(brow, minlength=nrows)
    tokens = np.maximum(per_row - 1, 0)
    n = np.where(is_word_row, n_words, n_chars)
    # a gram starts at boundary i and ends at boundary i+n (plus the closing space in word rows)
    first = np.concatenate([[0], np.cumsum(per_row)[:-1]])
    idx_in_row = np.arange(bpos.size) - first[brow]
    n_b = n[brow]
    start_i = np.flatnonzero(idx_in_row + n_b <= per_row[brow] - 1)
    end_i = start_i + n_b[start_i]
    s = bpos[start_i]
    e = bpos[end_i] + is_word_row[brow[start_i]].astype(np.int64)
    return _substring_hashes(data, s, e), brow[start_i], tokens


def _substring_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Position-independent hashes of data[starts[i]:ends[i]] (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        size = data.size + 1
        pw = np.full(size, _P, dtype=np.uint64)
        pw[0] = 1
        np.multiply.accumulate(pw, out=pw)  # P**t
        prefix = np.zeros(size, dtype=np.uint64)
        np.cumsum((data.astype(np.uint64) + np.uint64(1)) * pw[:-1], out=prefix[1:])
        del pw
        inv = np.full(size, _P_INV, dtype=np.uint64)
        inv[0] = 1
        np.multiply.accumulate(inv, out=inv)  # P**-t
        h = (prefix[ends] - prefix[starts]) * inv[starts]
        h ^= (ends - starts).astype(np.uint64) << np.uint64(56)
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

    ``hashes`` (sorted, unique) -> ``owner`` (row of ``items`` with that n-gram: the first in item
    order); ``whole`` maps the overlap text of short questions to their item row; ``items`` has
    benchmark, item id, file and the overlap text, one row per checked question.
    """

    items: pl.DataFrame
    hashes: np.ndarray
    owner: np.ndarray
    whole: pl.DataFrame
    bitmap: np.ndarray
    too_short: dict[str, int] = field(default_factory=dict)


def build_index(questions: pl.DataFrame, n_words: int = N_WORDS, n_chars: int = N_CHARS,
                min_words: int = MIN_WORDS, min_chars: int = MIN_CHARS) -> BenchmarkIndex:
    """Index benchmark questions (columns benchmark, item_id, file, question)."""
    items = (questions.with_columns(overlap_text(pl.col(S.QUESTION)).alias(TEXT))
             .filter(pl.col(TEXT) != "").with_row_index("__item"))
    hashes, row, tokens = ngram_hashes(items[TEXT], n_words, n_chars)
    is_word = items[TEXT].str.starts_with(" ").to_numpy()
    n = np.where(is_word, n_words, n_chars)
    minimum = np.where(is_word, min_words, min_chars)
    short = (tokens < n) & (tokens >= minimum)
    tiny = tokens < minimum
    items = items.with_columns(pl.Series("__short", short), pl.Series("__tiny", tiny))
    too_short = {b: int(c) for b, c in items.filter(pl.col("__tiny")).group_by(BENCH).len().sort(BENCH).iter_rows()}
    # unique hashes, each owned by its first item (items are in benchmark/file/position order)
    order = np.lexsort((row, hashes))
    h, r = hashes[order], row[order]
    keep = np.concatenate([[True], h[1:] != h[:-1]]) if h.size else np.zeros(0, dtype=bool)
    bitmap = np.zeros(1 << (BITMAP_BITS - 3), dtype=np.uint8)
    top = (h[keep] >> np.uint64(64 - BITMAP_BITS)).astype(np.int64)
    np.bitwise_or.at(bitmap, top >> 3, (1 << (top & 7)).astype(np.uint8))
    whole = items.filter(pl.col("__short")).group_by(TEXT, maintain_order=True).agg(pl.col("__item").first())
    return BenchmarkIndex(items=items.drop("__short", "__tiny"), hashes=h[keep], owner=r[keep], whole=whole,
                          bitmap=bitmap, too_short=too_short)


def find_overlaps(questions: pl.Series, index: BenchmarkIndex, *, max_matches: int = MAX_MATCHES,
                  n_words: int = N_WORDS, n_chars: int = N_CHARS) -> pl.DataFrame:
    """Pool rows that overlap the index: columns row (position in ``questions``), item (row of
    ``index.items``) and grams (n-grams shared with that item; 0 for a whole-question match), one
    row per (pool row, item)."""
    texts = pl.DataFrame({"q": questions}).select(overlap_text(pl.col("q")).alias("t"))["t"]
    rows, owners = [], []
    for lo in range(0, texts.len(), ROW_CHUNK):
        h, r, _ = ngram_hashes(texts.slice(lo, ROW_CHUNK), n_words, n_chars)
        top = (h >> np.uint64(64 - BITMAP_BITS)).astype(np.int64)
        maybe = (index.bitmap[top >> 3] >> (top & 7).astype(np.uint8)) & 1 == 1
        h, r = h[maybe], r[maybe]
        pos = np.searchsorted(index.hashes, h).clip(max=max(index.hashes.size - 1, 0))
        hit = index.hashes[pos] == h if index.hashes.size else np.zeros(h.size, dtype=bool)
        rows.append(r[hit] + lo)
        owners.append(pos[hit])
    gram = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    gram_hits = pl.DataFrame({"row": np.concatenate(rows) if rows else np.zeros(0, np.int64), "gram": gram,
                              "item": index.owner[gram].astype(np.int64)})
    # boilerplate: a benchmark n-gram shared by more than max_matches pool records is not evidence
    gram_hits = gram_hits.unique().filter(pl.len().over("gram") <= max_matches)
    by_gram = gram_hits.group_by("row", "item").agg(pl.len().cast(pl.Int64).alias("grams"))
    frames = [by_gram]
    if index.whole.height:
        pats = index.whole[TEXT]
        found = (pl.DataFrame({"t": texts}).with_row_index("row")
                 .select("row", pl.col("t").str.extract_many(pats.implode(), overlapping=True).alias("m"))
                 .explode("m").drop_nulls("m")
                 .join(index.whole.rename({TEXT: "m", "__item": "item"}), on="m")
                 .select(pl.col("row").cast(pl.Int64), pl.col("item").cast(pl.Int64), pl.lit(0, pl.Int64).alias("grams")))
        frames.append(found.unique())
    return pl.concat(frames).sort("row", "item")


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
    from tasks.quality.dedup import _quarantine as dedup_quarantine

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
