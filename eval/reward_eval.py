"""Agreement of the lexical reward's verdict with the labelled reward set, dev and test side by side.

Usage:
    python eval/reward_eval.py               # dev and test; writes eval/reward/results.json
    python eval/reward_eval.py --split dev   # tuning: dev only (the test files are not opened)

Each labelled response is scored as the answer of a well-formed completion
(``<think>…</think>`` + response) by ``tasks/export/rl/reward.py`` (loaded by path, as trainers
do). Verdict: right when the score is above the midpoint between a well-formed wrong answer
(``MIN_WELL_FORMED``) and a right one (1.0), as issue 15 defines it. Figures: agreement with the
labels, accepted-wrong and missed-right counts, overall and per language, with a seeded bootstrap
95 % interval (items resampled with replacement).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
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


def verdicts(rows: list[dict], reward) -> list[bool]:
    threshold = (reward.MIN_WELL_FORMED + 1.0) / 2
    return [reward.compute_score("eval", f"<think>\nreasoning\n</think>\n\n{r['response']}", r["ground_truth"]) > threshold for r in rows]


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
    args = ap.parse_args(argv)
    reward = load_reward(args.reward)
    splits = ("dev",) if args.split == "dev" else ("dev", "test")
    result = {"threshold": (reward.MIN_WELL_FORMED + 1.0) / 2, "reward": str(args.reward.relative_to(REPO)) if args.reward.is_relative_to(REPO) else str(args.reward)}
    for split in splits:
        rows = load_split(split, args.data)
        result[split] = figures(rows, verdicts(rows, reward))
    print(json.dumps(result, indent=1))
    if args.split == "both":
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
