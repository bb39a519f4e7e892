"""Train the risk-level and specialty models from the labelled DEV split only (never the test split).

Usage:
    python eval/train_risk.py            # cross-validate the settings on dev, then fit and write the model
    python eval/train_risk.py --cv-only  # print the cross-validation figures, write nothing

Features: hashed byte n-grams (``tasks/quality/risk_model.featurize``). Model: multinomial
logistic regression with an L2 penalty, full-batch Adam for a fixed number of steps from zero
weights (deterministic: same dev files -> same model file). Buckets seen in fewer than ``min_df``
dev questions get no weight (an n-gram seen once cannot generalise); after fitting, weights
below ``prune`` are dropped so the shipped file stays small and inference sums few weights.

Settings (n-gram orders, penalty, min_df, the high-risk probability threshold) are chosen by
stratified k-fold cross-validation on dev (seeded); the CV figures are printed and stored in the
model file's metadata as "dev (CV)" figures. The test split is not read by this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tasks.core import schema  # noqa: E402
from tasks.quality import labels  # noqa: E402
from tasks.quality import risk_model as rm  # noqa: E402

DATA_DIR = REPO / "eval" / "risk" / "data"
CV_PREDICTIONS = REPO / "eval" / "risk" / "dev_cv_predictions.jsonl"
SEED = 17
FOLDS = 5
RISK_CLASSES = ["high", "medium", "low"]
VERSION = "risk.v4"  # the model file's version; the labeller version is this + the lexicon's
SPEC_VERSION = "specialty.v4"
ORDERS = (3, 6)  # byte n-grams: a Chinese character / bigram; English trigrams / 6-grams
BITS = 16
LAM_RISK = 3e-4
LAM_SPEC = 3e-4
MIN_DF = 2
STEPS = 200
STEPS_DEFAULT = STEPS
PRUNE = 1e-3  # |weight| below this in every head -> bucket not shipped
THRESHOLDS = np.round(np.arange(0.10, 0.601, 0.025), 3)  # P(high) thresholds tried on dev (CV)
TARGETS = {"recall_high": 0.9, "precision_high": 0.8, "accuracy": 0.8}  # issue 17 (frozen test)
TOP_BUCKETS = 2000  # per head: only the largest n-gram weights are kept (speed; applied inside CV too)


def load_dev(data_dir: Path = DATA_DIR) -> pl.DataFrame:
    """The dev split (both languages)."""
    files = sorted(data_dir.glob("dev_*.jsonl"))
    return pl.concat([pl.read_ndjson(f, infer_schema_length=None).select("id", "question", "language", "source_kind",
                                                                         "risk", "specialty") for f in files])


def _subset(x: rm.Sparse, rows: np.ndarray) -> rm.Sparse:
    starts, ends = x.indptr[rows], x.indptr[rows + 1]
    lens = ends - starts
    idx = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)]) if rows.size else np.zeros(0, int)
    return rm.Sparse(np.concatenate([[0], np.cumsum(lens)]), x.cols[idx], x.vals[idx], rows.size)


def _doc_freq(x: rm.Sparse, n_feat: int) -> np.ndarray:
    return np.bincount(x.cols, minlength=n_feat)


def fit(x: rm.Sparse, y: np.ndarray, n_classes: int, n_feat: int, lam: float, min_df: int,
        steps: int = STEPS_DEFAULT, lr: float = 0.05, n_ngram: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (L2) by full-batch Adam; returns (W[n_feat, C], bias[C]).

    Only features in at least ``min_df`` training rows are fitted (the rest keep weight 0); they
    are renumbered densely first so each step touches only those. The two products of a step
    (scores X·W, gradient Xᵀ·G) are scipy CSR products (scipy comes with great-expectations;
    training only, inference is numpy): v3.1's per-class ``np.bincount`` took ~5 min per run on
    966 dev questions, too slow for the ~4,500 of v4."""
    from scipy import sparse

    allowed = np.flatnonzero(_doc_freq(x, n_feat) >= min_df)
    keep = np.isin(x.cols, allowed)
    cols = np.searchsorted(allowed, x.cols[keep])
    vals = x.vals[keep].astype(np.float64)
    rows = np.repeat(np.arange(x.n_rows), np.diff(x.indptr))[keep]
    m = allowed.size
    xm = sparse.csr_matrix((vals, (rows, cols)), shape=(x.n_rows, m))
    xt = xm.T.tocsr()
    onehot = np.eye(n_classes)[y]
    w = np.zeros((m, n_classes))
    b = np.log(np.bincount(y, minlength=n_classes) + 1.0)
    b -= b.mean()
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        z = xm @ w + b
        g = (softmax(z) - onehot) / x.n_rows  # d mean loss / d z
        gw = xt @ g
        gw += 2 * lam * w
        gb = g.sum(axis=0)
        mw = b1 * mw + (1 - b1) * gw
        vw = b2 * vw + (1 - b2) * gw * gw
        mb = b1 * mb + (1 - b1) * gb
        vb = b2 * vb + (1 - b2) * gb * gb
        c1, c2 = 1 - b1**t, 1 - b2**t
        w -= lr * (mw / c1) / (np.sqrt(vw / c2) + eps)
        b -= lr * (mb / c1) / (np.sqrt(vb / c2) + eps)
    full = np.zeros((n_feat, n_classes))
    full[allowed] = w
    return prune(full, n_ngram), b


