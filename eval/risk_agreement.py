"""Inter-annotator agreement on the risk / specialty dev split: the figures of eval/risk/data/AGREEMENT.md.

Usage:
    python eval/risk_agreement.py                  # kappa tables, confusion, adjudication counts
    python eval/risk_agreement.py --check-sample   # re-draw the sample from git and compare ids

Data: ``eval/risk/data/agreement_sample.jsonl``, one object a line per sampled dev item with the
first annotator's labels (``risk_first``, ``specialty_first``, as they were when compared), the
blind second annotator's (``risk_second``, ``specialty_second``; also committed on their own, before
the comparison, in ``agreement_second_labels.jsonl``), the verdict per field (``agree``, ``first``,
``second`` or ``borderline``), the adjudicated labels and a note. The figures are computed from
this file alone, so they do not move when the dev files are later corrected.

The sample rule (``draw_sample``): the dev items present at ``POOL_COMMIT`` but not at
``BASE_COMMIT``, grouped by language and by source repository (the part of ``origin`` before
``:``), each group sorted by id and sampled with one ``random.Random(SEED)`` in the order of
``ALLOCATION``. Only dev files are read; the frozen test split is never opened.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "eval" / "risk" / "data"
SAMPLE_FILE = DATA_DIR / "agreement_sample.jsonl"
LEVELS = ("high", "medium", "low")
SEED = 20261202
BASE_COMMIT = "6900fdf"  # dev files before the extension of 2026-12-02
POOL_COMMIT = "0d6176f"  # dev files when the sample was drawn
ALLOCATION: tuple[tuple[str, str, int], ...] = (
    ("zh", "kyre-99/CMExam-Dataset", 60),
    ("zh", "SupritYoung/Zhongjing", 30),
    ("zh", "michael-wzhu/ChatMed", 30),
    ("en", "OscSanto/Zim-Indexer", 40),
    ("en", "abachaa/MTS-Dialog", 25),
    ("en", "UCSD-AI4H/COVID-Dialogue", 15),
    ("en", "abachaa/LiveQA_MedicalTask_TREC2017", 20),
    ("en", "abachaa/Medication_QA_MedInfo2019", 20),
)


def cohen_kappa(first: list[str], second: list[str]) -> float:
    """Cohen's kappa of two label lists of equal length (nan when chance agreement is 1)."""
    n = len(first)
    if n == 0 or n != len(second):
        raise ValueError("two non-empty label lists of equal length are needed")
    observed = raw_agreement(first, second)
    ca, cb = Counter(first), Counter(second)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def raw_agreement(first: list[str], second: list[str]) -> float:
    return sum(a == b for a, b in zip(first, second)) / len(first)


def source_of(item: dict) -> str:
    return item["origin"].split(":", 1)[0]


def draw_sample(base: dict[str, list[dict]], pool: dict[str, list[dict]],
                allocation=ALLOCATION, seed: int = SEED) -> list[str]:
    """Ids of the sample: per (language, source) of ``allocation``, ``n`` of the items in ``pool``
    whose id is not in ``base``, drawn from the id-sorted group with one shared seeded generator."""
    rng = random.Random(seed)
    ids: list[str] = []
    for lang, source, n in allocation:
        old = {item["id"] for item in base.get(lang, [])}
        group = sorted((item for item in pool.get(lang, [])
                        if item["id"] not in old and source_of(item) == source), key=lambda item: item["id"])
        if len(group) < n:
            raise ValueError(f"{lang} {source}: {len(group)} new items, {n} wanted")
        ids += [item["id"] for item in rng.sample(group, n)]
    return ids


def _git_dev(commit: str, lang: str) -> list[dict]:
    out = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:eval/risk/data/dev_{lang}.jsonl"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def read_sample(path: Path = SAMPLE_FILE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bootstrap_kappa(first: list[str], second: list[str], reps: int = 1000, seed: int = SEED) -> tuple[float, float]:
    """Seeded percentile bootstrap 95 % interval of kappa (items resampled with replacement)."""
    rng = random.Random(seed)
    n = len(first)
    values = []
    for _ in range(reps):
        idx = [rng.randrange(n) for _ in range(n)]
        k = cohen_kappa([first[i] for i in idx], [second[i] for i in idx])
        if k == k:  # drop nan (a resample with one label only)
            values.append(k)
    values.sort()
    if not values:
        return float("nan"), float("nan")
    return values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]


