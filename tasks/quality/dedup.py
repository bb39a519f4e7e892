"""Exact and near-duplicate removal across and within sources (question + answer exact, MinHash
LSH on the question). Which record survives and why: ``docs/dedup.md``.

Three steps, so a large pool is never held whole: :func:`row_keys` reduces the rows of one file to
their dedup keys (ranking columns, a 128-bit hash of the exact key, MinHash band keys) and MinHash
digests; :func:`decide` picks the survivors from the keys of all files; the caller gathers the
kept and dropped rows (:func:`dedup` for one in-memory frame, ``tasks.quality.pool`` for files).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np
import polars as pl

from tasks.core import schema
from tasks.core.text import CJK_PATTERN, normalise

SHINGLE_SIZE = 3
# rows per shingle-hashing slice and candidate pairs per verification slice: bound the NumPy
# temporaries whatever the pool size (~70 MB per 10k-row slice of ~300-character questions;
# 100k-row slices reached ~700 MB, the pool stage's peak)
SHINGLE_CHUNK = 10_000
VERIFY_CHUNK = 200_000
DIGEST_CHUNK = 50_000
# the defaults of dedup(): the pool stage uses these
NEAR_THRESHOLD = 0.9
NUM_PERM = 128
SEED = 0
_RANK = "__dedup_rank"
POS = "__dedup_pos"
NO_REASONING = "__dedup_no_reasoning"
ANSWER_LEN = "__dedup_answer_len"
# the exact key (normalised question + answer) as two independent 64-bit hashes: a 128-bit key
# instead of the strings (a collision among 10^6 rows has probability ~10^-27)
EXACT = ("__dedup_exact_a", "__dedup_exact_b")
BAND = "__dedup_band"
# the columns ranking and matching read (a file's rows reduced to these by row_keys), and those a
# quarantine row keeps
KEY_INPUTS = (schema.ID, schema.QUESTION, schema.ANSWER, schema.REASONING, schema.QUALITY_SCORE, schema.SOURCE,
              schema.SOURCE_FILE, schema.SOURCE_ROW)
QUARANTINE_INPUTS = (schema.SOURCE, schema.SOURCE_FILE, schema.SOURCE_ROW, schema.ID, schema.QUESTION, schema.ANSWER)


def lsh_params(threshold: float, num_perm: int, min_recall: float = 0.995) -> tuple[int, int]:
    """(bands, rows), bands*rows == num_perm: the most rows per band that still make a pair at the
    threshold a candidate with probability >= min_recall (recall first: candidates are verified)."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        if num_perm % rows:
            continue
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= min_recall:
            best = (bands, rows)
    return best


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of combined token hashes (wrapping uint64 maths)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _shingle_hashes(questions: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Flat shingle hashes and row offsets (len n+1) for rensa, vectorised in Polars + NumPy.

    Tokens (CJK characters or words) are hashed once with xxhash64; a k-shingle's hash is the
    mixed combination of k consecutive token hashes, computed on shifted NumPy views and kept
    only where the k tokens lie in one row. A row shorter than k tokens is one token: the hash of
    its whole normalised text.
    """
    import polars_hash as plh

    k = SHINGLE_SIZE
    q = normalise(pl.col("q"))
    is_cjk = q.str.contains(CJK_PATTERN)
    chars = q.str.replace_all(r"[\s\p{P}\p{S}]", "").str.split("")
    words = q.str.extract_all(r"\w+")
    tokens = pl.when(is_cjk).then(chars).otherwise(words)
    tokens = pl.when(tokens.list.len() > 0).then(tokens).otherwise(pl.concat_list(pl.lit("")))
    frame = (
        pl.DataFrame({"q": questions})
        .select(tokens.alias("t"), q.alias("n"))
        .with_columns(plh.col("n").nchash.xxhash64().alias("whole"))
    )
    lengths = frame["t"].list.len().to_numpy().astype(np.int64)
    whole = frame["whole"].to_numpy().astype(np.uint64)
    tok = frame.select(plh.col("t").explode().nchash.xxhash64()).to_series().to_numpy().astype(np.uint64)

    total = tok.size
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    row = np.repeat(np.arange(lengths.size), lengths)
    pos = np.arange(total) - starts[row]
    row_len = lengths[row]
    padded = np.concatenate([tok, np.zeros(k, dtype=np.uint64)])
    acc = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(k):  # order-sensitive combination: rotate each position differently
            h = padded[i : i + total]
            r = np.uint64((17 * i) % 64)
            acc = acc * np.uint64(0x100000001B3) + ((h << r) | (h >> (np.uint64(64) - r)) if r else h)
    shingle = _mix64(acc)
    short = row_len < k
    valid = (pos <= row_len - k) | (short & (pos == 0))
    values = np.where(short, whole[row], shingle)[valid]
    counts = np.where(lengths < k, 1, lengths - k + 1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    return values, offsets


def _shingle_hashes_chunked(questions: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_shingle_hashes` over slices of rows, so its NumPy temporaries stay bounded."""
    flats, offs, base = [], [np.zeros(1, dtype=np.uint64)], np.uint64(0)
    for lo in range(0, questions.len(), SHINGLE_CHUNK):
        flat, off = _shingle_hashes(questions.slice(lo, SHINGLE_CHUNK))
        flats.append(flat)
        offs.append(off[1:] + base)
        base += off[-1]
    return np.concatenate(flats) if flats else np.zeros(0, dtype=np.uint64), np.concatenate(offs)


def digests(questions: pl.Series, *, num_perm: int, seed: int) -> np.ndarray:
    """MinHash digests of questions, (n, num_perm) uint32; a row's digest depends on its text only.

    A slice of rows at a time: rensa hands digests back as Python lists (~40 bytes per value)."""
    out = np.empty((questions.len(), num_perm), dtype=np.uint32)
    for lo in range(0, questions.len(), DIGEST_CHUNK):
        flat, off = _shingle_hashes_chunked(questions.slice(lo, DIGEST_CHUNK))
        rows = rensa_matrix(flat, off, num_perm, seed).to_rows()
        out[lo : lo + len(rows)] = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.uint32,
                                               count=len(rows) * num_perm).reshape(len(rows), num_perm)
    return out