def prune(w: np.ndarray, n_ngram: int | None, top: int = TOP_BUCKETS) -> np.ndarray:
    """Keep the ``top`` n-gram buckets with the largest |weight| (rule/lexicon columns after
    ``n_ngram`` always kept): inference cost grows with the share of text positions that hit a
    kept bucket (measured: 58,939 kept buckets -> 30 s per 90k rows, most of it summing weights)."""
    if n_ngram is None or top >= n_ngram:
        return w
    score = np.abs(w[:n_ngram]).max(axis=1)
    drop = np.argsort(-score, kind="stable")[top:]
    w = w.copy()
    w[drop] = 0.0
    return w


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def decide_risk(p: np.ndarray, t_high: float, forced: np.ndarray | None = None) -> np.ndarray:
    """Class index per row: high when a definitional rule fired (``forced``) or P(high) >= t_high,
    else the likelier of medium / low."""
    other = np.where(p[:, 1] >= p[:, 2], 1, 2)
    high = p[:, 0] >= t_high
    if forced is not None:
        high |= forced
    return np.where(high, 0, other)


def folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Stratified fold id per row (seeded)."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(y.size, int)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        fold[idx] = np.arange(idx.size) % k
    return fold


def target_ratio(f: dict) -> float:
    """How near a point is to the issue's targets: the smallest of recall / 0.9, precision / 0.8
    and accuracy / 0.8 (1.0 = every target met)."""
    return min(f["recall_high"] / TARGETS["recall_high"], f["precision_high"] / TARGETS["precision_high"],
               f["accuracy"] / TARGETS["accuracy"])


def choose_threshold(rows: list[tuple[float, dict]]) -> float:
    """The P(high) threshold nearest the targets on dev (CV): the largest ``target_ratio``
    (rounded to 3 places), ties to the higher recall. v3.1 took the most accurate point, which sat
    at the high end of the curve (recall 0.77, precision 0.75) although the issue asks for recall
    0.9 first; the worst ratio weighs the shortfall of each target the same."""
    return max(rows, key=lambda r: (round(target_ratio(r[1]), 3), r[1]["recall_high"]))[0]


def risk_figures(y: np.ndarray, pred: np.ndarray) -> dict:
    """High recall / precision and 3-class accuracy."""
    tp = np.sum((y == 0) & (pred == 0))
    return {"recall_high": tp / max(np.sum(y == 0), 1), "precision_high": tp / max(np.sum(pred == 0), 1),
            "accuracy": float(np.mean(y == pred))}


def cv_probs(x: rm.Sparse, y: np.ndarray, n_classes: int, n_feat: int, lam: float, min_df: int, fold: np.ndarray,
             steps: int) -> np.ndarray:
    """Out-of-fold probabilities."""
    p = np.zeros((y.size, n_classes))
    for f in range(fold.max() + 1):
        tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        w, b = fit(_subset(x, tr), y[tr], n_classes, n_feat, lam, min_df, steps, n_ngram=1 << BITS)
        p[te] = softmax(rm.sparse_dot(_subset(x, te), w) + b)
    return p


def rule_features(dev: pl.DataFrame) -> tuple[list[list[str]], list[str]]:
    """Per row, the names of the rule features that fire: every fired rule id and ``level.<rules' level>``."""
    frame = dev.with_columns(pl.col("question").alias(schema.QUESTION))
    got = labels.label_risk_rules(frame.lazy()).collect()
    names = [[*rs, f"level.{lv}"] for rs, lv in zip(got[schema.RISK_REASONS].to_list(), got[schema.RISK_LEVEL].to_list(),
                                                     strict=True)]
    return names, labels.rule_feature_names()


