"""Agreement of the model verifier (the judge) with the labelled reward set, per split and language.

Usage:
    python eval/verifier_eval.py --url http://gpu:8000/v1 --model Qwen2.5-7B-Instruct --split dev
    python eval/verifier_eval.py --url URL --model M --split all --out judge_results.json
    MEDPREP_EVAL_URL=... MEDPREP_EVAL_MODEL=... python eval/verifier_eval.py   # defaults from the env

Every labelled (question, response, ground truth, right/wrong) triple of ``eval/reward/data`` is
sent to the judge (``tasks/model/verifier.py``: the prompt files ``judge_{en,zh}.txt``, the verdict
parser the trainer-side reward uses) through the one client: concurrent, retried, cached by content
(``--cache-dir``; a rerun asks nothing, a killed run resumes). The key is read from
``$MEDPREP_API_KEY`` (or ``--api-key-env``) and written nowhere.

Verdict: accepted when the share of "Correct" votes is ≥ 0.5. A triple the judge gave no verdict
for (unparsed answer or failed request) counts as *not accepted* in ``agreement`` and is counted in
``unparsed`` / ``errors``; ``parsed_only`` gives the figures over the triples it did judge. Figures
(agreement with the labels, accepted-wrong, missed-right, seeded bootstrap 95 % interval) come from
``eval/reward_eval.py``'s ``figures`` — the same code that scores the lexical reward, so the two
are comparable. The frozen test files are checked against ``SHA256SUMS`` before they are read.

Without an endpoint the script says so and exits 0 (nothing to measure); the test
``tests/eval/test_verifier_eval.py::test_real_endpoint`` runs it whenever ``MEDPREP_EVAL_URL`` is set.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

DATA = REPO / "eval" / "reward" / "data"
SPLITS = ("dev", "test")
URL_ENV, MODEL_ENV = "MEDPREP_EVAL_URL", "MEDPREP_EVAL_MODEL"


def _script(name: str):
    """Another eval script as a module (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"medprep_eval_{name}", REPO / "eval" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "medprep" / "verifier-eval"


def load_rows(split: str, data_dir: Path, reward_eval, risk_eval) -> list[dict]:
    """The split's triples; the test split only after its files match SHA256SUMS."""
    if split == "test":
        files = [p for lang in ("en", "zh") if (p := data_dir / f"test_{lang}.jsonl").is_file()]
        risk_eval.check_frozen(files, risk_eval.recorded_sums(data_dir / "SHA256SUMS"))
    return reward_eval.load_split(split, data_dir)


def score_split(rows: list[dict], client, votes: int, reward_eval, sampling) -> tuple[dict, dict]:
    """(figures by group, client counters) for one split's triples."""
    from tasks.model.verifier import judge

    items = [(r.get("question"), r["response"], r["ground_truth"], r["lang"]) for r in rows]
    scores, errors, stats = judge(client, items, votes=votes, sampling=sampling)
    said = [s is not None and s >= 0.5 for s in scores]
    figs = reward_eval.figures(rows, said)
    parsed = [i for i, s in enumerate(scores) if s is not None]
    parsed_figs = reward_eval.figures([rows[i] for i in parsed], [said[i] for i in parsed])
    for group, fig in figs.items():
        idx = [i for i, r in enumerate(rows) if group == "all" or r["lang"] == group]
        fig["unparsed"] = sum(1 for i in idx if scores[i] is None and errors[i] == "judge gave no verdict")
        fig["errors"] = sum(1 for i in idx if scores[i] is None and errors[i] != "judge gave no verdict")
        fig["parsed_only"] = parsed_figs.get(group)
    return figs, stats.as_dict()


def report(result: dict) -> str:
    """Text table: split × group with agreement and its interval, counts, then client counters."""
    lines = [f"judge {result['endpoint']['model']} at {result['endpoint']['base_url']}, prompt {result['prompt_version']}, "
             f"votes {result['votes']}; bootstrap 95 % intervals; no verdict counts as not accepted",
             f"{'split':<6}{'group':<6}{'n':>5}{'agreement':>11}{'ci95':>15}{'acc.wrong':>10}{'miss.right':>11}"
             f"{'unparsed':>9}{'errors':>7}{'parsed-only agr.':>18}"]
    for split, s in result["splits"].items():
        for group, f in s["groups"].items():
            po = f["parsed_only"]
            po_text = f"{po['agreement']:.3f} (n {po['n']})" if po else "-"
            lines.append(f"{split:<6}{group:<6}{f['n']:>5}{f['agreement']:>11.3f}{str(f['ci95']):>15}{f['accepted_wrong']:>10}"
                         f"{f['missed_right']:>11}{f['unparsed']:>9}{f['errors']:>7}"
                         f"{po_text:>18}")
    for split, s in result["splits"].items():
        c = s["client"]
        lines.append(f"{split}: {c['total']} judge requests, {c['requests']} sent, {c['cache_hits']} cache hits, "
                     f"{c['errors']} errors, {c['req_per_s']} req/s, {c['seconds']} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: 0 when measured (or nothing to measure), 1 when every request failed, 2 on bad input."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get(URL_ENV), help=f"OpenAI-compatible base URL (default ${URL_ENV})")
    ap.add_argument("--model", default=os.environ.get(MODEL_ENV), help=f"served model name (default ${MODEL_ENV})")
    ap.add_argument("--api-key-env", default="MEDPREP_API_KEY", help="name of the variable holding the key")
    ap.add_argument("--split", choices=("dev", "test", "all"), default="dev",
                    help="dev while tuning a prompt (test is then not opened); all = dev and test side by side")
    ap.add_argument("--votes", type=int, default=1, help="judge samples per triple (share of 'Correct' ≥ 0.5 accepts)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--max-retries", type=int, default=4, help="retries on 429 / 5xx / transport errors")
    ap.add_argument("--max-tokens", type=int, default=None,
                    help="judge answer budget (default the stage's; raise it for a model that thinks first)")
    ap.add_argument("--data", type=Path, default=DATA, help="folder with {dev,test}_{en,zh}.jsonl")
    ap.add_argument("--cache-dir", type=Path, default=None, help=f"response cache (default {default_cache_dir()})")
    ap.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = ap.parse_args(argv)
    if not args.url:
        print(f"no judge endpoint: pass --url/--model or set {URL_ENV}/{MODEL_ENV}; nothing measured", file=sys.stderr)
        return 0
    if not args.model:
        print(f"endpoint {args.url} needs --model (or {MODEL_ENV})", file=sys.stderr)
        return 2
    if args.votes < 1 or args.concurrency < 1:
        print("--votes and --concurrency must be ≥ 1", file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"no labelled set at {args.data}", file=sys.stderr)
        return 2

    from tasks.model.client import ChatClient, Endpoint, Sampling
    from tasks.model.verifier import JUDGE_SAMPLING, prompt_version

    reward_eval, risk_eval = _script("reward_eval"), _script("risk_eval")
    endpoint = Endpoint(args.url, args.model, api_key_env=args.api_key_env, concurrency=args.concurrency,
                        timeout=args.timeout, max_retries=max(0, args.max_retries))
    sampling = JUDGE_SAMPLING if args.max_tokens is None else Sampling(temperature=0.0, max_tokens=args.max_tokens)
    client = ChatClient(endpoint, args.cache_dir or default_cache_dir(), label="verifier-eval", artifact=False)
    result = {"endpoint": endpoint.public(), "prompt_version": prompt_version("judge"), "votes": args.votes,
              "max_tokens": sampling.max_tokens,
              "accept_at": 0.5, "bootstrap": reward_eval.BOOTSTRAP, "seed": reward_eval.SEED, "splits": {}}
    failed = total = 0
    for split in (SPLITS if args.split == "all" else (args.split,)):
        rows = load_rows(split, args.data, reward_eval, risk_eval)
        if not rows:
            continue
        groups, stats = score_split(rows, client, args.votes, reward_eval, sampling)
        result["splits"][split] = {"groups": groups, "client": stats}
        failed += groups["all"]["errors"]
        total += groups["all"]["n"]
    if not total:
        print(f"no labelled triples for --split {args.split} under {args.data}", file=sys.stderr)
        return 2
    print(report(result))
    if args.out:
        from tasks.core.storage import write_text

        write_text(args.out, json.dumps(result, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {args.out}")
    if failed == total:
        print(f"every judge request failed (endpoint {args.url}): no agreement measured", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
