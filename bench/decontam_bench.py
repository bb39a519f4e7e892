"""Decontamination benchmark: a 900k-record pool against 50k benchmark questions (target <= 10 s).

Usage: python bench/decontam_bench.py [--pool N] [--bench N] [--planted N] [--seed S]

The pool has the mix of a full refresh (85 % Chinese dialogue questions of 30-200 characters,
15 % English vignettes of 40-160 words); the benchmark half English (MedQA-like, 20-150 words),
half Chinese (CMB-like, 20-120 characters). Text is random draws from a word list / the common
CJK block, dressed like real text: capitals and punctuation (ASCII and fullwidth), exam
boilerplate shared by pool and benchmark (half of the English questions end with "Which of the
following is the most likely diagnosis?", a third of the Chinese ones with "以下哪项是最可能的诊断？",
pool dialogue openers "医生您好，"), and 5 % of records with characters that need Unicode
normalisation (°C, µg, fullwidth digits). Benchmark questions start at 8 words / 10
characters, so some are short and matched whole. ``--planted`` pool records carry a 25-word or
30-character slice (or the whole short question) of a benchmark question inside other text; the figures printed are how many of
those were found and how many other records were flagged. Prints wall and CPU seconds per step
(CPU summed over threads); no assertions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYLLABLES = ["ka", "ro", "mi", "te", "su", "lan", "dor", "vi", "pe", "qua", "zen", "hol", "ti", "mar", "gu", "sen"]


def _words(rng: np.random.Generator, vocab: np.ndarray, rows: int, lo: int, hi: int) -> pl.Series:
    lens = rng.integers(lo, hi + 1, rows)
    flat = vocab[rng.integers(0, vocab.size, int(lens.sum()))]
    offsets = np.concatenate([[0], np.cumsum(lens)])
    lists = pl.Series(flat).to_frame("w").with_columns(pl.Series("r", np.repeat(np.arange(rows), lens)))
    del offsets
    return lists.group_by("r", maintain_order=True).agg(pl.col("w").str.join(" "))["w"]


def _chars(rng: np.random.Generator, rows: int, lo: int, hi: int) -> pl.Series:
    width = hi
    cps = rng.integers(0x4E00, 0x4E00 + 3500, (rows, width), dtype=np.uint32)
    full = pl.Series(np.ascontiguousarray(cps).view(f"<U{width}").ravel())
    lens = pl.Series(rng.integers(lo, hi + 1, rows))
    return full.to_frame("q").select(pl.col("q").str.slice(0, lens))["q"]


def make(pool_rows: int, bench_rows: int, planted: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(pool frame with id/question, benchmark frame with benchmark/item_id/file/question)."""
    rng = np.random.default_rng(seed)
    vocab = np.array(["".join(rng.choice(SYLLABLES, rng.integers(2, 5))) for _ in range(20_000)])
    zh_n = int(pool_rows * 0.85)
    pool_q = pl.concat([_chars(rng, zh_n, 30, 200), _words(rng, vocab, pool_rows - zh_n, 40, 160)])
    half = bench_rows // 2
    # from 8 words / 10 characters: the short ones (below 13 / 20) are matched whole
    bench_q = pl.concat([_words(rng, vocab, half, 8, 150), _chars(rng, bench_rows - half, 10, 120)])
    pool_q, bench_q = _dress(rng, pool_q, zh_n, pool=True), _dress(rng, bench_q, half, pool=False)
    bench = pl.DataFrame({"benchmark": ["medqa-usmle"] * half + ["cmb"] * (bench_rows - half),
                          "item_id": [f"q{i}" for i in range(bench_rows)], "file": "synthetic",
                          "question": bench_q})
    # planted: a slice of a benchmark question inside another pool record
    # English slices into English records, Chinese into Chinese (mixed-script records: see docs)
    src = rng.integers(0, bench_rows, planted)
    dst = np.where(src < half, rng.choice(np.arange(zh_n, pool_rows), planted, replace=False),
                   rng.choice(zh_n, planted, replace=False))
    sl = bench_q.gather(src).to_frame("b").select(
        pl.when(pl.col("b").str.contains(" ")).then(pl.col("b").str.split(" ").list.slice(0, 25).list.join(" "))
        .otherwise(pl.col("b").str.slice(0, 30)))["b"]
    host = pool_q.gather(dst)
    planted_q = (pl.DataFrame({"h": host, "s": sl}).select(pl.concat_str([pl.col("h").str.slice(0, 20), pl.lit(" "), "s", pl.lit(" "), pl.col("h").str.slice(20)]))).to_series()
    pool_q = pool_q.scatter(dst, planted_q)
    pool = pl.DataFrame({"id": [f"p{i}" for i in range(pool_rows)], "question": pool_q, "answer": "a"})
    return pool, bench, dst