def with_extra(x: rm.Sparse, extra: list[list[str]], names: list[str], n_feat: int, scale: float = 1.0) -> rm.Sparse:
    """Append binary columns (``n_feat + names.index(name)``) to the n-gram features."""
    index = {n: i for i, n in enumerate(names)}
    n_extra = np.array([len(e) for e in extra], dtype=np.int64)
    extra_cols = np.array([n_feat + index[n] for e in extra for n in e], dtype=np.int64)
    counts = np.diff(x.indptr) + n_extra
    indptr = np.concatenate([[0], np.cumsum(counts)])
    cols = np.empty(indptr[-1], np.int64)
    vals = np.empty(indptr[-1], np.float32)
    # each row: its n-gram non-zeros, then its extra columns
    row_of_ngram = np.repeat(np.arange(x.n_rows), np.diff(x.indptr))
    pos = indptr[row_of_ngram] + (np.arange(x.cols.size) - x.indptr[row_of_ngram])
    cols[pos], vals[pos] = x.cols, x.vals
    row_of_extra = np.repeat(np.arange(x.n_rows), n_extra)
    start = np.concatenate([[0], np.cumsum(n_extra)])
    epos = indptr[row_of_extra] + np.diff(x.indptr)[row_of_extra] + (np.arange(extra_cols.size) - start[row_of_extra])
    cols[epos], vals[epos] = extra_cols, scale
    return rm.Sparse(indptr, cols, vals, x.n_rows)


