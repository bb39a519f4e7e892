"""The risk model's training script (eval/train_risk.py): threshold choice, feature layout, and a
deterministic fit, on tiny inputs written here (the dev split is not read)."""

from __future__ import annotations

import numpy as np
import polars as pl

from tests.support.scripts import load_script


def _script():
    return load_script("eval/train_risk.py")


def test_threshold_is_the_point_nearest_the_targets_not_the_most_accurate():
    tr = _script()
    rows = [
        (0.2, {"recall_high": 0.88, "precision_high": 0.70, "accuracy": 0.76}),  # worst ratio 0.875
        (0.3, {"recall_high": 0.80, "precision_high": 0.76, "accuracy": 0.78}),  # worst ratio 0.889
        (0.5, {"recall_high": 0.70, "precision_high": 0.82, "accuracy": 0.80}),  # most accurate; 0.778
    ]
    assert tr.choose_threshold(rows) == 0.3
    assert tr.target_ratio({"recall_high": 0.9, "precision_high": 0.8, "accuracy": 0.8}) == 1.0
    # a tie on the worst ratio goes to the higher recall
    tied = [(0.4, {"recall_high": 0.72, "precision_high": 0.9, "accuracy": 0.9}),
            (0.3, {"recall_high": 0.75, "precision_high": 0.64, "accuracy": 0.9})]
    assert tr.choose_threshold(tied) == 0.3


def test_rule_columns_follow_each_rows_ngrams():
    tr = _script()
    rm = tr.rm
    x = rm.featurize(pl.Series(["abc abc", "", "xyz"]), (3,), 8)
    out = tr.with_extra(x, [["b"], ["a", "b"], []], ["a", "b"], 256, scale=2.0)
    for r, names in enumerate([["b"], ["a", "b"], []]):
        seg = slice(out.indptr[r], out.indptr[r + 1])
        ngrams = slice(x.indptr[r], x.indptr[r + 1])
        n = x.indptr[r + 1] - x.indptr[r]
        assert out.cols[seg][:n].tolist() == x.cols[ngrams].tolist()
        assert out.vals[seg][:n].tolist() == x.vals[ngrams].tolist()
        assert out.cols[seg][n:].tolist() == [256 + ["a", "b"].index(k) for k in names]
        assert out.vals[seg][n:].tolist() == [2.0] * len(names)


def test_fit_is_deterministic_and_learns_a_separable_toy_set():
    tr = _script()
    rm = tr.rm
    texts = pl.Series(["chest pain now", "chest pain again", "what is a cell", "what is a gene"] * 3)
    y = np.array([0, 0, 2, 2] * 3)
    x = rm.featurize(texts, (3,), 10)
    w1, b1 = tr.fit(x, y, 3, 1 << 10, 1e-4, 2, steps=60)
    w2, b2 = tr.fit(x, y, 3, 1 << 10, 1e-4, 2, steps=60)
    assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    pred = tr.softmax(rm.sparse_dot(x, w1) + b1).argmax(axis=1)
    assert pred.tolist() == y.tolist()