def _dress(rng: np.random.Generator, q: pl.Series, split: int, *, pool: bool) -> pl.Series:
    """Capitals, punctuation, boilerplate and a few characters that need NFKC, vectorised; rows
    before ``split`` are Chinese in the pool and English in the benchmark."""
    n = q.len()
    idx = np.arange(n)
    zh = idx < split if pool else idx >= split
    r = rng.random((4, n))
    f = pl.DataFrame({"q": q, "zh": zh, "a": r[0], "b": r[1], "c": r[2]})
    en_q = (pl.col("q").str.slice(0, 1).str.to_uppercase() + pl.col("q").str.slice(1)
            ).str.replace(r"^(\S+ \S+ \S+ \S+)", "$1,")
    en_q = pl.when(pl.col("a") < 0.5).then(en_q + ". Which of the following is the most likely diagnosis?").otherwise(en_q + "?")
    zh_q = pl.col("q").str.replace(r"^(.{12})", "$1，")
    zh_q = pl.when(pl.col("a") < 0.33).then(zh_q + "，以下哪项是最可能的诊断？").otherwise(zh_q + "。")
    if pool:
        zh_q = pl.when(pl.col("b") < 0.5).then("医生您好，" + zh_q).otherwise(zh_q)
    out = pl.when(pl.col("zh")).then(zh_q).otherwise(en_q)
    zh_sp = pl.when(pl.col("c") < 0.03).then(pl.lit("体温39°C")).when(pl.col("c") < 0.05).then(pl.lit("剂量５ｍｇ"))
    en_sp = pl.when(pl.col("c") < 0.03).then(pl.lit("Temperature 39°C. ")).when(pl.col("c") < 0.05).then(pl.lit("Dose 5 µg/kg. "))
    special = pl.when(pl.col("zh")).then(zh_sp.otherwise(pl.lit(""))).otherwise(en_sp.otherwise(pl.lit("")))
    return f.select((special + out).alias("q"))["q"]  # in front: not glued to the boilerplate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pool", type=int, default=900_000)
    ap.add_argument("--bench", type=int, default=50_000)
    ap.add_argument("--planted", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from tasks.quality.decontam import build_index, contamination

    t = time.perf_counter()
    pool, bench, planted = make(args.pool, args.bench, args.planted, args.seed)
    print(f"generated pool {pool.height:,} ({pool['question'].str.len_bytes().sum() / 1e6:.0f} MB of questions), "
          f"benchmark {bench.height:,} questions in {time.perf_counter() - t:.1f}s")
    t0, c0 = time.perf_counter(), time.process_time()
    index = build_index(bench)
    t1, c1 = time.perf_counter(), time.process_time()
    kept, bad, hits = contamination(pool, index)
    t2, c2 = time.perf_counter(), time.process_time()
    found = bad["id"].str.slice(1).cast(pl.Int64).is_in(planted.tolist()).sum()
    print(f"index: {t1 - t0:.2f}s wall, {c1 - c0:.2f}s CPU ({index.hashes.size:,} benchmark n-grams, "
          f"{index.whole.size:,} whole short questions, {index.cand.size:,} stage-A grams)")
    print(f"match: {t2 - t1:.2f}s wall, {c2 - c1:.2f}s CPU over {pool.height:,} pool records")
    print(f"decontamination total: {t2 - t0:.2f}s wall, {c2 - c0:.2f}s CPU (target <= 10 s wall at 900k x 50k); "
          f"contaminated {bad.height:,}, planted found {found:,} / {len(planted):,}, others flagged {bad.height - found:,}")


if __name__ == "__main__":
    main()