def group_report(dev: pl.DataFrame, pred: list[str], spec_pred: list[str]) -> dict:
    """CV figures overall, per language and per source kind."""
    df = dev.with_columns(pl.Series("pred_risk", pred), pl.Series("pred_specialty", spec_pred))
    groups = {"all": df}
    for col in ("language", "source_kind"):
        for key in sorted(df[col].drop_nulls().unique().to_list()):
            groups[f"{col}={key}"] = df.filter(pl.col(col) == key)
    out = {}
    for name, g in groups.items():
        y = np.array([RISK_CLASSES.index(v) for v in g["risk"]])
        p = np.array([RISK_CLASSES.index(v) for v in g["pred_risk"]])
        f = risk_figures(y, p)
        f["specialty_accuracy"] = float((g["specialty"] == g["pred_specialty"]).mean())
        out[name] = {k: round(float(v), 4) for k, v in f.items()} | {"n": g.height}
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv-only", action="store_true", help="print the cross-validation figures, write nothing")
    ap.add_argument("--out", type=Path, default=rm.MODEL_DIR / rm.RISK_MODEL_FILE)
    args = ap.parse_args(argv)
    dev = load_dev()
    n_feat = 1 << BITS
    y_risk = np.array([RISK_CLASSES.index(r) for r in dev["risk"]])
    spec_classes = sorted(dev["specialty"].drop_nulls().unique().to_list())
    y_spec = np.array([spec_classes.index(s) for s in dev["specialty"]])
    fold = folds(y_risk, FOLDS, SEED)
    x = rm.featurize(dev["question"], ORDERS, BITS)
    fired, rule_names = rule_features(dev)
    xr = with_extra(x, fired, rule_names, n_feat)
    n_risk = n_feat + len(rule_names)

    print(f"{dev.height} dev questions; {FOLDS}-fold CV (seed {SEED}); orders {ORDERS}, 2**{BITS} buckets", flush=True)
    p_risk = cv_probs(xr, y_risk, 3, n_risk, LAM_RISK, MIN_DF, fold, STEPS)
    forced = np.array([any(f in labels.FORCED_HIGH_RULES for f in fs) for fs in fired])
    rows = [(float(t), risk_figures(y_risk, decide_risk(p_risk, t, forced))) for t in THRESHOLDS]
    print("precision / recall trade-off on dev (CV), high = forced rule or P(high) >= t:")
    for t, f in rows:
        print(f"  P(high) >= {t:.3f}: {fmt(f)}  (worst target ratio {target_ratio(f):.3f})")
    t_high = choose_threshold(rows)
    lex_class = labels.label_specialty_lexicon(
        dev.select(pl.col("question").alias(schema.QUESTION), pl.lit(None, dtype=pl.String).alias(schema.SPECIALTY)).lazy()
    ).collect()[schema.SPECIALTY].to_list()
    spec_names = labels.specialty_feature_names()
    xs = with_extra(x, [[f"lexicon.{c}"] for c in lex_class], spec_names, n_feat)
    n_spec = n_feat + len(spec_names)
    p_spec = cv_probs(xs, y_spec, len(spec_classes), n_spec, LAM_SPEC, MIN_DF, fold, STEPS)
    oof_risk = [RISK_CLASSES[i] for i in decide_risk(p_risk, t_high, forced)]
    raw_spec = [spec_classes[i] for i in p_spec.argmax(axis=1)]
    over_spec = [lex if lex in labels.SPECIFIC_SPECIALTIES and s in ("internal_medicine", "other") else s
                 for s, lex in zip(raw_spec, lex_class, strict=True)]
    gold_spec = dev["specialty"].to_list()
    acc_raw, acc_over = (float(np.mean([a == g for a, g in zip(p, gold_spec, strict=True)])) for p in (raw_spec, over_spec))
    # the keyword override (a specific lexicon class beats a generic model answer) was added in v3
    # for classes with few dev examples; kept only while dev (CV) says it helps
    override = acc_over > acc_raw
    print(f"specialty dev (CV): model {acc_raw:.3f}, with the keyword override {acc_over:.3f} -> override {override}")
    oof_spec = over_spec if override else raw_spec
    cv = group_report(dev, oof_risk, oof_spec)
    print(f"chosen threshold {t_high}; dev (CV):")
    for g, f in cv.items():
        print(f"  {g:<28} n={f['n']:>4}  {fmt(f)}  specialty {f['specialty_accuracy']:.3f}")
    if args.cv_only:
        return 0

    w_risk, b_risk = fit(xr, y_risk, 3, n_risk, LAM_RISK, MIN_DF, STEPS, n_ngram=n_feat)
    w_spec, b_spec = fit(xs, y_spec, len(spec_classes), n_spec, LAM_SPEC, MIN_DF, STEPS, n_ngram=n_feat)
    ngram = np.concatenate([w_risk[:n_feat], w_spec[:n_feat]], axis=1)
    keep = np.flatnonzero(np.abs(ngram).max(axis=1) >= PRUNE)
    model = rm.LinearModel(
        version=VERSION, orders=ORDERS, bits=BITS, buckets=keep.astype(np.uint32),
        heads={"risk": (RISK_CLASSES, w_risk[keep], b_risk), "specialty": (spec_classes, w_spec[keep], b_spec)},
        meta={"lexicon_version": labels.RISK_LEXICON_VERSION, "t_high": t_high,
              "threshold_rule": "largest min(recall/0.9, precision/0.8, accuracy/0.8) on dev (CV)",
              "threshold_curve": [{"t_high": t, **{k: round(float(v), 4) for k, v in f.items()}} for t, f in rows],
              "forced_high": sorted(labels.FORCED_HIGH_RULES), "specialty_version": SPEC_VERSION,
              "specialty_lexicon_override": bool(override),
              "rule_features": rule_names, "rule_weights": np.round(w_risk[n_feat:], 5).tolist(),
              "specialty_features": spec_names, "specialty_weights": np.round(w_spec[n_feat:], 5).tolist(),
              "trained_on": sorted(p.name for p in DATA_DIR.glob("dev_*.jsonl")),
              "settings": {"lam_risk": LAM_RISK, "lam_spec": LAM_SPEC, "min_df": MIN_DF, "steps": STEPS,
                           "top_buckets": TOP_BUCKETS,
                           "prune": PRUNE, "folds": FOLDS, "seed": SEED},
              "cv": cv},
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rm.save_model(args.out, model)
    oof = pl.DataFrame({"id": dev["id"], "model": [VERSION] * dev.height, "pred_risk": oof_risk,
                        "pred_specialty": oof_spec})
    oof.write_ndjson(CV_PREDICTIONS)
    print(f"wrote {CV_PREDICTIONS.relative_to(REPO)} (out-of-fold dev predictions: eval/risk_eval.py reports them as dev (CV))")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {keep.size} of {n_feat} buckets kept)")
    return 0


def fmt(f: dict) -> str:
    """Short figure string."""
    return f"R {f['recall_high']:.3f} P {f['precision_high']:.3f} acc {f['accuracy']:.3f}"


if __name__ == "__main__":
    sys.exit(main())
