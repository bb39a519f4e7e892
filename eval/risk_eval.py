"""Evaluate the risk and specialty labellers on the labelled dev and frozen test splits.

Usage:
    python eval/risk_eval.py                 # dev and test side by side; writes the results file
    python eval/risk_eval.py --split dev     # tuning: dev only (the test split is not opened)
    python eval/risk_eval.py --split dev --errors        # + the misclassified dev questions
    python eval/risk_eval.py --extra tests/data/risk_eval.jsonl --split dev   # + another dev set

Data: ``eval/risk/data/{dev,test}_{zh,en}.jsonl``, one object a line with ``id``, ``question``,
``language``, ``source_kind``, ``risk``, ``why``, ``specialty``, ``origin``, ``license`` (found from
the repository checkout; not shipped in the wheel). The test files' sha256 are in
``eval/risk/data/SHA256SUMS``; the harness refuses to score a test file that does not match.

Figures: high-risk recall and precision, 3-class accuracy and specialty accuracy, overall, per
language and per source kind, each with a seeded bootstrap 95 % interval (items resampled with
replacement within the group). When the test split is scored, the figures are written to
``tasks/quality/risk_eval_results.json`` (package data; the data card reads it, never the test
set). Misclassified questions are only ever listed for dev.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tasks.core import schema  # noqa: E402
from tasks.quality import labels  # noqa: E402

DATA_DIR = REPO / "eval" / "risk" / "data"
SHA256SUMS = DATA_DIR / "SHA256SUMS"
RESULTS_FILE = labels.EVAL_RESULTS_FILE
CV_PREDICTIONS = REPO / "eval" / "risk" / "dev_cv_predictions.jsonl"
LANGS = ("zh", "en")
SPLITS = ("dev", "test")
LEVELS = ("high", "medium", "low")
BOOTSTRAP = 2000
SEED = 17
TARGETS = {"recall_high": 0.9, "precision_high": 0.8, "accuracy": 0.8, "specialty_accuracy": 0.8}
METRICS = ("recall_high", "precision_high", "accuracy", "specialty_accuracy")

_COLUMNS = {
    "id": pl.String, "question": pl.String, "language": pl.String, "source_kind": pl.String,
    "risk": pl.String, "why": pl.String, "specialty": pl.String, "origin": pl.String, "license": pl.String,
}


def split_files(split: str, data_dir: Path = DATA_DIR) -> list[Path]:
    """The files of one split that exist (``{split}_zh.jsonl``, ``{split}_en.jsonl``)."""
    return [p for lang in LANGS if (p := data_dir / f"{split}_{lang}.jsonl").is_file()]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_sums(path: Path = SHA256SUMS) -> dict[str, str]:
    """``{file name: sha256}`` from a ``sha256sum``-format file (empty when absent)."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.lstrip("*").strip()] = digest
    return out


def check_frozen(files: list[Path], sums: dict[str, str]) -> None:
    """Raise when a test file is missing from SHA256SUMS or its bytes changed."""
    for f in files:
        if f.name not in sums:
            raise SystemExit(f"{f.name} has no sha256 in {SHA256SUMS.name}: record it before scoring the test split")
        if sha256_file(f) != sums[f.name]:
            raise SystemExit(f"{f.name} does not match its recorded sha256 in {SHA256SUMS.name}: the frozen test split changed")


def load(files: list[Path]) -> pl.DataFrame:
    """Read eval JSONL files into one frame with the expected columns (missing ones null)."""
    frames = []
    for f in files:
        df = pl.read_ndjson(f, infer_schema_length=None)
        missing = {"question", "language", "risk"} - set(df.columns)
        if missing:
            raise SystemExit(f"{f}: missing keys {sorted(missing)}")
        df = df.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in _COLUMNS.items() if c not in df.columns])
        frames.append(df.select([pl.col(c).cast(t) for c, t in _COLUMNS.items()]).with_columns(pl.lit(f.name).alias("file")))
    return pl.concat(frames) if frames else pl.DataFrame(schema={**_COLUMNS, "file": pl.String})