def rensa_matrix(flat: np.ndarray, offsets: np.ndarray, num_perm: int, seed: int):
    """rensa's digest matrix of flat shingle hashes (the MinHash itself stays rensa's)."""
    import rensa

    return rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, num_perm, seed)


def band_keys(digest: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64: each contiguous band of ``rows`` MinHash values mixed into one 64-bit key
    (a rare collision only adds a candidate pair, which verification then rejects)."""
    mult = (np.arange(rows, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    out = np.empty((digest.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            key = (digest[:, b * rows : (b + 1) * rows].astype(np.uint64) * mult).sum(axis=1, dtype=np.uint64)
            out[:, b] = key ^ (key >> np.uint64(29))
    return out


def _near_duplicates(
    bands_of: np.ndarray, digests_of: Callable[[np.ndarray], np.ndarray], *, threshold: float, num_perm: int
) -> tuple[np.ndarray, dict]:
    """For rank-ordered rows (their band keys ``bands_of``, (n, bands)): index of the kept row each
    one duplicates, or -1. ``digests_of(indices)`` gives those rows' MinHash digests."""
    n = bands_of.shape[0]
    dup_of = np.full(n, -1, dtype=np.int64)
    bands, rows = lsh_params(threshold, num_perm)
    info = {"lsh_bands": bands, "lsh_rows": rows, "near_candidates": 0, "near_pairs_verified": 0}
    if n < 2:
        return dup_of, info
    # LSH: a row is a candidate when one of its bands equals that band of another row
    frame = pl.DataFrame(bands_of, schema=[f"b{b}" for b in range(bands)], orient="row")
    flagged = np.flatnonzero(frame.select(pl.any_horizontal(pl.all().is_duplicated())).to_series().to_numpy())
    del frame
    info["near_candidates"] = int(flagged.size)
    if flagged.size < 2:
        return dup_of, info
    digest = digests_of(flagged)
    keys = bands_of[flagged]

    # Candidate pairs (worse, better) from the bands; rows are in rank order, so a smaller index is
    # a better record
    m = flagged.size
    idx = np.arange(m, dtype=np.int64)
    codes = []
    for b in range(bands):
        _, first, inv = np.unique(keys[:, b], return_index=True, return_inverse=True)
        anchor = first[inv]
        sel = anchor != idx
        codes.append(idx[sel] * m + anchor[sel])
        order = np.lexsort((idx, inv))
        same = inv[order][1:] == inv[order][:-1]
        codes.append(order[1:][same] * m + order[:-1][same])
    code = np.unique(np.concatenate(codes))  # sorted by worse row, then better row
    if code.size == 0:
        return dup_of, info
    cand = np.stack([code // m, code % m], axis=1)
    # verify in slices: comparing all candidate pairs at once materialises two
    # (pairs x num_perm) arrays — 10 GB each for 20M candidates on templated text
    sim = np.empty(len(cand), dtype=np.float64)
    for lo in range(0, len(cand), VERIFY_CHUNK):
        part = cand[lo : lo + VERIFY_CHUNK]
        sim[lo : lo + len(part)] = (digest[part[:, 0]] == digest[part[:, 1]]).mean(axis=1)
    ok = cand[sim >= threshold]
    info["near_pairs_verified"] = int(ok.shape[0])

    kept = np.ones(m, dtype=bool)
    local_dup = np.full(m, -1, dtype=np.int64)
    # Greedy in rank order over rows that have a verified better partner (np.unique sorted them).
    for worse, better in ok.tolist():
        if local_dup[worse] == -1 and kept[better]:
            local_dup[worse] = better
            kept[worse] = False
    dup_of[flagged[local_dup >= 0]] = flagged[local_dup[local_dup >= 0]]
    return dup_of, info


def _col(cols: list[str], name: str, dtype: pl.DataType) -> pl.Expr:
    """A column, or typed nulls where the input has none (optional columns may be absent)."""
    return pl.col(name) if name in cols else pl.lit(None, dtype=dtype).alias(name)


def row_keys(frame: pl.DataFrame | pl.LazyFrame, *, near_threshold: float = NEAR_THRESHOLD,
             num_perm: int = NUM_PERM, seed: int = SEED) -> pl.DataFrame:
    """One file's rows reduced to what :func:`decide` needs, in input order: the ranking columns,
    the exact key (normalised question + answer) as a 128-bit hash, and the question's MinHash
    band keys. Per row, so the keys of a union of files are the union of their keys; ~200 bytes a
    row instead of the texts."""
    lazy = frame.lazy()
    cols = lazy.collect_schema().names()
    for c in (schema.ID, schema.QUESTION, schema.ANSWER):
        if c not in cols:
            raise ValueError(f"dedup needs column {c!r}")
    import polars_hash as plh

    # Unit separator between the parts: it cannot come out of normalise's whitespace collapse.
    key = pl.concat_str([normalise(pl.col(schema.QUESTION)), normalise(pl.col(schema.ANSWER))], separator="\x1f")
    keys = lazy.select(
        _col(cols, schema.ID, pl.String),
        _col(cols, schema.SOURCE, pl.String),
        _col(cols, schema.SOURCE_FILE, pl.String),
        _col(cols, schema.SOURCE_ROW, pl.Int64),
        _col(cols, schema.QUALITY_SCORE, pl.Float64),
        _col(cols, schema.REASONING, pl.String).is_null().alias(NO_REASONING),
        pl.col(schema.ANSWER).str.len_chars().fill_null(0).alias(ANSWER_LEN),
        key.alias("__key"),
        pl.col(schema.QUESTION),
    ).with_columns(
        plh.col("__key").nchash.xxhash64().alias(EXACT[0]),
        plh.col("__key").nchash.wyhash().alias(EXACT[1]),
    ).drop("__key").collect()
    bands, rows = lsh_params(near_threshold, num_perm)
    band = np.empty((keys.height, bands), dtype=np.uint64)
    for lo in range(0, keys.height, DIGEST_CHUNK):
        part = keys[schema.QUESTION].slice(lo, DIGEST_CHUNK)
        band[lo : lo + part.len()] = band_keys(digests(part, num_perm=num_perm, seed=seed), bands, rows)
    return keys.drop(schema.QUESTION).with_columns(
        pl.Series(f"{BAND}{b}", band[:, b]) for b in range(bands)
    )


def _ranked(keys: pl.DataFrame) -> pl.DataFrame:
    """Keys with a position column and the preference rank (0 = best), sorted by rank."""
    order = [NO_REASONING, schema.QUALITY_SCORE, ANSWER_LEN, schema.ID, schema.SOURCE, schema.SOURCE_FILE,
             schema.SOURCE_ROW, POS]
    return (
        keys.with_row_index(POS)
        .sort(order, descending=[False, True, True, False, False, False, False, False], nulls_last=True)
        .with_row_index(_RANK)
    )


def decide(
    keys: pl.DataFrame, digests_of: Callable[[np.ndarray], np.ndarray], *, near_threshold: float = NEAR_THRESHOLD,
    num_perm: int = NUM_PERM,
) -> tuple[pl.Series, pl.DataFrame, dict]:
    """Survivors from the :func:`row_keys` of the whole pool (row i = position i):
    (kept positions ascending, dropped positions ascending with their reason, stats).

    ``digests_of(positions)`` gives those rows' MinHash digests (only the near-duplicate
    candidates are asked for)."""
    if not 0.0 < near_threshold <= 1.0:
        raise ValueError(f"near_threshold must be in (0, 1], got {near_threshold}")
    t0 = time.perf_counter()
    ranked = _ranked(keys)
    exact = pl.struct(*EXACT)
    ranked = ranked.with_columns(
        exact.is_first_distinct().alias("__first"),
        pl.col(schema.ID).first().over(*EXACT).alias("__exact_of"),
    )
    exact_dropped = ranked.filter(~pl.col("__first")).select(
        POS, pl.format("exact_duplicate_of:{}", pl.col("__exact_of")).alias(schema.REASON)
    )
    band_cols = [c for c in keys.columns if c.startswith(BAND)]
    survivors = ranked.filter(pl.col("__first")).select(POS, schema.ID, *band_cols)  # still in rank order
    del ranked
    t1 = time.perf_counter()

    pos = survivors[POS].to_numpy()
    dup_idx, info = _near_duplicates(
        survivors.select(band_cols).to_numpy(), lambda idx: digests_of(pos[idx]),
        threshold=near_threshold, num_perm=num_perm,
    )
    ids = survivors[schema.ID]
    near_mask = pl.Series(dup_idx >= 0)
    near_of = pl.Series(np.where(dup_idx >= 0, dup_idx, 0)).cast(pl.UInt32)
    survivors = survivors.select(
        POS, pl.when(near_mask).then(pl.format("near_duplicate_of:{}", ids.gather(near_of))).alias(schema.REASON)
    )
    near_dropped = survivors.filter(pl.col(schema.REASON).is_not_null())
    kept_pos = survivors.filter(pl.col(schema.REASON).is_null())[POS].sort()
    reasons = pl.concat([exact_dropped, near_dropped]).sort(POS)
    stats = {
        "input": keys.height,
        "exact_dropped": exact_dropped.height,
        "near_dropped": near_dropped.height,
        "kept": kept_pos.len(),
        "near_threshold": near_threshold,
        "num_perm": num_perm,
        "seed": None,  # filled in by the caller, which made the keys
        "shingle": f"char {SHINGLE_SIZE}-gram (CJK) / word {SHINGLE_SIZE}-shingle (other)",
        **info,
        "seconds_exact": round(t1 - t0, 3),
        "seconds_near": round(time.perf_counter() - t1, 3),
    }
    return kept_pos, reasons, stats


def quarantine(rows: pl.DataFrame) -> pl.DataFrame:
    """Dropped rows in the quarantine schema, raw = JSON of question/answer."""
    cols = rows.columns

    def col(name: str, dtype: pl.DataType) -> pl.Expr:
        return (pl.col(name) if name in cols else pl.lit(None)).cast(dtype)

    return rows.select(
        col(schema.SOURCE, pl.String).alias(schema.SOURCE),
        col(schema.SOURCE_FILE, pl.String).alias(schema.SOURCE_FILE),
        col(schema.SOURCE_ROW, pl.Int64).alias(schema.SOURCE_ROW),
        pl.col(schema.REASON).cast(pl.String),
        pl.struct(
            col(schema.ID, pl.String).alias(schema.ID),
            col(schema.QUESTION, pl.String).alias(schema.QUESTION),
            col(schema.ANSWER, pl.String).alias(schema.ANSWER),
        ).struct.json_encode().alias(schema.RAW),
    )



def dedup(
    df: pl.DataFrame, *, near_threshold: float = NEAR_THRESHOLD, num_perm: int = NUM_PERM, seed: int = SEED
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Drop exact (question+answer) then near (question MinHash) duplicates of one in-memory frame;
    keep the best record. Kept and dropped rows come back in input order."""
    if not 0.0 < near_threshold <= 1.0:
        raise ValueError(f"near_threshold must be in (0, 1], got {near_threshold}")
    keys = row_keys(df, near_threshold=near_threshold, num_perm=num_perm, seed=seed)
    kept_pos, reasons, stats = decide(
        keys, lambda pos: digests(df[schema.QUESTION].gather(pos), num_perm=num_perm, seed=seed),
        near_threshold=near_threshold, num_perm=num_perm,
    )
    stats["seed"] = seed
    dropped = (df.select([c for c in QUARANTINE_INPUTS if c in df.columns]).gather(reasons[POS])
               .with_columns(reasons[schema.REASON]))
    return df.gather(kept_pos), quarantine(dropped), stats
