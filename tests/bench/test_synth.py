"""The demo generators: the shipped files are what they write, every ground truth answers its
question, the patient fits the case, and multiple-choice items are consistent."""

from __future__ import annotations

import json
from collections import Counter

from bench import synth
from bench import synth_sources as ss
from tests.conftest import DEMO_SAMPLES

# tests/bench mirrors bench/ (the generators of the shipped demo files)


def test_shipped_demo_files_are_what_the_generators_write(tmp_path):
    synth.write_samples(tmp_path)
    ss.write_samples(tmp_path)
    shipped = sorted(p.relative_to(DEMO_SAMPLES).as_posix() for p in DEMO_SAMPLES.rglob("*") if p.is_file())
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert shipped == written
    for rel in written:  # regenerate with `python -m bench.synth --samples data/samples` (and bench.synth_sources)
        assert (tmp_path / rel).read_bytes() == (DEMO_SAMPLES / rel).read_bytes(), rel


def test_medical_o1_demo_uses_each_case_once_and_asks_what_the_truth_answers():
    en = json.loads((DEMO_SAMPLES / "medical_o1_sft.json").read_text(encoding="utf-8"))
    assert len(en) == len(synth.EN_CASES) + len(synth.EN_GENERAL)
    assert max(Counter(r["Ground-True Answer"] for r in en).values()) == 1  # no case repeated
    by_truth = {c.truth: c for c in synth.EN_CASES}
    for r in en:
        case = by_truth.get(r["Ground-True Answer"])
        if case is None:  # general knowledge (checked below)
            continue
        assert r["Response"].startswith(r["Ground-True Answer"])
        asks = [case.ask[0]] if case.ask else synth.ASKS[case.kind][0]
        assert any(r["Question"].endswith(a) for a in asks), r["Question"]  # a drug question for a drug, …
        assert case.findings in r["Question"]
        if case.who == "infant":
            assert "month-old" in r["Question"]
        if case.who in ("preg", "breastfeeding", "woman"):
            assert " man " not in r["Question"] and "boy" not in r["Question"]
        # the MedQA-style item: the answer letter names the ground truth, among the case's distractors
        opts = r["options"]
        assert opts[r["answer_idx"]] == r["answer"] == r["Ground-True Answer"]
        assert sorted(opts.values()) == sorted([case.truth, *case.distractors])
    assert len({r["answer_idx"] for r in en if "answer_idx" in r}) >= 3  # the source's letters vary


def test_general_knowledge_truths_answer_their_question():
    zh = {q: gt for q, _, gt in synth.ZH_GENERAL}
    assert zh["《本草纲目》是一部什么样的著作？"] != "李时珍" and "药物学" in zh["《本草纲目》是一部什么样的著作？"]
    from tasks.export.rl.reward import correctness

    for q, answer, gt in synth.EN_GENERAL + synth.ZH_GENERAL:  # the written answer supports the short truth
        assert correctness(answer, gt) >= 0.5, (q, gt, correctness(answer, gt))
    truths = {title: truth for title, _, _, truth in ss.GENERAL}
    assert "药物学" in truths["李时珍与本草纲目"] and truths["伦琴与X线"] != "伦琴"


def test_verifiable_vignettes_fit_the_patient():
    recs = ss.verifiable_records(2 * len(ss.EN_VIGNETTES) * 3, seed=5)
    for r in recs:
        q = r["Open-ended Verifiable Question"]
        if "projectile non-bilious vomiting" in q:
            assert "week-old" in q
        if "gestation" in q:
            assert " man " not in q and "boy" not in q
    assert not any("家长" in r["Open-ended Verifiable Question"] and "岁，" in r["Open-ended Verifiable Question"][:12] for r in recs)


def test_generators_are_deterministic():
    assert synth.medical_o1_records(50, "zh", seed=3) == synth.medical_o1_records(50, "zh", seed=3)
    assert ss.dialogue_rows(30, None, seed=2) == ss.dialogue_rows(30, None, seed=2)
    assert synth.medical_o1_records(50, "en", seed=3) != synth.medical_o1_records(50, "en", seed=4)