def load_legacy(path: Path) -> pl.DataFrame:
    """A set in the older format (``question``, ``language``, ``expected_risk``, ``note``)."""
    df = pl.read_ndjson(path, infer_schema_length=None).rename({"expected_risk": "risk"})
    df = df.with_columns(pl.lit("extra").alias("source_kind"), pl.lit(path.name).alias("file"))
    return df.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in _COLUMNS.items() if c not in df.columns]).select(
        [*[pl.col(c).cast(t) for c, t in _COLUMNS.items()], "file"])


def predict(df: pl.DataFrame) -> pl.DataFrame:
    """Run the pipeline's labellers on the questions; gold specialty is hidden from the labeller."""
    frame = df.with_columns(pl.col("question").alias(schema.QUESTION), pl.lit(None, dtype=pl.String).alias(schema.SPECIALTY))
    got = labels.label_risk(labels.label_specialty(frame.lazy())).collect()
    return df.with_columns(
        got[schema.RISK_LEVEL].alias("pred_risk"),
        got[schema.RISK_REASONS].alias("pred_reasons"),
        got[schema.SPECIALTY].alias("pred_specialty"),
    )


def cross_validated(scored: pl.DataFrame, path: Path = CV_PREDICTIONS) -> pl.DataFrame | None:
    """Dev rows with the training script's out-of-fold predictions instead of the shipped model's
    (which was fitted on dev), or None when that file is absent, stale or does not cover dev."""
    if not path.is_file():
        return None
    oof = pl.read_ndjson(path, infer_schema_length=None)
    model = (labels.risk_model_mod.model_header() or {}).get("version")
    if oof.is_empty() or oof["model"].unique().to_list() != [model]:
        return None
    out = scored.drop("pred_risk", "pred_specialty").join(oof.select("id", "pred_risk", "pred_specialty"), on="id",
                                                          how="left", maintain_order="left")
    return out if out["pred_risk"].null_count() == 0 else None


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def metrics(df: pl.DataFrame, bootstrap: int = BOOTSTRAP, seed: int = SEED) -> dict:
    """Point figures and bootstrap 95 % intervals for one group of scored items."""
    gold_high = (df["risk"] == "high").to_numpy().astype(float)
    pred_high = (df["pred_risk"] == "high").to_numpy().astype(float)
    correct = (df["risk"] == df["pred_risk"]).to_numpy().astype(float)
    has_spec = df["specialty"].is_not_null().to_numpy().astype(float)
    spec_ok = ((df["specialty"] == df["pred_specialty"]).fill_null(False)).to_numpy().astype(float)
    n = df.height

    def figures(w: np.ndarray) -> dict[str, np.ndarray]:
        # w: (B, n) counts of each item in a resample (or (1, n) ones for the point estimate)
        tp = w @ (gold_high * pred_high)
        return {
            "recall_high": _ratio(tp, w @ gold_high),
            "precision_high": _ratio(tp, w @ pred_high),
            "accuracy": _ratio(w @ correct, w.sum(axis=1)),
            "specialty_accuracy": _ratio(w @ spec_ok, w @ has_spec),
        }

    point = figures(np.ones((1, n))) if n else {}
    out: dict = {"n": n, "n_high": int(gold_high.sum()), "n_pred_high": int(pred_high.sum()),
                 "n_specialty": int(has_spec.sum())}
    if not n:
        return out
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(bootstrap, n))
    w = np.zeros((bootstrap, n))
    np.add.at(w, (np.repeat(np.arange(bootstrap), n), idx.ravel()), 1.0)
    boot = figures(w)
    for m in METRICS:
        value = float(point[m][0])
        if np.isnan(value):
            out[m] = None
            continue
        b = boot[m][~np.isnan(boot[m])]
        lo, hi = (np.percentile(b, [2.5, 97.5]) if b.size else (np.nan, np.nan))
        out[m] = {"value": round(value, 4), "ci95": [round(float(lo), 4), round(float(hi), 4)]}
    return out


def group_metrics(df: pl.DataFrame) -> dict:
    """Figures overall, per language and per source kind."""
    groups = {"all": df}
    for col, prefix in (("language", "language"), ("source_kind", "source_kind")):
        for key in sorted(df[col].drop_nulls().unique().to_list()):
            groups[f"{prefix}={key}"] = df.filter(pl.col(col) == key)
    return {name: metrics(g) for name, g in groups.items()}


