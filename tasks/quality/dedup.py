"""Exact and near-duplicate removal across and within sources (question + answer exact, MinHash
LSH on the question). Which record survives and why: ``docs/dedup.md``.
"""

from __future__ import annotations

import time

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
_RANK = "__dedup_rank"
_POS = "__dedup_pos"
# the columns ranking and matching read, and those a quarantine row keeps
_RANK_INPUTS = (schema.ID, schema.QUESTION, schema.ANSWER, schema.REASONING, schema.QUALITY_SCORE, schema.SOURCE,
                schema.SOURCE_FILE, schema.SOURCE_ROW)
_QUARANTINE_INPUTS = (schema.SOURCE, schema.SOURCE_FILE, schema.SOURCE_ROW, schema.ID, schema.QUESTION, schema.ANSWER)


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


def _near_duplicates(
    questions: pl.Series, *, threshold: float, num_perm: int, seed: int
) -> tuple[np.ndarray, dict]:
    """For rank-ordered questions: index of the kept row each one duplicates, or -1."""
    import rensa

    n = questions.len()
    dup_of = np.full(n, -1, dtype=np.int64)
    bands, rows = lsh_params(threshold, num_perm)
    info = {"lsh_bands": bands, "lsh_rows": rows, "near_candidates": 0, "near_pairs_verified": 0}
    if n < 2:
        return dup_of, info
    flat, offsets = _shingle_hashes_chunked(questions)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, num_perm, seed)
    lsh = rensa.RMinHashLSH(threshold, num_perm, bands)
    flagged = np.flatnonzero(np.asarray(lsh.query_duplicate_flags_matrix_one_shot(matrix), dtype=bool))
    info["near_candidates"] = int(flagged.size)
    if flagged.size < 2:
        return dup_of, info
    # Digests of the flagged rows only: recompute from their slice of the flat buffer, a slice of
    # rows at a time (rensa hands digests back as Python lists: ~40 bytes per value)
    digests = np.empty((flagged.size, num_perm), dtype=np.uint32)
    for lo in range(0, flagged.size, DIGEST_CHUNK):
        rows_ = flagged[lo : lo + DIGEST_CHUNK]
        starts, lengths = offsets[rows_], offsets[rows_ + 1] - offsets[rows_]
        sub_off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.uint64)
        gather = np.repeat(starts.astype(np.int64) - sub_off[:-1].astype(np.int64), lengths.astype(np.int64))
        sub_flat = flat[gather + np.arange(int(sub_off[-1]), dtype=np.int64)]
        sub = rensa.RMinHash.digest_matrix_from_flat_token_hashes(sub_flat, sub_off, num_perm, seed)
        digests[lo : lo + len(rows_)] = np.asarray(sub.to_rows(), dtype=np.uint32)

    # Candidate pairs (worse, better) from the same contiguous bands rensa uses; rows are in rank
    # order, so a smaller index is a better record. A band is keyed by a 64-bit mix of its rows
    # (a rare collision only adds a candidate, which verification then rejects).
    m = flagged.size
    idx = np.arange(m, dtype=np.int64)
    mult = (np.arange(rows, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    codes = []
    with np.errstate(over="ignore"):
        for b in range(bands):
            band = digests[:, b * rows : (b + 1) * rows].astype(np.uint64)
            key = (band * mult).sum(axis=1, dtype=np.uint64)
            key ^= key >> np.uint64(29)
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
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
        sim[lo : lo + len(part)] = (digests[part[:, 0]] == digests[part[:, 1]]).mean(axis=1)
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


def _ranked(df: pl.DataFrame) -> pl.DataFrame:
    """Input with a position column and the preference rank (0 = best), sorted by rank."""
    cols = df.columns

    def col(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(None, dtype=dtype)

    # Sort keys as temporary columns so an absent optional column broadcasts as nulls.
    keys = {
        "__k_no_reasoning": col(schema.REASONING, pl.String).is_null(),  # False (has reasoning) first
        "__k_quality": col(schema.QUALITY_SCORE, pl.Float64),
        "__k_answer_len": col(schema.ANSWER, pl.String).str.len_chars().fill_null(0),
        "__k_id": col(schema.ID, pl.String),
        "__k_source": col(schema.SOURCE, pl.String),
        "__k_file": col(schema.SOURCE_FILE, pl.String),
        "__k_row": col(schema.SOURCE_ROW, pl.Int64),
    }
    return (
        df.with_row_index(_POS)
        .with_columns(**keys)
        .sort(
            [*keys, _POS],
            descending=[False, True, True, False, False, False, False, False],
            nulls_last=True,
        )
        .drop(list(keys))
        .with_row_index(_RANK)
    )


def _quarantine(rows: pl.DataFrame) -> pl.DataFrame:
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
    df: pl.DataFrame, *, near_threshold: float = 0.9, num_perm: int = 128, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Drop exact (question+answer) then near (question MinHash) duplicates; keep the best record."""
    if not 0.0 < near_threshold <= 1.0:
        raise ValueError(f"near_threshold must be in (0, 1], got {near_threshold}")
    for c in (schema.ID, schema.QUESTION, schema.ANSWER):
        if c not in df.columns:
            raise ValueError(f"dedup needs column {c!r}")
    t0 = time.perf_counter()
    # Rank and compare on the key columns only: the other columns (reasoning, the largest) are
    # gathered once at the end, so no full copy of the pool is sorted or filtered on the way.
    narrow = [c for c in _RANK_INPUTS if c in df.columns]
    ranked = _ranked(df.select(narrow))
    # Unit separator between the parts: it cannot come out of normalise's whitespace collapse.
    key = pl.concat_str([normalise(pl.col(schema.QUESTION)), normalise(pl.col(schema.ANSWER))], separator="\x1f")
    ranked = ranked.with_columns(
        key.is_first_distinct().alias("__first"),
        pl.col(schema.ID).first().over(key).alias("__exact_of"),
    )
    exact_dropped = ranked.filter(~pl.col("__first")).select(
        _POS, pl.format("exact_duplicate_of:{}", pl.col("__exact_of")).alias(schema.REASON)
    )
    survivors = ranked.filter(pl.col("__first")).select(_POS, schema.ID, schema.QUESTION)  # still in rank order
    del ranked
    t1 = time.perf_counter()

    dup_idx, info = _near_duplicates(
        survivors[schema.QUESTION], threshold=near_threshold, num_perm=num_perm, seed=seed
    )
    ids = survivors[schema.ID]
    near_mask = pl.Series(dup_idx >= 0)
    near_of = pl.Series(np.where(dup_idx >= 0, dup_idx, 0)).cast(pl.UInt32)
    survivors = survivors.select(
        _POS, pl.when(near_mask).then(pl.format("near_duplicate_of:{}", ids.gather(near_of))).alias(schema.REASON)
    )
    near_dropped = survivors.filter(pl.col(schema.REASON).is_not_null())
    kept_pos = survivors.filter(pl.col(schema.REASON).is_null())[_POS].sort()
    t2 = time.perf_counter()

    reasons = pl.concat([exact_dropped, near_dropped]).sort(_POS)
    dropped = (df.select([c for c in _QUARANTINE_INPUTS if c in df.columns]).gather(reasons[_POS])
               .with_columns(reasons[schema.REASON]))
    kept = df.gather(kept_pos)
    exact_n, near_n = exact_dropped.height, near_dropped.height
    stats = {
        "input": df.height,
        "exact_dropped": exact_n,
        "near_dropped": near_n,
        "kept": kept.height,
        "near_threshold": near_threshold,
        "num_perm": num_perm,
        "seed": seed,
        "shingle": f"char {SHINGLE_SIZE}-gram (CJK) / word {SHINGLE_SIZE}-shingle (other)",
        **info,
        "seconds_exact": round(t1 - t0, 3),
        "seconds_near": round(t2 - t1, 3),
    }
    return kept, _quarantine(dropped), stats
