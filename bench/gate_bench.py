"""The Great Expectations gate on a pool (or sample) file: batched against whole, same results?

    python -m bench.gate_bench POOL.parquet [POOL2.parquet ...] [--stage pool] [--batch-rows N]

For each file, in separate processes (each its own peak RSS), the stage's suite runs

- ``whole``: the gate frame of the whole file, collected and converted to pandas at once, every
  per-row expectation run on it in one GE batch (``validate(..., batch_rows=None)``): what the
  gate did before it was batched;
- ``batched``: the file itself, read and validated in batches of ``--batch-rows`` records
  (``validate(path)``, what ``run_gate`` does);

and prints wall, CPU seconds and peak RSS of each (GE's import apart: ``base`` is the RSS after
importing it), then compares the result rows (success flags, unexpected counts, observed values,
examples) and says whether they are identical. Data Docs are built in both, as the flow does.
Figures are printed, never asserted; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _child(mode: str, path: str, stage: str, batch_rows: int) -> dict:
    import great_expectations  # noqa: F401  (imported before the base RSS is read)
    import polars as pl

    from bench.refresh_bench import RssPeak
    from expectations import prepare as suite_mod
    from tasks.quality.gate import gate_frame, validate

    rss = RssPeak()
    base = rss.take()
    suite, exps = suite_mod.SUITES[stage], suite_mod.expectations(stage)
    cpu0, t0 = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as docs:
        if mode == "whole":
            rows, _ = validate(gate_frame(pl.scan_parquet(path)), suite, exps, docs_dir=docs, batch_rows=None)
        else:
            rows, _ = validate(path, suite, exps, docs_dir=docs, batch_rows=batch_rows)
    return {"mode": mode, "seconds": round(time.perf_counter() - t0, 2), "cpu": round(time.process_time() - cpu0, 2),
            "base_mb": round(base), "peak_mb": round(max(rss.take(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)),
            "rows": rows}


def _run(mode: str, path: str, stage: str, batch_rows: int) -> dict:
    res = subprocess.run([sys.executable, "-m", "bench.gate_bench", path, "--stage", stage, "--batch-rows", str(batch_rows),
                          "--child", mode], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode or not lines:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
        raise SystemExit(f"{mode} failed (exit {res.returncode})")
    return json.loads(lines[-1][7:])


def main() -> None:
    from tasks.quality.gate import BATCH_ROWS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--stage", default="pool", choices=["pool", "sample"])
    ap.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    ap.add_argument("--modes", default="whole,batched")
    ap.add_argument("--child", choices=["whole", "batched"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(_child(args.child, args.paths[0], args.stage, args.batch_rows), default=str))
        return
    import polars as pl

    for path in args.paths:
        n = pl.scan_parquet(path).select(pl.len()).collect().item()
        print(f"== {path}: {n:,} records, stage {args.stage}, batches of {args.batch_rows:,}; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        out = {}
        for mode in args.modes.split(","):
            r = out[mode] = _run(mode, path, args.stage, args.batch_rows)
            print(f"  {mode:<8} wall {r['seconds']:>6.2f} s  cpu {r['cpu']:>6.2f} s  peak RSS {r['peak_mb']:>6,} MiB "
                  f"(base {r['base_mb']:,} after importing GE; +{r['peak_mb'] - r['base_mb']:,})  "
                  f"{sum(x['success'] for x in r['rows'])}/{len(r['rows'])} passed; load {os.getloadavg()[0]:.1f}",
                  flush=True)
        if len(out) == 2:
            a, b = out["whole"]["rows"], out["batched"]["rows"]
            diff = [(x["expectation"], x["column"], k, x[k], y[k]) for x, y in zip(a, b) for k in x if x[k] != y[k]]
            print("  results identical (success, counts, observed values, examples)" if not diff and len(a) == len(b)
                  else f"  results DIFFER: {diff[:10]}")


if __name__ == "__main__":
    main()