def confusion(df: pl.DataFrame) -> dict:
    """confusion[gold][predicted] counts."""
    return {g: {p: df.filter((pl.col("risk") == g) & (pl.col("pred_risk") == p)).height for p in LEVELS} for g in LEVELS}


def _fmt(m: dict | None, key: str) -> str:
    v = (m or {}).get(key)
    if not v:
        return f"{'-':>19}"
    return f"{v['value']:.3f} [{v['ci95'][0]:.2f},{v['ci95'][1]:.2f}]"


def _split_name(results: dict, split: str) -> str:
    """'dev (CV)' when the dev figures are out-of-fold predictions, else the split name."""
    method = results["splits"][split].get("predictions", "")
    return f"{split} (CV)" if method.startswith("out-of-fold") else split


def report(results: dict) -> str:
    """Side-by-side text table: dev, test and the drop (dev − test) per group and metric."""
    splits = [s for s in SPLITS if s in results["splits"]]
    lines = [f"labeller {results['risk_version']} / {results['specialty_version']}; "
             f"bootstrap {results['bootstrap']} resamples, seed {results['seed']}; 95 % intervals in brackets"]
    groups = sorted({g for s in splits for g in results["splits"][s]["groups"]}, key=lambda g: (g != "all", g))
    for metric in METRICS:
        lines += ["", f"{metric} (target ≥ {TARGETS[metric]})",
                  f"{'group':<26}" + "".join(f"{_split_name(results, s) + ' (n)':>28}" for s in splits) + ("    drop" if len(splits) == 2 else "")]
        for g in groups:
            cells, vals = [], []
            for s in splits:
                m = results["splits"][s]["groups"].get(g)
                nkey = {"recall_high": "n_high", "precision_high": "n_pred_high", "specialty_accuracy": "n_specialty"}.get(metric, "n")
                cells.append(f"{_fmt(m, metric)} ({(m or {}).get(nkey, 0):>4})")
                vals.append(((m or {}).get(metric) or {}).get("value"))
            drop = f"{vals[0] - vals[1]:+8.3f}" if len(vals) == 2 and None not in vals else ""
            lines.append(f"{g:<26}" + "".join(f"{c:>28}" for c in cells) + drop)
    for s in splits:
        c = results["splits"][s]["confusion"]
        lines += ["", f"{s} confusion (rows gold, columns predicted)", f"{'':<8}" + "".join(f"{p:>8}" for p in LEVELS)]
        lines += [f"{g:<8}" + "".join(f"{c[g][p]:>8}" for p in LEVELS) for g in LEVELS]
    return "\n".join(lines)


