"""chinese-dialogue parse benchmark: a generated GB18030 CSV, streamed vs read whole.

    python -m bench.parse_bench [--n 200000] [--file /tmp/medprep-bench/内科-200k.csv]

Each mode runs in a fresh child process so its peak RSS (ru_maxrss) is its own. "stream" is the
path the parse-file task runs (tasks.ingest.parse.write_parsed): decode GB18030 in chunks -> pyarrow's
streaming CSV reader -> parse + shared tail per batch -> Parquet row groups; "whole" builds the
full frame first (tasks.ingest.parse.parse_to_frames, used by `medprep sources`). Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def run_mode(mode: str, path: Path, out: Path) -> dict:
    """Parse ``path`` as chinese-dialogue in this process with the pipeline's own code; returns figures."""
    from tasks.ingest.parse import parse_to_frames, write_parsed

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if mode == "stream":  # what the parse-file task runs
        rows, bad = write_parsed("chinese-dialogue", str(path), path.name, out)
    else:
        good, bad = parse_to_frames("chinese-dialogue", str(path), path.name)
        good.write_parquet(out, compression="snappy")
        rows = good.height
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(out)
    return {
        "mode": mode, "rows": rows, "quarantined": bad.height, "batches": pf.num_row_groups, "seconds": round(secs, 2),
        "rows_per_s": round((rows + bad.height) / secs), "mb_per_s": round(path.stat().st_size / 1e6 / secs, 1),
        "peak_rss_mb": round(peak / 1024), "rss_before_parse_mb": round(base / 1024), "parquet_rows": pf.metadata.num_rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--file", type=Path, default=Path("/tmp/medprep-bench/内科-200k.csv"))
    ap.add_argument("--modes", default="stream,whole")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_mode(args.child[0], args.file, Path(args.child[1]))))
        return
    if not args.file.exists():
        from bench.synth_sources import write_big_dialogue

        t0 = time.perf_counter()
        write_big_dialogue(args.file, args.n)
        print(f"generated {args.n} rows in {time.perf_counter() - t0:.1f}s")
    size = args.file.stat().st_size
    print(f"file: {args.file} ({size / 1e6:.1f} MB, GB18030)")
    for mode in args.modes.split(","):
        out = args.file.with_suffix(f".{mode}.parquet")
        res = subprocess.run(
            [sys.executable, "-m", "bench.parse_bench", "--file", str(args.file), "--child", mode, str(out)],
            capture_output=True, text=True, check=True,
        )
        fig = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"{mode:6s}: {fig['rows']} rows (+{fig['quarantined']} quarantined) in {fig['seconds']}s = "
            f"{fig['rows_per_s']:,} rows/s, {fig['mb_per_s']} MB/s; peak RSS {fig['peak_rss_mb']} MB "
            f"(imports {fig['rss_before_parse_mb']} MB) = {fig['peak_rss_mb'] / (size / 1e6):.2f}x file; "
            f"{fig['batches']} batches"
        )


if __name__ == "__main__":
    main()
