"""The card's 'Risk labeller' section renders the committed frozen-test figures and the version."""

from __future__ import annotations

from tasks.export.datacard import labeller_section
from tasks.quality import labels


def _m(v, lo, hi):
    return {"value": v, "ci95": [lo, hi]}


def _results(version: str) -> dict:
    group = {"n": 100, "recall_high": _m(0.91, 0.85, 0.96), "precision_high": _m(0.82, 0.75, 0.9),
             "accuracy": _m(0.8, 0.72, 0.86), "specialty_accuracy": _m(0.83, 0.77, 0.9)}
    conf = {e: {p: 1 for p in ("high", "medium", "low")} for e in ("high", "medium", "low")}
    return {"risk_version": version, "specialty_version": labels.SPECIALTY_VERSION, "bootstrap": 10, "seed": 1,
            "splits": {"dev": {"groups": {"all": group}, "confusion": conf},
                       "test": {"groups": {"all": group, "language=zh": {**group, "n": 50}}, "confusion": conf}}}


def test_section_shows_test_figures_intervals_and_version():
    lab = {"results": _results(labels.RISK_VERSION), "risk_version": labels.RISK_VERSION,
           "specialty_version": labels.SPECIALTY_VERSION}
    text = "\n".join(labeller_section(lab))
    assert labels.RISK_VERSION in text
    assert "0.91 (0.85–0.96)" in text and "language=zh" in text
    assert "drop dev − test" in text
    assert "warning" not in text


def test_section_warns_when_figures_belong_to_another_version_and_handles_absence():
    lab = {"results": _results("risk.v0"), "risk_version": labels.RISK_VERSION,
           "specialty_version": labels.SPECIALTY_VERSION}
    assert "warning" in "\n".join(labeller_section(lab))
    none = "\n".join(labeller_section({"results": None, "risk_version": "risk.vX", "specialty_version": "s"}))
    assert "no frozen-test figures" in none and "risk.vX" in none
