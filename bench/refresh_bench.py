"""A full refresh (`prepare all --offline`) against its floor and a naive row-wise baseline.

    python -m bench.refresh_bench [--scales 0.1,0.3,1] [--keep DIR] [--skip-naive] [--naive-max-scale 0.1]

Per scale (1 = 925k records, the composition of issue 16's measurement: four medical-o1 JSON
arrays of 22,500, the verifiable problems (40,000), delicate-medical JSONL (2,400), six GB18030
chinese-dialogue CSVs of 132,100 rows with quoted newlines and bare-quote rows), it writes the
corpus (seeded: same scale, same bytes), then runs in separate processes, each with its own
peak RSS:

- ``prepare``: the flow on a cold Prefect home, per stage wall, rows/s and the peak RSS reached
  by the end of each stage; Prefect's start-up (ephemeral server + flow run) apart; then a rerun
  with unchanged inputs (served from the task cache);
- ``floor``: read every input with the fastest correct readers (Polars for JSON / JSONL,
  pyarrow's CSV reader after transcoding GB18030), write the pool as Parquet and a 5,000-record
  sample as JSONL; nothing else;
- ``naive``: the same steps row by row (bench/naive_refresh.py): ``json`` / ``csv`` reading into
  dicts, the same quarantine rules, the same lexicon rules with Python ``re`` and the same model
  file scored one row at a time, exact + MinHash LSH near dedup per row (datasketch-style, same
  parameters), the pool gate on the whole pool through pandas, the same sample size and
  processed/quarantine JSONL written with ``json.dumps`` per row. It runs up to
  ``--naive-max-scale`` (default 0.1: ~5 min); larger scales print it extrapolated linearly from
  the largest measured one, marked as such. How close its outputs are to the product's is printed
  (pool sizes, share of identical risk and specialty labels by id).

Ratios per stage: the product against the floor where the floor has the stage (parse = read,
sample+write = write) and the naive run against the product, then in total.

The generator starts from bench/synth.py and bench/synth_sources.py's records and lengthens each
text with seeded random filler to realistic lengths (medical-o1: ~300-char questions, ~1,500-char
reasoning; dialogue asks ~100 chars), so the records are not templated near-duplicates of each
other; 2.5 % exact and 1.5 % near duplicates are planted. Figures are printed, never asserted.
The machine's load average is printed with them: on a shared machine, say under what load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

REPO = Path(__file__).resolve().parents[1]
SIZES = {"medical-o1": 22_500, "medical-o1-verifiable": 40_000, "delicate-medical": 2_400, "chinese-dialogue": 132_100}
DIALOGUE_FILES = ["IM_内科/内科5000-33000.csv", "Pediatric_儿科/儿科5-14000.csv", "OAGD_妇产科/妇产科6-28000.csv",
                  "Surgical_外科/外科5-14000.csv", "Oncology_肿瘤科/肿瘤科5-10000.csv", "Andriatria_男科/男科5-13000.csv"]
EXACT_DUP, NEAR_DUP = 0.025, 0.015
SAMPLE = 5_000


# --------------------------------------------------------------------------------------------
# corpus

class Filler:
    """Seeded random text: Chinese characters or English words from the generators' own text."""

    def __init__(self, seed: int) -> None:
        import re

        import numpy as np

        from bench import synth
        from bench import synth_sources as ss

        src = Path(synth.__file__).read_text(encoding="utf-8") + Path(ss.__file__).read_text(encoding="utf-8")
        self.zh = np.array(sorted(set(re.findall(r"[\u4e00-\u9fff]", src))))
        self.en = np.array(sorted({w.lower() for w in re.findall(r"[A-Za-z]{3,}", src)}))
        self.rng = np.random.default_rng(seed)

    def zh_texts(self, n: int, mean: int) -> list[str]:
        lens = self.rng.integers(mean // 2, mean * 3 // 2 + 1, size=n)
        big = "".join(self.zh[self.rng.integers(0, len(self.zh), size=int(lens.sum()))])
        ends = lens.cumsum()
        return [big[e - k:e] for e, k in zip(ends.tolist(), lens.tolist())]

    def en_texts(self, n: int, mean_words: int) -> list[str]:
        lens = self.rng.integers(mean_words // 2, mean_words * 3 // 2 + 1, size=n)
        words = self.en[self.rng.integers(0, len(self.en), size=int(lens.sum()))].tolist()
        out, i = [], 0
        for k in lens.tolist():
            out.append(" ".join(words[i:i + k]))
            i += k
        return out


def _plant_duplicates(records: list, rng, near) -> list:
    """Replace 2.5 % of the records by exact copies and 1.5 % by near copies of earlier ones."""
    n = len(records)
    out = list(records)
    for i in range(1, n):
        r = rng.random()
        if r < EXACT_DUP:
            out[i] = out[rng.randrange(i)]
        elif r < EXACT_DUP + NEAR_DUP:
            out[i] = near(out[rng.randrange(i)])
    return out


def write_corpus(raw: Path, scale: float, seed: int = 16) -> dict[str, int]:
    """The published-format files under ``raw`` at ``scale``; returns records written per source."""
    import random

    from bench import synth
    from bench import synth_sources as ss

    fill = Filler(seed)
    rng = random.Random(seed)
    n = {k: max(1, round(v * scale)) for k, v in SIZES.items()}

    def lengthen_o1(recs: list[dict], lang: str) -> list[dict]:
        k = len(recs)
        if lang == "zh":
            q, c, r = fill.zh_texts(k, 220), fill.zh_texts(k, 1200), fill.zh_texts(k, 450)
        else:
            q, c, r = fill.en_texts(k, 45), fill.en_texts(k, 230), fill.en_texts(k, 80)
        return [{**x, "Question": f"{x['Question']} {a}", "Complex_CoT": f"{x['Complex_CoT']}\n{b}",
                 "Response": f"{x['Response']}\n{d}"} for x, a, b, d in zip(recs, q, c, r)]

    def near_o1(x: dict) -> dict:
        return {**x, "Question": x["Question"] + "。", "Response": x["Response"] + " "}

    files = {"medical_o1_sft.json": ("en", 31), "medical_o1_sft_Chinese.json": ("zh", 32),
             "medical_o1_sft_mix.json": ("en", 33), "medical_o1_sft_mix_Chinese.json": ("zh", 34)}
    for name, (lang, s) in files.items():
        recs = lengthen_o1(synth.medical_o1_records(n["medical-o1"], lang, seed=s), lang)
        synth.write_json_array(_plant_duplicates(recs, rng, near_o1), raw / name)

    ver = ss.verifiable_records(n["medical-o1-verifiable"], seed=35)
    tails = fill.zh_texts(len(ver), 60)
    ver = [{**x, "Open-ended Verifiable Question": f"{x['Open-ended Verifiable Question']}{t}"} for x, t in zip(ver, tails)]
    ss.write_json_array(_plant_duplicates(ver, rng, lambda x: {**x, "Ground-True Answer": x["Ground-True Answer"] + "。"}),
                        raw / "medical_o1_verifiable_problem.json")

    deli = ss.delicate_records(n["delicate-medical"], seed=36)
    q, t, a = fill.zh_texts(len(deli), 120), fill.zh_texts(len(deli), 900), fill.zh_texts(len(deli), 400)
    deli = [{**x, "question": x["question"] + y, "think": x["think"] + z, "answer": x["answer"] + w}
            for x, y, z, w in zip(deli, q, t, a)]
    ss.write_jsonl(_plant_duplicates(deli, rng, lambda x: {**x, "answer": x["answer"] + "。"}), raw / "r1_data_example.jsonl")

    for k, rel in enumerate(DIALOGUE_FILES):
        path = raw / "chinese-dialogue" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        total = n["chinese-dialogue"]
        with open(path, "wb") as fh:
            for start in range(0, total, 20_000):
                rows = ss.dialogue_rows(min(20_000, total - start), None, 40 + k + start)
                asks, answers = fill.zh_texts(len(rows), 70), fill.zh_texts(len(rows), 110)
                rows = [{**r, "ask": (r["ask"] + a) if r["ask"] != "无" else r["ask"],
                         "title": r["title"] + a[:8] if r["ask"] == "无" else r["title"], "answer": r["answer"] + b}
                        for r, a, b in zip(rows, asks, answers)]
                rows = _plant_duplicates(rows, rng, lambda r: {**r, "answer": r["answer"] + "。"})
                part = ss.dialogue_csv_bytes(rows, bare_quote_every=2_500)
                fh.write(part if start == 0 else part.split(b"\n", 1)[1])
    return {"medical-o1": 4 * n["medical-o1"], "medical-o1-verifiable": n["medical-o1-verifiable"],
            "delicate-medical": n["delicate-medical"], "chinese-dialogue": 6 * n["chinese-dialogue"]}


# --------------------------------------------------------------------------------------------
# measuring

class RssPeak:
    """Peak resident set size of this process, sampled every 20 ms; ``take()`` returns the peak
    since the last call (MiB, like ru_maxrss / 1024), so each stage gets its own peak."""

    def __init__(self) -> None:
        self.peak = self.current()
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    @staticmethod
    def current() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self.current())
            time.sleep(0.02)

    def take(self) -> float:
        out, self.peak = max(self.peak, self.current()), self.current()
        return out


def run_prepare(raw: Path, out: Path) -> dict:
    """Both runs of the flow in this process (thread runner); stage marks from report.Progress."""
    from tasks.core import report

    rss = RssPeak()
    marks: list[tuple[str, float, float]] = []
    orig_init, orig_step = report.Progress.__init__, report.Progress.step

    def init(self, *a, **kw):
        marks.append(("start-up", time.perf_counter(), rss.take(), time.process_time()))
        orig_init(self, *a, **kw)

    def step(self, stage, detail=""):
        marks.append((stage, time.perf_counter(), rss.take(), time.process_time()))
        orig_step(self, stage, detail)

    report.Progress.__init__, report.Progress.step = init, step
    from flows.prepare import prepare

    result = {}
    for attempt in ("cold", "rerun"):
        marks.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        res = prepare(sources="all", download=False, raw_dir=str(raw), out_dir=str(out), sample_size=SAMPLE)
        end, c_end = time.perf_counter(), time.process_time()
        stages, prev, prev_c = [], t0, c0
        # cpu: this process's CPU seconds (all its threads; Prefect's ephemeral server is another
        # process): on a shared machine the fairer measure beside wall time
        for name, t, peak, c in marks + [("flow exit", end, rss.take(), c_end)]:
            stages.append({"stage": name, "seconds": round(t - prev, 2), "cpu": round(c - prev_c, 2),
                           "peak_rss_mb": round(peak)})
            prev, prev_c = t, c
        result[attempt] = {"seconds": round(end - t0, 2), "cpu_seconds": round(c_end - c0, 2), "stages": stages,
                           "pool": res["sample"]["pool"],
                           "drawn": res["sample"]["drawn"]}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["sha256"] = {k: v["sha256"] for k, v in res["files"].items()}
    return result


def _inputs(raw: Path) -> dict[str, list[Path]]:
    return {"json": sorted(raw.glob("medical_o1_*.json")), "jsonl": sorted(raw.glob("*.jsonl")),
            "csv": sorted(raw.glob("chinese-dialogue/*/*.csv"))}


def run_floor(raw: Path, out: Path) -> dict:
    """Fastest correct read of every input, the pool as Parquet, a 5,000-record sample as JSONL."""
    import io

    import polars as pl
    import pyarrow.csv as pacsv

    t0, c0 = time.perf_counter(), time.process_time()
    files = _inputs(raw)
    frames = []
    for p in files["json"]:
        df = pl.read_json(p)
        q = "Question" if "Question" in df.columns else "Open-ended Verifiable Question"
        a = "Response" if "Response" in df.columns else "Ground-True Answer"
        frames.append(df.select(pl.col(q).alias("question"), pl.col(a).alias("answer")))
    for p in files["jsonl"]:
        frames.append(pl.read_ndjson(p).select(pl.col("question"), pl.col("answer")))
    for p in files["csv"]:
        text = p.read_bytes().decode("gb18030")
        tbl = pacsv.read_csv(io.BytesIO(text.encode("utf-8")), parse_options=pacsv.ParseOptions(newlines_in_values=True))
        frames.append(pl.from_arrow(tbl).select(pl.col("ask").alias("question"), pl.col("answer")))
    t_read, c_read = time.perf_counter(), time.process_time()
    pool = pl.concat(frames)
    out.mkdir(parents=True, exist_ok=True)
    pool.write_parquet(out / "pool.parquet", compression="snappy")
    pool.sample(SAMPLE, seed=42).write_ndjson(out / "sample.jsonl")
    end = time.perf_counter()
    return {"seconds": round(end - t0, 2), "read": round(t_read - t0, 2), "cpu_seconds": round(time.process_time() - c0, 2),
            "cpu_read": round(c_read - c0, 2), "rows": pool.height,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run_naive(raw: Path, out: Path) -> dict:
    """The same steps row by row: bench/naive_refresh.py (its docstring says what and how)."""
    from bench import naive_refresh

    res = naive_refresh.run(raw, out, SAMPLE)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return res


def compare_outputs(product_pool: Path, naive_labels: Path) -> dict:
    """How close the naive outputs are to the product's: pool sizes, ids in both, and the share of
    those with the same risk level and the same specialty."""
    import polars as pl

    a = pl.read_parquet(product_pool, columns=["id", "risk_level", "specialty"])
    b = pl.read_parquet(naive_labels)
    both = a.join(b, on="id", suffix="_naive")
    n = max(both.height, 1)
    return {"pool_product": a.height, "pool_naive": b.height, "ids_in_both": both.height,
            "same_risk": round((both["risk_level"] == both["risk_level_naive"]).sum() / n, 4),
            "same_specialty": round((both["specialty"] == both["specialty_naive"]).sum() / n, 4)}


# --------------------------------------------------------------------------------------------
# driver

def _child(mode: str, raw: Path, out: Path, prefect_home: Path) -> dict:
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-m", "bench.refresh_bench", "--child", mode, "--raw", str(raw), "--out", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode or not lines:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
        raise SystemExit(f"{mode} failed (exit {res.returncode})")
    print(f"  {mode}: {lines[-1][7:]}", flush=True)
    return json.loads(lines[-1][7:])


NAIVE_STAGES = ("parse", "label", "pool", "gate", "sample", "write")


def _naive_extrapolated(naive: dict, from_records: int, records: int) -> dict:
    """A naive run measured at a smaller scale, scaled linearly to ``records``: an estimate, not a
    bound (measured, the naive run grew 2.4x for 3x the records, so a linear scale-up errs high)."""
    f = records / from_records
    return {**naive, "seconds": round(naive["seconds"] * f, 2), "cpu_seconds": round(naive["cpu_seconds"] * f, 2),
            "stages": {k: round(v * f, 2) for k, v in naive["stages"].items()},
            "cpu": {k: round(v * f, 2) for k, v in naive["cpu"].items()}, "extrapolated_from": from_records}


def _table(scale: float, records: int, mb: float, pre: dict, floor: dict, naive: dict | None,
           close: dict | None = None) -> None:
    cold = pre["cold"]
    start = next(s["seconds"] for s in cold["stages"] if s["stage"] == "start-up")
    run = cold["seconds"] - start
    print(f"\n== scale {scale}: {records:,} records, {mb:.0f} MB; pool {cold['pool']:,}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<12} {'wall s':>8} {'rows/s':>10} {'peak RSS MiB':>12} {'CPU s':>8}")
    for s in cold["stages"]:
        rate = f"{records / s['seconds']:,.0f}" if s["seconds"] > 0.05 and s["stage"] not in ("start-up", "flow exit") else ""
        print(f"{s['stage']:<12} {s['seconds']:>8.2f} {rate:>10} {s['peak_rss_mb']:>12,} {s.get('cpu', 0.0):>8.2f}")
    gate = next((s["seconds"] for s in cold["stages"] if s["stage"] == "gate"), 0.0)
    print(f"{'run':<12} {run:>8.2f} {records / run:>10,.0f} {pre['peak_rss_mb']:>12,}   (Prefect start-up {start:.1f}s apart)")
    print(f"{'rerun':<12} {pre['rerun']['seconds']:>8.2f}   (unchanged inputs, same process, from the task cache)")
    print(f"{'floor':<12} {floor['seconds']:>8.2f} {records / floor['seconds']:>10,.0f} {floor['peak_rss_mb']:>12,}"
          f"   (read {floor['read']:.2f}s, write {floor['seconds'] - floor['read']:.2f}s)")
    if naive:
        how = (f"extrapolated linearly from {naive['extrapolated_from']:,} records: an estimate that errs high"
               if naive.get("extrapolated_from") else "measured")
        print(f"{'naive':<12} {naive['seconds']:>8.2f} {records / naive['seconds']:>10,.0f} "
              f"{naive['peak_rss_mb']:>12,}   ({how}; {naive['cpu_seconds']:.1f} CPU s; per stage wall {naive['stages']})")
    # per stage: the product against the floor (where the floor has the stage) and the naive run
    # against the product; "pool" is the product's pool stage (dedup), "write" its sample + write.
    # Wall and CPU seconds: on a loaded machine the wall of a nice'd single-threaded run says little
    cpu_run = pre["cold"]["cpu_seconds"] - next(s["cpu"] for s in cold["stages"] if s["stage"] == "start-up")

    def prod_s(st: str, key: str) -> float:
        get = {s["stage"]: s[key] for s in cold["stages"]}
        return get.get("sample", 0.0) + get.get("write", 0.0) if st == "write" else get.get(st, 0.0)

    def naive_s(st: str, key: str) -> float | None:
        if not naive:
            return None
        get = naive[key]
        return get.get("sample", 0.0) + get.get("write", 0.0) if st == "write" else get.get(st, 0.0)

    floor_st = {"seconds": {"parse": floor["read"], "write": floor["seconds"] - floor["read"]},
                "cpu": {"parse": floor["cpu_read"], "write": floor["cpu_seconds"] - floor["cpu_read"]}}
    fmt = lambda v: f"{v:.2f}" if v is not None else ""  # noqa: E731
    ratio = lambda a, b: f"{a / b:.1f}x" if a is not None and b else ""  # noqa: E731
    head = f"{'product':>8} {'floor':>7} {'p/floor':>7} {'naive':>8} {'n/prod':>7}"
    print(f"{'ratios':<12} wall s: {head}  | CPU s: {head}")
    for st in ("parse", "label", "pool", "gate", "write", "total"):
        cells = []
        for key, nkey in (("seconds", "stages"), ("cpu", "cpu")):
            if st == "total":
                p_s = run if key == "seconds" else cpu_run
                f_s = floor["seconds"] if key == "seconds" else floor["cpu_seconds"]
                n_s = (naive["seconds"] if key == "seconds" else naive["cpu_seconds"]) if naive else None
            else:
                p_s, f_s, n_s = prod_s(st, key), floor_st[key].get(st), naive_s(st, nkey)
            cells.append(f"{p_s:>8.2f} {fmt(f_s):>7} {ratio(p_s, f_s):>7} {fmt(n_s):>8} {ratio(n_s, p_s):>7}")
        print(f"{st if st != 'write' else 'sample+write':<12}         {cells[0]}  |        {cells[1]}")
    print(f"targets: run/floor {run / floor['seconds']:.1f}x (<= 5x); gate {gate / run:.0%} of the run (<= 20%); "
          f"peak {pre['peak_rss_mb'] / 1024:.2f} GiB (<= 2)"
          + (f"; naive/run {naive['seconds'] / run:.1f}x wall, {naive['cpu_seconds'] / cpu_run:.1f}x CPU (>= 5x)" if naive else ""))
    if close:
        print(f"naive vs product outputs: pool {close['pool_naive']:,} vs {close['pool_product']:,}, "
              f"{close['ids_in_both']:,} ids in both; of those, same risk level {close['same_risk']:.1%}, "
              f"same specialty {close['same_specialty']:.1%}; sample {naive['drawn']:,} vs {cold['drawn']:,}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.1,0.3", help="comma list; 1 = 925k records (default: %(default)s)")
    ap.add_argument("--keep", type=Path, help="keep corpora and outputs here (reused by later runs)")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--naive-max-scale", type=float, default=0.1,
                    help="run the naive baseline only up to this scale; above it, extrapolate it linearly from the "
                         "largest scale measured and say so (default: %(default)s; 0.1x takes ~5 min, 1x would take ~50)")
    ap.add_argument("--only-corpus", action="store_true", help="write the corpora and stop")
    ap.add_argument("--child", choices=["prepare", "floor", "naive"], help=argparse.SUPPRESS)
    ap.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = {"prepare": run_prepare, "floor": run_floor, "naive": run_naive}[args.child]
        print("RESULT " + json.dumps(fn(args.raw, args.out)))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="medprep-refresh-"))
    summary = []
    measured_naive: tuple[int, dict] | None = None
    try:
        for scale in [float(s) for s in args.scales.split(",")]:
            raw = work / f"raw-{scale:g}"
            marker = raw / ".complete"
            t0 = time.perf_counter()
            if not marker.exists():
                shutil.rmtree(raw, ignore_errors=True)
                written = write_corpus(raw, scale)
                marker.write_text(json.dumps(written))
            written = json.loads(marker.read_text())
            records = sum(written.values())
            mb = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file() and p.name != ".complete") / 1e6
            print(f"corpus {scale:g}: {records:,} records, {mb:.0f} MB ({time.perf_counter() - t0:.0f}s)", flush=True)
            if args.only_corpus:
                continue
            runs = work / f"runs-{scale:g}"
            shutil.rmtree(runs, ignore_errors=True)
            home = runs / "prefect-home"
            home.mkdir(parents=True)
            pre = _child("prepare", raw, runs / "prepare", home)
            floor = _child("floor", raw, runs / "floor", home)
            naive, close = None, None
            if not args.skip_naive and scale <= args.naive_max_scale:
                naive = _child("naive", raw, runs / "naive", home)
                close = compare_outputs(runs / "prepare" / ".work" / "pool.parquet", runs / "naive" / "labels.parquet")
                measured_naive = (records, naive)
            elif not args.skip_naive and measured_naive:
                naive = _naive_extrapolated(measured_naive[1], measured_naive[0], records)
            _table(scale, records, mb, pre, floor, naive, close)
            summary.append((scale, records, pre, floor, naive))
            shutil.rmtree(runs, ignore_errors=True)
        if len(summary) > 1:
            base = summary[0]
            print("\ngrowth relative to the smallest scale (records x, time x, peak RSS x):")
            for scale, records, pre, _floor, _naive in summary[1:]:
                def run_s(p):
                    return p["cold"]["seconds"] - p["cold"]["stages"][0]["seconds"]
                print(f"  {scale:g}: records {records / base[1]:.1f}x, run {run_s(pre) / run_s(base[2]):.1f}x, "
                      f"peak RSS {pre['peak_rss_mb'] / base[2]['peak_rss_mb']:.1f}x; per stage "
                      + ", ".join(f"{a['stage']} {a['seconds'] / max(b['seconds'], 0.01):.1f}x"
                                  for a, b in zip(pre["cold"]["stages"], base[2]["cold"]["stages"])
                                  if a["stage"] not in ("start-up", "download", "flow exit")))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
