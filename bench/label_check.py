"""Label equality check: old vs new labeller outputs on the dev eval files and a bench corpus.

Usage:
  python bench/label_check.py --save DIR [--rows 90000]     # write the current labeller's outputs
  python bench/label_check.py --compare DIR [--rows 90000]  # compare the current labeller with DIR
Run ``--save`` on the old code (e.g. a checkout of main), ``--compare`` on the new. Inputs: the dev
split (eval/risk/data/dev_*.jsonl; never the test files) and ``label_bench.real_frame(rows)``.
Outputs compared: risk_level, risk_reasons, specialty of ``labels.label``, ``label_risk`` and
``label_specialty`` (each run on its own). Prints the number of differing rows; exit 1 if any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def _frames(rows: int) -> dict[str, pl.DataFrame]:
    from label_bench import real_frame

    dev = pl.concat([
        pl.read_ndjson(f, infer_schema_length=None).select("question")
        for f in sorted((REPO / "eval" / "risk" / "data").glob("dev_*.jsonl"))
    ]).with_columns(pl.lit(None, dtype=pl.String).alias("specialty"))
    return {"dev": dev, "bench": real_frame(rows)}


def _outputs(df: pl.DataFrame) -> dict[str, pl.DataFrame]:
    from tasks.quality import labels

    cols = ["risk_level", "risk_reasons", "specialty"]
    return {
        "label": labels.label(df.lazy()).collect().select(cols),
        "label_risk": labels.label_risk(df.lazy()).collect().select(cols[:2]),
        "label_specialty": labels.label_specialty(df.lazy()).collect().select(cols[2]),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--compare", type=Path)
    ap.add_argument("--rows", type=int, default=90_000)
    args = ap.parse_args()
    bad = 0
    for name, df in _frames(args.rows).items():
        for fn, out in _outputs(df).items():
            path = (args.save or args.compare) / f"{name}_{fn}.parquet"
            if args.save:
                path.parent.mkdir(parents=True, exist_ok=True)
                out.write_parquet(path)
                print(f"saved {path} ({out.height} rows)")
                continue
            old = pl.read_parquet(path)
            diff = sum(int((~old[c].eq_missing(out[c])).sum()) for c in out.columns) if old.height == out.height else -1
            print(f"{name:<6} {fn:<16} {out.height:>7} rows  differing cells: {diff}")
            bad += diff != 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
