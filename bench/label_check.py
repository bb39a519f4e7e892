"""Label equality check: old vs new labeller outputs on the dev eval files and a bench corpus.

Usage:
  python bench/label_check.py --against REF [--rows 90000]  # old engine (git REF) vs this checkout
  python bench/label_check.py --save DIR [--rows 90000]     # write the current labeller's outputs
  python bench/label_check.py --compare DIR [--rows 90000]  # compare the current labeller with DIR
``--against`` exports REF (``git archive``) to a temporary directory, copies THIS checkout's
lexicons, model file and input files over it, runs ``--save`` there and ``--compare`` here: only
the engine differs (the rules and weights being changed by other work in the meantime do not
count as differences). ``--save`` / ``--compare`` by hand compare whatever the two checkouts hold.
Inputs: the dev split (eval/risk/data/dev_*.jsonl; never the test files) and
``label_bench.real_frame(rows)``.
Outputs compared: risk_level, risk_reasons, specialty of ``labels.label``, ``label_risk`` and
``label_specialty`` (each run on its own). Prints the number of differing rows; exit 1 if any.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
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


# What --against copies from this checkout over the old engine: the rules, the weights, the inputs.
_SHARED = ["tasks/quality/lexicons", "tasks/quality/models", "tests/data/risk_eval.jsonl"]


def _save_against(ref: str, rows: int, out: Path) -> None:
    """Export ``ref``, give it this checkout's lexicons, model and inputs, save its labels to ``out``."""
    with tempfile.TemporaryDirectory(prefix="label_check_") as tmp:
        old = Path(tmp) / "old"
        tar = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
            tf.extractall(old, filter="data")
        for rel in _SHARED:
            src, dst = REPO / rel, old / rel
            if src.is_dir():
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst)
            elif src.is_file():
                shutil.copy2(src, dst)
        for f in (old / "eval" / "risk" / "data").glob("dev_*.jsonl"):
            f.unlink()
        for f in (REPO / "eval" / "risk" / "data").glob("dev_*.jsonl"):
            shutil.copy2(f, old / "eval" / "risk" / "data" / f.name)
        subprocess.run([sys.executable, "bench/label_check.py", "--save", str(out), "--rows", str(rows)],
                       cwd=old, check=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--compare", type=Path)
    g.add_argument("--against", metavar="REF", help="git ref of the old engine (e.g. main)")
    ap.add_argument("--rows", type=int, default=90_000)
    args = ap.parse_args()
    if args.against:
        with tempfile.TemporaryDirectory(prefix="label_check_out_") as out:
            _save_against(args.against, args.rows, Path(out))
            print(f"old engine: {args.against}; lexicons, model and inputs: this checkout")
            return _run(argparse.Namespace(save=None, compare=Path(out), rows=args.rows))
    return _run(args)


def _run(args: argparse.Namespace) -> int:
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
