"""Benchmark the RL export and the reward on synthetic contract-shaped data.

    PYTHONPATH=. python bench/rl_export.py [--scale 1500] [--reward-samples 20000]

``--scale`` repeats the sample records (7 train + 2 val each), so 1500 → 10,500 train rows, the
top of the 2,000–10,000 range DESIGN.md targets. Prints seconds for the export and for scoring
responses with ``compute_score``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tasks.export.rl import reward as R
from tasks.export.rl.export import run_export
from tests.support.rl_sample import write_processed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1500)
    ap.add_argument("--reward-samples", type=int, default=20000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_processed(tmp / "p", scale=args.scale)
        t0 = time.perf_counter()
        summary = run_export(tmp / "p", tmp / "rl")
        t1 = time.perf_counter()
        print(f"export: {summary['splits']['train']['input_rows'] + summary['splits']['val']['input_rows']} input rows -> "
              f"{summary['rows']} rows in {t1 - t0:.2f} s")
        for fmt, splits in summary["exports"].items():
            size = sum((tmp / "rl" / s["path"]).stat().st_size for s in splits.values())
            print(f"  {fmt}: {size / 1e6:.2f} MB")
    cases = [
        ("<think>\nLow reticulocytes suggest aplastic crisis.\n</think>\n\nD. Parvovirus B19 infection", "D"),
        ("<think>\n咽痛后游走性关节痛。\n</think>\n\n最可能的诊断是风湿热。", "风湿热"),
        ("<think>\nradial nerve in spiral groove\n</think>\n\nThe radial nerve is injured.", "Radial nerve"),
        ("no think block at all", "D"),
    ]
    n = args.reward_samples
    t0 = time.perf_counter()
    for i in range(n):
        resp, gt = cases[i % len(cases)]
        R.compute_score("bench", resp, gt)
    dt = time.perf_counter() - t0
    print(f"reward: {n} compute_score calls in {dt:.2f} s ({n / dt:,.0f}/s)")


if __name__ == "__main__":
    main()
