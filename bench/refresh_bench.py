"""A full refresh (`prepare all --offline`) against its floor and a naive row-wise baseline.

    python -m bench.refresh_bench [--scales 0.1,0.3,1] [--keep DIR] [--skip-naive]

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
- ``naive``: the same steps row by row — ``json.load`` / ``csv`` reading, per-row text
  normalisation and the same risk lexicon matched per row with ``re``, per-row sha256 ids, exact
  dedup with a set, the same near-dedup function, the GE gate on the whole pool through pandas,
  a pandas sample, ``json.dumps`` per output line.

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
        marks.append(("start-up", time.perf_counter(), rss.take()))
        orig_init(self, *a, **kw)

    def step(self, stage, detail=""):
        marks.append((stage, time.perf_counter(), rss.take()))
        orig_step(self, stage, detail)

    report.Progress.__init__, report.Progress.step = init, step
    from flows.prepare import prepare

    result = {}
    for attempt in ("cold", "rerun"):
        marks.clear()
        t0 = time.perf_counter()
        res = prepare(sources="all", download=False, raw_dir=str(raw), out_dir=str(out), sample_size=SAMPLE)
        end = time.perf_counter()
        stages, prev = [], t0
        for name, t, peak in marks + [("flow exit", end, rss.take())]:
            stages.append({"stage": name, "seconds": round(t - prev, 2), "peak_rss_mb": round(peak)})
            prev = t
        result[attempt] = {"seconds": round(end - t0, 2), "stages": stages, "pool": res["sample"]["pool"],
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

    t0 = time.perf_counter()
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
    t_read = time.perf_counter()
    pool = pl.concat(frames)
    out.mkdir(parents=True, exist_ok=True)
    pool.write_parquet(out / "pool.parquet", compression="snappy")
    pool.sample(SAMPLE, seed=42).write_ndjson(out / "sample.jsonl")
    end = time.perf_counter()
    return {"seconds": round(end - t0, 2), "read": round(t_read - t0, 2), "rows": pool.height,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run_naive(raw: Path, out: Path) -> dict:
    """The same steps row by row (see the module docstring)."""
    import csv
    import hashlib
    import re
    import unicodedata

    import pandas as pd
    import polars as pl

    from tasks.quality import labels
    from tasks.quality.dedup import dedup
    from tasks.quality.gate import GATE_COLUMNS, validate

    marks = {}
    t0 = time.perf_counter()
    rows: list[dict] = []
    files = _inputs(raw)
    for p in files["json"]:
        for r in json.load(open(p, encoding="utf-8")):
            q = r.get("Question") or r.get("Open-ended Verifiable Question")
            a = r.get("Response") or r.get("Ground-True Answer")
            rows.append({"source": "medical-o1", "question": q, "answer": a, "cot": r.get("Complex_CoT")})
    for p in files["jsonl"]:
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    rows.append({"source": "delicate-medical", "question": r["question"], "answer": r["answer"], "cot": r["think"]})
    for p in files["csv"]:
        with open(p, encoding="gb18030", newline="") as fh:
            for r in csv.DictReader(fh):
                q = r["title"] if r["ask"] == "无" else r["ask"]
                rows.append({"source": "chinese-dialogue", "question": q, "answer": r["answer"], "cot": None})
    marks["parse"] = time.perf_counter()

    lex = labels.load_lexicon(labels.RISK_LEXICON_FILE)
    literal = re.compile("|".join(re.escape(t) for t in sorted(labels.all_literals(lex), key=len, reverse=True)))
    for r in rows:
        norm = " ".join(unicodedata.normalize("NFKC", r["question"] or "").lower().split())
        hits = literal.findall(norm)
        r["risk_level"] = "high" if len(hits) > 1 else ("medium" if hits else "low")
        r["language"] = "zh" if re.search(r"[\u4e00-\u9fff]", norm) else "en"
        r["id"] = hashlib.sha256(f"{r['source']}\0{r['question']}\0{r['answer']}".encode()).hexdigest()[:16]
    marks["label"] = time.perf_counter()

    seen, kept = set(), []
    for r in rows:
        if r["id"] not in seen:
            seen.add(r["id"])
            kept.append(r)
    frame = pl.DataFrame(kept, schema={"source": pl.String, "question": pl.String, "answer": pl.String, "cot": pl.String,
                                       "risk_level": pl.String, "language": pl.String, "id": pl.String})
    kept_frame, _, _ = dedup(frame)
    marks["pool"] = time.perf_counter()

    gate = kept_frame.select(
        *GATE_COLUMNS,
        pl.when(pl.col("cot").is_not_null()).then(pl.format("<think>\n{}\n</think>\n\n{}", "cot", "answer")).alias("think_output"),
    )
    rows_gate = validate(gate)
    marks["gate"] = time.perf_counter()

    pdf = kept_frame.to_pandas()
    sample = pdf.sample(n=min(SAMPLE, len(pdf)), random_state=42)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.jsonl", "w", encoding="utf-8") as fh:
        for rec in sample.to_dict("records"):
            fh.write(json.dumps({"input": rec["question"], "output": rec["answer"],
                                 "meta": {"id": rec["id"], "risk_level": rec["risk_level"]}}, ensure_ascii=False) + "\n")
    pd.DataFrame(kept).to_parquet(out / "pool.parquet")
    end = time.perf_counter()
    stages, prev = {}, t0
    for k, t in marks.items():
        stages[k] = round(t - prev, 2)
        prev = t
    stages["sample+write"] = round(end - prev, 2)
    return {"seconds": round(end - t0, 2), "stages": stages, "rows": len(rows), "pool": kept_frame.height,
            "gate_passed": sum(r["success"] for r in rows_gate),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


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


def _table(scale: float, records: int, mb: float, pre: dict, floor: dict, naive: dict | None) -> None:
    cold = pre["cold"]
    start = next(s["seconds"] for s in cold["stages"] if s["stage"] == "start-up")
    run = cold["seconds"] - start
    print(f"\n== scale {scale}: {records:,} records, {mb:.0f} MB; pool {cold['pool']:,}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':<12} {'wall s':>8} {'rows/s':>10} {'peak RSS MiB':>12}")
    for s in cold["stages"]:
        rate = f"{records / s['seconds']:,.0f}" if s["seconds"] > 0.05 and s["stage"] not in ("start-up", "flow exit") else ""
        print(f"{s['stage']:<12} {s['seconds']:>8.2f} {rate:>10} {s['peak_rss_mb']:>12,}")
    gate = next((s["seconds"] for s in cold["stages"] if s["stage"] == "gate"), 0.0)
    print(f"{'run':<12} {run:>8.2f} {records / run:>10,.0f} {pre['peak_rss_mb']:>12,}   (Prefect start-up {start:.1f}s apart)")
    print(f"{'rerun':<12} {pre['rerun']['seconds']:>8.2f}   (unchanged inputs, same process, from the task cache)")
    print(f"{'floor':<12} {floor['seconds']:>8.2f} {records / floor['seconds']:>10,.0f} {floor['peak_rss_mb']:>12,}")
    if naive:
        print(f"{'naive':<12} {naive['seconds']:>8.2f} {records / naive['seconds']:>10,.0f} {naive['peak_rss_mb']:>12,}"
              f"   {naive['stages']}")
    print(f"ratios: run/floor {run / floor['seconds']:.1f}x (target <= 5x); gate {gate / run:.0%} of the run (target <= 20%); "
          f"peak {pre['peak_rss_mb'] / 1024:.2f} GiB (target <= 2)"
          + (f"; naive/run {naive['seconds'] / run:.1f}x (target >= 5x)" if naive else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.1,0.3", help="comma list; 1 = 925k records (default: %(default)s)")
    ap.add_argument("--keep", type=Path, help="keep corpora and outputs here (reused by later runs)")
    ap.add_argument("--skip-naive", action="store_true")
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
            naive = None if args.skip_naive else _child("naive", raw, runs / "naive", home)
            _table(scale, records, mb, pre, floor, naive)
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
