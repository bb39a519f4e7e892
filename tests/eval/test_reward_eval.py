"""The reward agreement harness runs on the labelled dev split (the test split is not opened)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _harness():
    spec = importlib.util.spec_from_file_location("reward_eval", REPO / "eval" / "reward_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_harness_scores_dev_and_counts_add_up(tmp_path):
    result = _harness().main(["--split", "dev", "--out", str(tmp_path / "r.json")])
    dev = result["dev"]["all"]
    assert dev["n"] == result["dev"]["en"]["n"] + result["dev"]["zh"]["n"] >= 50
    wrong_verdicts = dev["accepted_wrong"] + dev["missed_right"]
    assert abs(dev["agreement"] - (1 - wrong_verdicts / dev["n"])) < 1e-3
    assert dev["ci95"][0] <= dev["agreement"] <= dev["ci95"][1]
    assert not (tmp_path / "r.json").exists()  # dev-only runs write nothing


def test_verdict_threshold_is_the_midpoint():
    h = _harness()
    reward = h.load_reward()
    rows = [{"response": "Parvovirus B19 infection.", "ground_truth": "Parvovirus B19 infection", "lang": "en", "label": "right"},
            {"response": "Iron deficiency.", "ground_truth": "Parvovirus B19 infection", "lang": "en", "label": "wrong"}]
    assert h.verdicts(rows, reward) == [True, False]
