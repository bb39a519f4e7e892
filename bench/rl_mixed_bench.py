"""Verifiable share of the RL prompts on a full-size mixed corpus, before vs after verifiable-first.

    python -m bench.rl_mixed_bench [--scale 1.0] [--size 5000] [--modes any,prefer,verifiable]

Writes a corpus in the published formats with the synthetic generators (bench/synth.py,
bench/synth_sources.py) at the sizes of issue 11's measurement — four medical-o1 arrays
(4 x 22,500), the verifiable problems (40,000), delicate-medical (2,400) and six GB18030
chinese-dialogue CSVs (6 x 132,100): 925,000 records at ``--scale 1`` — plus, with
``--medqa N``, a MedQA-style file of N multiple-choice items read as medical-o1 demo records.
``--sampler-only`` skips the files and runs the sampler alone on a pool of that composition (no
dedup: the synthetic generators are templated, so dedup shrinks their corpus to a few ten
thousand records and changes the mix, while the real corpus is ~85 % chinese-dialogue).
Otherwise it runs ``prepare sources=all`` once per ground-truth mode (``any`` is the behaviour before this
change: the natural mix, every prompt in the main files) with the same seed, and prints per mode
the verifiable share of the sample and of the RL prompts, per source, the multiple-choice /
open-ended counts, the shortfalls, and the time. Parsing, dedup and the gate run once: later
modes reuse the cached task results (only the sample and the writers rerun).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

SIZES = {"medical-o1": 22_500, "medical-o1-verifiable": 40_000, "delicate-medical": 2_400, "chinese-dialogue": 132_100}
DIALOGUE_FILES = ["IM_内科/内科5000-33000.csv", "Pediatric_儿科/儿科5-14000.csv", "OAGD_妇产科/妇产科6-28000.csv",
                  "Surgical_外科/外科5-14000.csv", "Oncology_肿瘤科/肿瘤科5-10000.csv", "Andriatria_男科/男科5-13000.csv"]


def write_corpus(raw: Path, scale: float, medqa: int) -> dict[str, int]:
    """The published-format files under ``raw``; returns records written per source."""
    from bench import synth
    from bench import synth_sources as ss

    n = {k: max(1, round(v * scale)) for k, v in SIZES.items()}
    files = {"medical_o1_sft.json": ("en", 31), "medical_o1_sft_Chinese.json": ("zh", 32),
             "medical_o1_sft_mix.json": ("en", 33), "medical_o1_sft_mix_Chinese.json": ("zh", 34)}
    for name, (lang, seed) in files.items():
        synth.write_json_array(synth.medical_o1_records(n["medical-o1"], lang, seed=seed), raw / name)
    ss.write_json_array(ss.verifiable_records(n["medical-o1-verifiable"], seed=35), raw / "medical_o1_verifiable_problem.json")
    ss.write_jsonl(ss.delicate_records(n["delicate-medical"], seed=36), raw / "r1_data_example.jsonl")
    for k, rel in enumerate(DIALOGUE_FILES):
        ss.write_big_dialogue(raw / "chinese-dialogue" / rel, n["chinese-dialogue"], seed=40 + k)
    written = {"medical-o1": 4 * n["medical-o1"], "medical-o1-verifiable": n["medical-o1-verifiable"],
               "delicate-medical": n["delicate-medical"], "chinese-dialogue": 6 * n["chinese-dialogue"]}
    if medqa:  # MedQA-style items in the HuatuoGPT-o1 demo layout (question/options/answer_idx + SFT fields)
        synth.write_json_array(synth.medical_o1_records(medqa, "en", seed=37, verifiable=True), raw / "medqa" / "medical_o1_demo_mc.json")
        written["medical-o1"] += medqa
    return written


def report(mode: str, res: dict, out: Path, secs: float) -> None:
    """Print one mode's figures."""
    rep, rl = res["sample"], res["rl"] or {}
    ver = rep.get("verifiable") or {}
    print(f"\n== rl_ground_truth={mode}: {secs:.0f}s; pool {rep['pool']:,} -> sample {rep['drawn']:,}")
    print(f"   sample: verifiable {ver.get('drawn', 0):,} of {rep['drawn']:,} = {ver.get('share', 0):.1%} (pool has {ver.get('pool', 0):,})")
    rv = rl.get("verifiable") or {}
    kinds, forms = rl.get("ground_truth_kind", {}), rl.get("question_forms", {})
    print(f"   RL prompts: {rv.get('prompts', 0):,}, verifiable {rv.get('verifiable', 0):,} = {rv.get('share', 0):.1%}; "
          f"main files {rl.get('rows', 0):,}, response_only/ {rl.get('response_only_rows', 0):,}, left out {rl.get('dropped_not_verifiable', 0):,}")
    print(f"   ground truth: option letter {kinds.get('choice', 0):,}, short answer {kinds.get('reference_answer', 0):,}, "
          f"response {kinds.get('response', 0):,}; question form: open {forms.get('open', 0):,}, mc {forms.get('mc', 0):,}")
    print(f"   {'source':<22} {'sample':>7} {'verif.':>7} {'share':>7}   {'prompts':>7} {'letter':>7} {'short':>7} {'resp.':>7} {'share':>7}")
    sampled = ver.get("by_source", {})
    for src, v in sorted((rv.get("by_source") or {}).items()):
        s = sampled.get(src, {})
        print(f"   {src:<22} {s.get('of', 0):>7,} {s.get('drawn', 0):>7,} {s.get('share', 0):>7.1%}   {v['prompts']:>7,} "
              f"{v['choice']:>7,} {v['reference_answer']:>7,} {v['response']:>7,} {v['verifiable_share']:>7.1%}")
    for s in rep["shortfalls"]:
        print(f"   shortfall: {s}")
    manifest = json.loads((out / "rl" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == rl.get("rows")


def sampler_only(scale: float, size: int, modes: list[str]) -> None:
    """The sampler on a pool of the corpus's composition (risk and language drawn at random)."""
    import random

    import polars as pl

    from tasks.core import schema as S
    from tasks.sample import SampleConfig, draw

    rng = random.Random(0)
    comp = {"medical-o1": (4 * SIZES["medical-o1"], False), "medical-o1-verifiable": (SIZES["medical-o1-verifiable"], True),
            "delicate-medical": (SIZES["delicate-medical"], False), "chinese-dialogue": (6 * SIZES["chinese-dialogue"], False)}
    cols: dict[str, list] = {S.ID: [], S.SOURCE: [], S.RISK_LEVEL: [], S.LANGUAGE: [], S.REFERENCE_ANSWER: []}
    for src, (n, ver) in comp.items():
        n = round(n * scale)
        cols[S.ID] += [f"{src}-{i}" for i in range(n)]
        cols[S.SOURCE] += [src] * n
        cols[S.RISK_LEVEL] += rng.choices(["high", "medium", "low"], weights=[3, 5, 2], k=n)
        cols[S.LANGUAGE] += rng.choices(["zh", "en"], k=n) if src.startswith("medical-o1") else ["zh"] * n
        cols[S.REFERENCE_ANSWER] += ["short answer" if ver else None] * n
    pool = pl.DataFrame(cols, schema={k: pl.String for k in cols})
    print(f"sampler only: pool {pool.height:,} records, {pool[S.REFERENCE_ANSWER].is_not_null().sum():,} verifiable")
    for mode in modes:
        t0 = time.perf_counter()
        sample, rep = draw(pool, SampleConfig(size=size, seed=42, rl_ground_truth=mode))
        v = rep.verifiable
        per = ", ".join(f"{s} {d['drawn']:,}/{d['of']:,} = {d['share']:.0%}" for s, d in v["by_source"].items())
        print(f"  {mode:<10} {time.perf_counter() - t0:.1f}s: drew {sample.height:,}, verifiable {v['drawn']:,} = {v['share']:.1%} ({per})")
        for s in rep.shortfalls:
            print(f"    shortfall: {s}")


def main() -> None:
    """Generate the corpus, run each mode, print figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="corpus size relative to 925k records (default: %(default)s)")
    ap.add_argument("--size", type=int, default=5_000)
    ap.add_argument("--modes", default="any,prefer,verifiable")
    ap.add_argument("--medqa", type=int, default=0, help="also add N MedQA-style multiple-choice items")
    ap.add_argument("--keep", type=Path, help="write the corpus and outputs here and keep them")
    ap.add_argument("--sampler-only", action="store_true", help="run the sampler alone on a pool of the corpus's composition")
    args = ap.parse_args()
    if args.sampler_only:
        sampler_only(args.scale, args.size, args.modes.split(","))
        return
    from flows.prepare import prepare

    work = args.keep or Path(tempfile.mkdtemp(prefix="medprep-rlmix-"))
    try:
        raw = work / "raw"
        t0 = time.perf_counter()
        if not raw.is_dir():
            written = write_corpus(raw, args.scale, args.medqa)
            print(f"corpus: {sum(written.values()):,} records ({written}), "
                  f"{sum(p.stat().st_size for p in raw.rglob('*') if p.is_file()) / 1e6:.0f} MB, written in {time.perf_counter() - t0:.0f}s")
        for mode in args.modes.split(","):
            t0 = time.perf_counter()
            out = work / f"out-{mode}"
            res = prepare(sources="all", download=False, raw_dir=str(raw), out_dir=str(out), sample_size=args.size,
                          rl_ground_truth=mode)
            report(mode, res, out, time.perf_counter() - t0)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
