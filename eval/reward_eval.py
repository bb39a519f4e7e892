"""Agreement of the lexical reward's verdict with the labelled reward set, dev and test side by side.

Usage:
    python eval/reward_eval.py               # dev and test; writes eval/reward/results.json
    python eval/reward_eval.py --split dev   # tuning: dev only (the test files are not opened)
    python eval/reward_eval.py --baseline old_reward.py --baseline-label "main at abc123"
                                             # also scores an older reward.py, side by side

Each labelled response is scored as the answer of a well-formed completion
(``<think>…</think>`` + response) by ``tasks/export/rl/reward.py`` (loaded by path, as trainers
do). Verdict: right when the score is above the midpoint between a well-formed wrong answer
(``MIN_WELL_FORMED``) and a right one (1.0), as issue 15 defines it. Figures: agreement with the
labels, accepted-wrong and missed-right counts, overall and per language, with a seeded bootstrap
95 % interval (items resampled with replacement), and the reward's mean time per call
(``ms_per_call``, wall clock on this machine, whole split).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "eval" / "reward" / "data"
RESULTS = REPO / "eval" / "reward" / "results.json"
REWARD_FILE = REPO / "tasks" / "export" / "rl" / "reward.py"
BOOTSTRAP = 2000
SEED = 17


def load_reward(path: Path = REWARD_FILE):
    spec = importlib.util.spec_from_file_location("medprep_reward_eval", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_split(split: str, data_dir: Path = DATA) -> list[dict]:
    rows = []
    for lang in ("en", "zh"):
        path = data_dir / f"{split}_{lang}.jsonl"
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def verdicts(rows: list[dict], reward, timing: dict | None = None) -> list[bool]:
    threshold = (reward.MIN_WELL_FORMED + 1.0) / 2
    start = time.perf_counter()
    said = [reward.compute_score("eval", f"<think>\nreasoning\n</think>\n\n{r['response']}", r["ground_truth"]) > threshold for r in rows]
    if timing is not None and rows:
        timing["ms_per_call"] = round((time.perf_counter() - start) * 1000 / len(rows), 3)
    return said


def _ci(hits: list[int], rng: random.Random) -> list[float]:
    n = len(hits)
    stats = sorted(sum(rng.choice(hits) for _ in range(n)) / n for _ in range(BOOTSTRAP))
    return [round(stats[int(0.025 * BOOTSTRAP)], 3), round(stats[int(0.975 * BOOTSTRAP) - 1], 3)]


def figures(rows: list[dict], said: list[bool]) -> dict:
    rng = random.Random(SEED)
    out = {}
    for group in ("all", "en", "zh"):
        idx = [i for i, r in enumerate(rows) if group == "all" or r["lang"] == group]
        if not idx:
            continue
        hits = [int(said[i] == (rows[i]["label"] == "right")) for i in idx]
        out[group] = {
            "n": len(idx),
            "agreement": round(sum(hits) / len(idx), 3),
            "ci95": _ci(hits, rng),
            "accepted_wrong": sum(1 for i in idx if said[i] and rows[i]["label"] == "wrong"),
            "missed_right": sum(1 for i in idx if not said[i] and rows[i]["label"] == "right"),
            "right": sum(1 for i in idx if rows[i]["label"] == "right"),
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("dev", "both"), default="both")
    ap.add_argument("--reward", type=Path, default=REWARD_FILE, help="reward.py to evaluate")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--baseline", type=Path, help="an older reward.py, scored on the same splits")
    ap.add_argument("--baseline-label", default="", help="what the baseline is (e.g. 'main at abc123')")
    args = ap.parse_args(argv)
    reward = load_reward(args.reward)
    splits = ("dev",) if args.split == "dev" else ("dev", "test")
    result = {"threshold": (reward.MIN_WELL_FORMED + 1.0) / 2, "reward": str(args.reward.relative_to(REPO)) if args.reward.is_relative_to(REPO) else str(args.reward)}
    baseline = load_reward(args.baseline) if args.baseline else None
    if baseline is not None:
        result["baseline"] = {"label": args.baseline_label or str(args.baseline)}
    for split in splits:
        rows = load_split(split, args.data)
        timing: dict = {}
        result[split] = figures(rows, verdicts(rows, reward, timing)) | timing
        if baseline is not None:
            timing = {}
            result["baseline"][split] = figures(rows, verdicts(rows, baseline, timing)) | timing
    print(json.dumps(result, indent=1))
    if args.split == "both":
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