def evaluate_splits(splits: list[str], data_dir: Path = DATA_DIR, extra: list[Path] | None = None,
                    risk_model=None) -> tuple[dict, dict]:
    """Score the named splits; returns (results, scored frames by split).

    ``risk_model``: ``(scored frame) -> (frame with model pred_risk / pred_reasons, run report)``
    (``tasks.model.risk_labeller.predict_eval`` bound to an endpoint) to measure a model labeller
    instead of the shipped one; the metric code is the same. Without it, dev is scored from the
    training script's out-of-fold predictions when they match the shipped model ("dev (CV)")."""
    results = {"risk_version": labels.RISK_VERSION, "specialty_version": labels.SPECIALTY_VERSION,
               "bootstrap": BOOTSTRAP, "seed": SEED, "targets": TARGETS, "splits": {}}
    frames = {}
    for split in splits:
        files = split_files(split, data_dir)
        if split == "test":
            check_frozen(files, recorded_sums(data_dir / SHA256SUMS.name))
        df = load(files)
        if split == "dev" and extra:
            df = pl.concat([df, *[load_legacy(p) for p in extra]])
        if df.is_empty():
            continue
        scored = predict(df)
        model_run = None
        method = "shipped labeller"
        if risk_model is not None:
            scored, model_run = risk_model(scored)
            method = "model labeller"
            results["risk_version"] = f"model {model_run['endpoint']['model']} ({model_run['prompt_version']}, rules fallback)"
        elif split == "dev" and not extra and data_dir == DATA_DIR and (cv := cross_validated(scored)) is not None:
            scored, method = cv, "out-of-fold (5-fold CV on dev; eval/train_risk.py)"
        frames[split] = scored
        results["splits"][split] = {
            "predictions": method,
            "files": {f.name: sha256_file(f) for f in files},
            "groups": group_metrics(scored),
            "confusion": confusion(scored),
        }
        if model_run is not None:
            results["splits"][split]["risk_model"] = model_run
    return results, frames


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=["dev", "test", "both"], default="both",
                    help="dev while tuning (the test split is then not opened); both = the final report")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--extra", type=Path, action="append", default=[],
                    help="another labelled JSONL (old format: question, language, expected_risk) added to dev")
    ap.add_argument("--errors", action="store_true", help="list misclassified dev questions (never test)")
    ap.add_argument("--no-write", action="store_true", help="do not write the results file")
    ap.add_argument("--results", type=Path, default=None,
                    help=f"results file (default {RESULTS_FILE.name} for the rules; with --model-url only when given)")
    ap.add_argument("--model-url", help="measure the model risk labeller at this OpenAI-compatible URL instead of the rules")
    ap.add_argument("--model", help="served model name (with --model-url); key from $MEDPREP_API_KEY")
    ap.add_argument("--prompt", type=Path, help="a risk prompt template to try on dev (default: the packaged one)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64, help="model answer budget (more for a model that thinks first)")
    ap.add_argument("--cache-dir", type=Path, help="model response cache (default ~/.cache/medprep/risk-eval)")
    args = ap.parse_args(argv)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    risk_model = None
    if args.model_url:
        if not args.model:
            print("--model-url needs --model (the model name the server serves)", file=sys.stderr)
            return 2
        if args.prompt and not args.prompt.is_file():
            print(f"--prompt {args.prompt} does not exist", file=sys.stderr)
            return 2
        from tasks.model.client import Endpoint, Sampling
        from tasks.model.risk_labeller import predict_eval

        endpoint = Endpoint(args.model_url, args.model, concurrency=max(1, args.concurrency))
        cache_dir = args.cache_dir or Path.home() / ".cache" / "medprep" / "risk-eval"
        prompt = args.prompt.read_text(encoding="utf-8") if args.prompt else None
        if prompt is not None and "{question}" not in prompt:
            print(f"--prompt {args.prompt} has no {{question}} slot", file=sys.stderr)
            return 2
        sampling = Sampling(temperature=0.0, max_tokens=args.max_tokens)
        risk_model = lambda df: predict_eval(df, endpoint, cache_dir, prompt, sampling)  # noqa: E731
    results, frames = evaluate_splits(splits, args.data_dir, args.extra, risk_model)
    if not results["splits"]:
        print(f"no eval data under {args.data_dir} (expected {{dev,test}}_{{zh,en}}.jsonl)", file=sys.stderr)
        return 2
    print(report(results))
    for split, r in results["splits"].items():
        if m := r.get("risk_model"):
            c = m["client"]
            print(f"\n{split} model labeller: {m['by_model']} of {m['questions']} labelled by the model, "
                  f"{m['fallback_rules']} by the rules ({m['unparsed']} unparsed, {m['request_errors']} request errors); "
                  f"{c['requests']} requests, {c['cache_hits']} cache hits, {c['req_per_s']} req/s, {c['seconds']} s")
    if args.errors and "dev" in frames:
        print("\ndev misclassified (gold -> predicted [rules]):")
        bad = frames["dev"].filter(pl.col("risk") != pl.col("pred_risk")).sort("language", "risk", "pred_risk")
        for r in bad.iter_rows(named=True):
            q = (r["question"] or "").replace("\n", " ")[:160]
            print(f"  {r['language']} {r['source_kind'] or '-':<9} {r['risk']:>6} -> {r['pred_risk']:<6} "
                  f"{r['pred_reasons']} {q!r} | {r['why'] or ''}")
        sbad = frames["dev"].filter(pl.col("specialty").is_not_null() & (pl.col("specialty") != pl.col("pred_specialty")))
        print("\ndev specialty misses (gold -> predicted):")
        for r in sbad.iter_rows(named=True):
            print(f"  {r['specialty']:>22} -> {r['pred_specialty']:<22} {(r['question'] or '')[:120]!r}")
    results_file = args.results or (None if risk_model else RESULTS_FILE)
    if results_file and ("test" in results["splits"] or risk_model) and not args.no_write:
        results_file.write_text(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nwrote {results_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
