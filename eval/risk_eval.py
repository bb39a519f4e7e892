"""Evaluate the risk lexicon on a labelled JSONL set: precision/recall per level, 3x3 confusion.

Usage: python eval/risk_eval.py [PATH] [--check] [--errors]
PATH defaults to tests/data/risk_eval.jsonl. --check exits 1 when recall(high) < 0.9 or
precision(high) < 0.8 (the targets of issue 6); --errors lists the misclassified questions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tasks.quality.labels import EVAL_SET  # noqa: E402
from tasks.quality.labels import evaluate as _evaluate  # noqa: E402

RECALL_HIGH_MIN = 0.9
PRECISION_HIGH_MIN = 0.8
LEVELS = ("high", "medium", "low")


def evaluate(path: str | Path = EVAL_SET) -> dict:
    """The figures of tasks.quality.labels.evaluate for one eval file."""
    return _evaluate(path)


def report(result: dict) -> str:
    """Human-readable figures."""
    lines = [
        f"lexicon {result['lexicon_version']}  n={result['n']}  "
        + "  ".join(f"{k}={v}" for k, v in sorted(result["n_by_language_level"].items())),
        f"high: precision={result['precision_high']:.3f} recall={result['recall_high']:.3f}   "
        f"accuracy={result['accuracy']:.3f}",
        "",
        f"{'level':<8}{'precision':>10}{'recall':>8}{'support':>9}",
    ]
    for lv in LEVELS:
        m = result["per_level"][lv]
        lines.append(f"{lv:<8}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['support']:>9}")
    lines += ["", "confusion (rows = expected, columns = predicted)", f"{'':<8}" + "".join(f"{p:>8}" for p in LEVELS)]
    for e in LEVELS:
        lines.append(f"{e:<8}" + "".join(f"{result['confusion'][e][p]:>8}" for p in LEVELS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(EVAL_SET))
    ap.add_argument("--check", action="store_true", help="exit 1 below the targets")
    ap.add_argument("--errors", action="store_true", help="list misclassified questions")
    args = ap.parse_args(argv)
    if not Path(args.path).is_file():
        print(f"eval set not found: {args.path}", file=sys.stderr)
        return 2
    result = evaluate(args.path)
    print(report(result))
    if args.errors:
        print("\nmisclassified (expected -> predicted [rules]):")
        for e in result["errors"]:
            print(f"  {e['expected_risk']:>6} -> {e['risk_level']:<6} {e['risk_reasons']} {e['question'][:100]!r}")
    if args.check:
        ok = result["recall_high"] >= RECALL_HIGH_MIN and result["precision_high"] >= PRECISION_HIGH_MIN
        if not ok:
            print(f"\nFAIL: need recall(high) >= {RECALL_HIGH_MIN} and precision(high) >= {PRECISION_HIGH_MIN}", file=sys.stderr)
            return 1
        print("\ncheck passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
