"""Time the `prepare` flow on a published-format medical-o1 file of N records (default 20,000).

    python -m bench.prepare_bench [--n 20000] [--real PATH]

Prints wall time per stage (from the task logs) and in total, and peak RSS. Runs in Prefect's
ephemeral mode; the first call includes the temporary server's start-up, reported separately.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def main() -> None:
    """Generate the file, run the flow twice (cold, warm), print figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--real", type=Path, help="also time a run on this real file")
    args = ap.parse_args()
    from bench.synth import medical_o1_records, write_json_array
    from flows.prepare import prepare

    work = Path(tempfile.mkdtemp(prefix="medprep-bench-"))
    try:
        raw = work / "raw"
        half = args.n // 2
        write_json_array(medical_o1_records(half, "en", seed=11), raw / "medical_o1_sft.json")
        write_json_array(medical_o1_records(args.n - half, "zh", seed=12), raw / "medical_o1_sft_Chinese.json")
        size = sum(p.stat().st_size for p in raw.iterdir())
        runs = [("synthetic", raw)]
        if args.real:
            real = work / "real"
            real.mkdir()
            shutil.copy(args.real, real / args.real.name)
            runs.append(("real", real))
        for label, folder in runs:
            for attempt in ("first", "second"):
                t0 = time.perf_counter()
                res = prepare(sources="medical-o1", download=False, raw_dir=str(folder), out_dir=str(work / f"out-{label}"))
                secs = time.perf_counter() - t0
                rep = res["sample"]
                print(f"{label} ({attempt} run): {secs:.1f}s; pool {rep['pool']:,} -> sample {rep['drawn']:,}"
                      + (f"; input {size / 1e6:.1f} MB, {args.n:,} records" if label == "synthetic" else ""))
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
