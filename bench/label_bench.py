"""Labelling benchmark: risk + specialty labels over N rows of real-length questions.

Usage: python bench/label_bench.py [--rows 900000] [--synthetic]
The rows are the questions of the labelled dev split (eval/risk/data/dev_*.jsonl: patient questions,
exam vignettes, flattened dialogues) and tests/data/risk_eval.jsonl, tiled to N rows with a row
number appended so every string is unique (no OpenCC or regex work is shared between copies).
--synthetic uses the short synthetic zh/en questions of bench/dedup_bench.py instead.
Prints seconds and rows/s per step (label_specialty, label_risk and its two parts, both as the pool
runs them: ``labels.label``, one model hashing pass).
No assertions; run it on an otherwise idle machine (POLARS_MAX_THREADS sets the cores used); the
process CPU seconds printed beside the wall time compare runs on a busy machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def _timed(label: str, rows: int, fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    sec, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"{label:<40} {sec:6.2f}s  {rows / sec:>12,.0f} rows/s  cpu {cpu:6.2f}s")
    return out


def real_frame(rows: int) -> pl.DataFrame:
    """The eval questions tiled to ``rows`` unique strings."""
    files = sorted((REPO / "eval" / "risk" / "data").glob("dev_*.jsonl")) + [REPO / "tests" / "data" / "risk_eval.jsonl"]
    qs = pl.concat([pl.read_ndjson(f, infer_schema_length=None).select("question") for f in files if f.is_file()])
    reps = -(-rows // qs.height)
    return (
        pl.concat([qs] * reps).head(rows).with_row_index("i")
        .select(pl.format("r{}", "i").alias("id"), pl.format("{} #{}", "question", "i").alias("question"),
                pl.lit(None, dtype=pl.String).alias("specialty"))
    )


def main() -> None:
    """Run each step once and print timings."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=900_000)
    ap.add_argument("--synthetic", action="store_true")
    args = ap.parse_args()
    from tasks.core import schema
    from tasks.quality import labels, risk_model

    if args.synthetic:
        from dedup_bench import synthetic_frame

        df = synthetic_frame(args.rows, 0, exact_frac=0.0, near_frac=0.0).with_columns(
            pl.lit(None, dtype=pl.String).alias(schema.SPECIALTY))
    else:
        df = real_frame(args.rows)
    n = df.height
    mean_len = df[schema.QUESTION].str.len_chars().mean()
    print(f"{n:,} rows, mean question length {mean_len:.0f} chars; labeller {labels.RISK_VERSION} / "
          f"{labels.SPECIALTY_VERSION}; {pl.thread_pool_size()} Polars threads")
    _timed("label_specialty", n, lambda: labels.label_specialty(df.lazy()).collect())
    _timed("label_risk", n, lambda: labels.label_risk(df.lazy()).collect())
    _timed("  part: rules (label_risk_rules)", n, lambda: labels.label_risk_rules(df.lazy()).collect())
    _timed("  part: model n-gram scores, both heads", n, lambda: risk_model.scores(df[schema.QUESTION]))
    out = _timed("both (as tasks.quality.pool.label)", n,
                 lambda: labels.label(df.lazy()).collect())
    print(out[schema.RISK_LEVEL].value_counts().sort(schema.RISK_LEVEL).rows())


if __name__ == "__main__":
    main()
