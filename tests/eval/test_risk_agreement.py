"""The inter-annotator agreement script (eval/risk_agreement.py) and its committed sample file.

Kappa and the sample rule are checked on tiny inputs; the committed sample is checked for
consistency with the blind labels and with the corrected dev files. Only dev files are read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.support.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "eval" / "risk" / "data"


def _agreement():
    return load_script("eval/risk_agreement.py")


def test_cohen_kappa_matches_hand_computed_values():
    ag = _agreement()
    # observed 3/4, chance (2*1 + 2*3)/16 = 1/2 -> kappa (0.75 - 0.5) / 0.5 = 0.5
    assert ag.cohen_kappa(["high", "high", "low", "low"], ["high", "low", "low", "low"]) == pytest.approx(0.5)
    assert ag.cohen_kappa(["a", "b", "c"], ["a", "b", "c"]) == pytest.approx(1.0)
    assert math.isnan(ag.cohen_kappa(["a", "a"], ["a", "a"]))
    with pytest.raises(ValueError):
        ag.cohen_kappa(["a"], ["a", "b"])


def _item(i: int, lang: str, repo: str) -> dict:
    return {"id": f"{lang}-{repo[-1]}-{i}", "origin": f"{repo}:f.json@abc1234#{i}"}


def test_draw_sample_takes_only_new_items_per_source_and_is_seeded():
    ag = _agreement()
    base = {"zh": [_item(i, "zh", "o/a") for i in range(5)], "en": []}
    pool = {"zh": [_item(i, "zh", "o/a") for i in range(20)] + [_item(i, "zh", "o/b") for i in range(10)],
            "en": [_item(i, "en", "o/c") for i in range(10)]}
    alloc = (("zh", "o/a", 4), ("zh", "o/b", 3), ("en", "o/c", 2))
    ids = ag.draw_sample(base, pool, alloc, seed=7)
    assert ids == ag.draw_sample(base, pool, alloc, seed=7)
    assert len(set(ids)) == 9
    old = {item["id"] for item in base["zh"]}
    assert not old & set(ids)
    assert sum(i.startswith("zh-a-") for i in ids) == 4 and sum(i.startswith("zh-b-") for i in ids) == 3
    with pytest.raises(ValueError):
        ag.draw_sample(base, pool, (("en", "o/c", 11),), seed=7)


def test_report_counts_confusion_and_verdicts():
    ag = _agreement()
    rows = [{"id": str(i), "language": "zh", "source_kind": "exam", "source": "o/a",
             "risk_first": a, "risk_second": b, "specialty_first": "other", "specialty_second": "other",
             "risk_verdict": v, "specialty_verdict": "agree"}
            for i, (a, b, v) in enumerate([("high", "high", "agree"), ("high", "medium", "first"),
                                           ("low", "low", "agree"), ("medium", "low", "borderline")])]
    text = ag.report(rows)
    assert "| high | 1 | 1 | 0 |" in text
    assert "| medium | 0 | 0 | 1 |" in text
    assert "| risk | 2 | 1 | 0 | 1 |" in text


def test_committed_sample_is_consistent_with_blind_labels_and_dev_fixes():
    ag = _agreement()
    rows = ag.read_sample(DATA / "agreement_sample.jsonl")
    blind = {r["id"]: r for r in map(json.loads, (DATA / "agreement_second_labels.jsonl").read_text().splitlines())}
    assert [r["id"] for r in rows] == list(blind)
    dev = {}
    for lang in ("zh", "en"):
        for line in (DATA / f"dev_{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            dev[item["id"]] = item
    for r in rows:
        assert r["risk_second"] == blind[r["id"]]["risk2"] and r["specialty_second"] == blind[r["id"]]["specialty2"]
        for field in ("risk", "specialty"):
            verdict = r[f"{field}_verdict"]
            assert verdict in {"agree", "first", "second", "borderline"}
            assert (verdict == "agree") == (r[f"{field}_first"] == r[f"{field}_second"]), r["id"]
            want = r[f"{field}_second"] if verdict == "second" else r[f"{field}_first"]
            assert r[f"{field}_adjudicated"] == want, r["id"]
            if verdict == "second":  # the correction landed in the dev file
                assert dev[r["id"]][field] == want and "adjudicated" in dev[r["id"]]["why"], r["id"]
