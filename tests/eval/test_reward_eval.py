"""The reward agreement harness runs on the labelled dev split (the test split is not opened)."""

from __future__ import annotations

from tests.support.scripts import load_script


def _harness():
    return load_script("eval/reward_eval.py")


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