def group_figures(rows: list[dict]) -> dict[str, float]:
    """Raw agreement, kappa and its bootstrap interval for risk, high-vs-rest and specialty over ``rows``."""
    r1, r2 = [r["risk_first"] for r in rows], [r["risk_second"] for r in rows]
    h1, h2 = [x == "high" for x in r1], [x == "high" for x in r2]
    s1, s2 = [r["specialty_first"] for r in rows], [r["specialty_second"] for r in rows]
    return {"n": len(rows), "risk_agree": raw_agreement(r1, r2), "risk_kappa": cohen_kappa(r1, r2),
            "risk_ci": bootstrap_kappa(r1, r2), "high_kappa": cohen_kappa(h1, h2),
            "spec_agree": raw_agreement(s1, s2), "spec_kappa": cohen_kappa(s1, s2), "spec_ci": bootstrap_kappa(s1, s2)}


def report(rows: list[dict]) -> str:
    """The markdown tables of AGREEMENT.md: figures by group, risk confusion, verdict counts."""
    groups: list[tuple[str, list[dict]]] = [("all", rows)]
    for key in ("language", "source_kind", "source"):
        for value in dict.fromkeys(r[key] for r in rows):
            groups.append((f"{key}={value}", [r for r in rows if r[key] == value]))
    out = ["| group | n | risk agreement | risk κ (95 % CI) | high-vs-rest κ | specialty agreement | specialty κ (95 % CI) |",
           "|---|---|---|---|---|---|---|"]
    for name, sub in groups:
        f = group_figures(sub)
        out.append(f"| {name} | {f['n']} | {f['risk_agree']:.3f} | {f['risk_kappa']:.3f} "
                   f"({f['risk_ci'][0]:.2f}–{f['risk_ci'][1]:.2f}) | {f['high_kappa']:.3f} | {f['spec_agree']:.3f} | "
                   f"{f['spec_kappa']:.3f} ({f['spec_ci'][0]:.2f}–{f['spec_ci'][1]:.2f}) |")
    pairs = Counter((r["risk_first"], r["risk_second"]) for r in rows)
    out += ["", "Risk, first annotator (rows) × second annotator (columns):", "",
            "| first \\ second | " + " | ".join(LEVELS) + " |", "|---|---|---|---|"]
    out += [f"| {a} | " + " | ".join(str(pairs[(a, b)]) for b in LEVELS) + " |" for a in LEVELS]
    out += ["", "| field | agree | first upheld | second upheld | borderline |", "|---|---|---|---|---|"]
    for field in ("risk", "specialty"):
        v = Counter(r[f"{field}_verdict"] for r in rows)
        out.append(f"| {field} | {v['agree']} | {v['first']} | {v['second']} | {v['borderline']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=Path, default=SAMPLE_FILE)
    ap.add_argument("--check-sample", action="store_true",
                    help=f"re-draw the sample from git ({BASE_COMMIT} → {POOL_COMMIT}) and compare the ids")
    args = ap.parse_args(argv)
    try:
        rows = read_sample(args.sample)
        if args.check_sample:
            base = {lang: _git_dev(BASE_COMMIT, lang) for lang in ("zh", "en")}
            pool = {lang: _git_dev(POOL_COMMIT, lang) for lang in ("zh", "en")}
            drawn = draw_sample(base, pool)
            same = drawn == [r["id"] for r in rows]
            print(f"sample re-drawn: {len(drawn)} ids, {'identical to' if same else 'DIFFERENT from'} {args.sample.name}")
            if not same:
                return 1
        print(report(rows))
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as exc:
        print(f"risk_agreement: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
