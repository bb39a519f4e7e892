"""Labelling benchmark: label_risk and label_specialty on a synthetic 300k-row zh/en frame.

Usage: python bench/label_bench.py [--rows N]
Prints seconds and rows/s per step, and the cost of the OpenCC step on its own. No assertions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_bench import synthetic_frame

from tasks.core.text import normalise  # noqa: E402


def _timed(label: str, rows: int, fn):
    t = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t
    print(f"{label:<34} {sec:6.2f}s  {rows / sec:>12,.0f} rows/s")
    return out


def main() -> None:
    """Run each step once and print timings."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    args = ap.parse_args()
    from tasks.core import schema
    from tasks.quality import labels

    df = synthetic_frame(args.rows, 0, exact_frac=0.0, near_frac=0.0)
    n = df.height
    cjk = df.filter(pl.col(schema.QUESTION).str.contains(labels.CJK_PATTERN))[schema.QUESTION].n_unique()
    print(f"{n} rows, {cjk} unique CJK questions")
    norm_only = pl.col(schema.QUESTION).fill_null("").str.normalize("NFKC").str.to_lowercase()
    _timed("NFKC + lowercase", n, lambda: df.select(norm_only))
    _timed("NFKC + lowercase + OpenCC t2s", n, lambda: df.select(normalise(pl.col(schema.QUESTION), simplified=True)))
    out = _timed("label_risk", n, lambda: labels.label_risk(df.lazy()).collect())
    _timed("label_specialty", n, lambda: labels.label_specialty(df.lazy()).collect())
    print(out[schema.RISK_LEVEL].value_counts().sort(schema.RISK_LEVEL).rows())


if __name__ == "__main__":
    main()
