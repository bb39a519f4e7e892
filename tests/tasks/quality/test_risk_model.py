"""Hashed n-gram features and the shipped linear model (tasks/quality/risk_model.py) and how
label_risk / label_specialty combine it with the rules."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tasks.core import schema
from tasks.quality import labels
from tasks.quality import risk_model as rm

TEXTS = ["Chest PAIN since an hour", "chest pain since an hour", "我怀孕了，头痛", None, "", "x" * 50, "中文abc"]


def _dense(x: rm.Sparse, n_feat: int) -> np.ndarray:
    out = np.zeros((x.n_rows, n_feat))
    for r in range(x.n_rows):
        np.add.at(out[r], x.cols[x.indptr[r] : x.indptr[r + 1]], x.vals[x.indptr[r] : x.indptr[r + 1]])
    return out


def test_features_are_row_local_case_folded_and_null_safe():
    bits = 12
    x = _dense(rm.featurize(pl.Series(TEXTS), (3, 6), bits), 1 << bits)
    assert np.array_equal(x[0], x[1])  # ASCII case folded
    assert x[3].any() and np.array_equal(x[3], x[4])  # null == empty string
    # a row's features do not depend on its neighbours (no n-gram crosses rows)
    for i, t in enumerate(TEXTS):
        alone = _dense(rm.featurize(pl.Series([t], dtype=pl.String), (3, 6), bits), 1 << bits)[0]
        assert np.allclose(alone, x[i]), t


def test_inference_equals_training_features_times_weights(monkeypatch):
    model = rm.load_model()
    texts = pl.Series(TEXTS * 40)
    monkeypatch.setattr(rm, "_CHUNK_BYTES", 200)  # many chunks, two threads
    got = rm.scores(texts, model)
    x = rm.featurize(texts, model.orders, model.bits)
    for head, (classes, w, b) in model.heads.items():
        dense = np.zeros((1 << model.bits, len(classes)))
        dense[model.buckets] = w
        assert got[head].shape == (texts.len(), len(classes))
        assert np.allclose(got[head], rm.sparse_dot(x, dense) + b, atol=1e-4)


def test_sparse_product_scores_are_bit_identical_to_per_hit_sums(monkeypatch):
    """The shipped float16 weights make every sum exact, so the CSR product (fast path) gives the
    very bits of per-hit bincount sums; non-float16 weights take the slow path."""
    model = rm.load_model()
    texts = pl.Series([*TEXTS, "无"] * 300)  # "无" + padding: a row with fewer bytes than order 6
    monkeypatch.setattr(rm, "_CHUNK_BYTES", 5000)
    assert rm._exact_f16(np.concatenate([w for _, w, _ in model.heads.values()], axis=1))
    fast = rm.scores(texts, model)
    monkeypatch.setattr(rm, "_exact_f16", lambda w: False)
    slow = rm.scores(texts, model)
    for head in model.heads:
        assert np.array_equal(fast[head], slow[head]), head
    assert not rm._exact_f16(np.array([[0.1]], np.float64))


def test_shipped_model_matches_the_shipped_lexicon_and_is_small():
    model = labels.risk_model()
    assert model.meta["lexicon_version"] == labels.RISK_LEXICON_VERSION
    assert model.meta["rule_features"] == labels.rule_feature_names()
    assert labels.RISK_VERSION.startswith(model.version)
    assert (rm.MODEL_DIR / rm.RISK_MODEL_FILE).stat().st_size < 3_000_000
    assert set(model.heads["specialty"][0]) <= set(labels.load_lexicon(labels.SPECIALTY_LEXICON_FILE)["specialties"])


def test_a_model_trained_on_other_rules_is_refused(monkeypatch):
    labels.risk_model.cache_clear()
    monkeypatch.setattr(labels, "RISK_LEXICON_VERSION", "risk.v0")
    try:
        with pytest.raises(ValueError, match="retrain"):
            labels.risk_model()
    finally:
        labels.risk_model.cache_clear()


def test_label_risk_reasons_name_rules_and_a_model_override():
    frame = pl.DataFrame({schema.QUESTION: TEXTS})
    rules = labels.label_risk_rules(frame.lazy()).collect()
    got = labels.label_risk(frame.lazy()).collect()
    assert got[schema.RISK_LEVEL].is_in(list(schema.RISK_LEVELS)).all()
    for r_level, r_reasons, level, reasons in zip(rules[schema.RISK_LEVEL], rules[schema.RISK_REASONS].to_list(),
                                                  got[schema.RISK_LEVEL], got[schema.RISK_REASONS].to_list(), strict=True):
        assert reasons == sorted(reasons)
        expected = set(r_reasons) | ({f"model.{level}"} if level != r_level else set())
        assert set(reasons) == expected
