"""The rule-based reward: format, correctness (zh/en, multiple choice, free text) and the three
trainer entry points. Pure functions: no Prefect, no torch needed (torch is used if present)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.export.rl import reward as R

REWARD_FILE = Path(R.__file__)

WELL = "<think>\n{r}\n</think>\n\n{a}"


def resp(answer: str, reasoning: str = "Reasoning here.") -> str:
    return WELL.format(r=reasoning, a=answer)


# ------------------------------------------------------------------------------------ format
@pytest.mark.parametrize(
    "text",
    [
        "<think>\nx\n</think>\n\nD",
        "  <think>x</think>D",
        "<think>\nx\n</think>\n\nD<|im_end|>",
        "<think>\nx\n</think>\n\nD <|im_end|>\n<|endoftext|>  \n",  # several end tokens (stripped by a loop)
        "<think>\nx\n</think>\n\n答案：D<|endoftext|>",
    ],
)
def test_well_formed(text):
    assert R.is_well_formed(text)
    assert R.format_reward([text]) == [1.0]


@pytest.mark.parametrize(
    "text",
    [
        "D",  # no think block
        "<think>\nx\n</think>\n\n",  # empty answer
        "<think>\n\n</think>\n\nD",  # empty reasoning
        "<think>a</think><think>b</think>D",  # two blocks
        "Sure. <think>x</think>D",  # block not at the start
        "<think>x D",  # unclosed
        "x</think>D",  # no opening tag
        "",
    ],
)
def test_malformed(text):
    assert not R.is_well_formed(text)
    assert R.compute_score("medical-o1", text, "D") == 0.0


def test_think_in_prompt_env(monkeypatch):
    text = "reasoning\n</think>\n\nD"
    assert not R.is_well_formed(text)
    monkeypatch.setenv("MEDPREP_THINK_IN_PROMPT", "1")
    assert R.is_well_formed(text)


# ------------------------------------------------------------------------------- correctness
@pytest.mark.parametrize(
    "answer, gt, expected",
    [
        ("D", "D", 1.0),
        ("D. Parvovirus B19 infection", "D", 1.0),
        ("(D)", "D", 1.0),
        ("The answer is D.", "D. Parvovirus B19 infection", 1.0),
        ("**D** Parvovirus", "D", 1.0),
        ("答案：D", "D", 1.0),
        ("选D", "D", 1.0),
        ("C", "D", 0.0),
        ("C. Iron deficiency", "D. Parvovirus B19 infection", 0.0),
        ("Parvovirus B19 infection", "D. Parvovirus B19 infection", 1.0),  # no letter: option text
        ("parvovirus b19 infection!", "Parvovirus B19 infection", 1.0),  # normalisation
        ("Cefaclor", "Cefaclor.", 1.0),
        ("Ｎｅｏｓｔｉｇｍｉｎｅ", "Neostigmine", 1.0),  # NFKC full-width
        ("风湿热", "风湿热", 1.0),
        ("风湿热。", "风湿热", 1.0),
        ("缺铁性贫血", "细小病毒B19感染", 0.0),
        ("", "D", 0.0),
        ("anything", None, 0.0),
        ("Radial nerve", ["Ulnar nerve", "Radial nerve"], 1.0),  # list ground truth: best
    ],
)
def test_correctness_values(answer, gt, expected):
    assert R.correctness(answer, gt) == pytest.approx(expected)


def test_containment_floor_en_and_zh():
    assert R.correctness("The most likely diagnosis is parvovirus B19 infection.", "Parvovirus B19 infection") >= R.CONTAIN_SCORE
    assert R.correctness("最可能的诊断是细小病毒B19感染。", "细小病毒B19感染") >= R.CONTAIN_SCORE
    # the conclusion first, a long explanation after it: still right
    verbose = "This is most consistent with parvovirus B19 infection; " + "the reticulocyte count is low. " * 30
    assert R.correctness(verbose, "Parvovirus B19 infection") >= R.CONTAIN_SCORE
    # the answer only in the middle of a long essay (not its conclusion): the lower floor
    essay = "Many things are possible here. " * 15 + "Parvovirus B19 infection. " + "Many things are possible here. " * 15
    assert R.correctness(essay, "Parvovirus B19 infection") == pytest.approx(R.CONTAIN_LATE_SCORE)
    assert R.correctness("Upper gastrointestinal bleeds", "upper gastrointestinal bleed") == 1.0  # plural


def test_span_credit_needs_more_than_half_of_the_reference():
    # "Parvovirus B19" covers 2 of 3 reference tokens, early in the answer: 0.9 x span-F1 0.8
    assert R.correctness("Aplastic crisis associated with Parvovirus B19.", "Parvovirus B19 infection") == pytest.approx(0.72)
    # "nerve" is only half of "Radial nerve": no span credit, plain F1
    assert R.correctness("Ulnar nerve", "Radial nerve") == pytest.approx(0.5)


def test_partial_f1_is_between():
    value = R.correctness("Radial nerve palsy of the arm", "Radial nerve")
    assert 0.0 < value < 1.0
    zh = R.correctness("细菌感染", "细小病毒B19感染")  # character-level overlap
    assert 0.0 < zh < 1.0


def test_tokens_char_level_zh_word_level_en():
    assert R.tokens("细小病毒B19感染") == ["细", "小", "病", "毒", "b19", "感", "染"]
    assert R.tokens("The Radial, nerve!") == ["radial", "nerve"]


def test_no_false_letter_from_articles_and_genus():
    # "a" in "the answer is a viral infection" is not option A
    assert R.correctness("the answer is a viral infection", "A") == 0.0
    # "E. coli" is a genus, not option E
    assert R.correctness("B. cereus", "E. coli") < 0.5
    assert R.correctness("E. coli infection", "E. coli") >= R.CONTAIN_SCORE


# --------------------------------------------------------------------------- combined score
@pytest.mark.parametrize(
    "response, gt, expected",
    [
        (resp("D"), "D", 1.0),
        (resp("C"), "D", R.MIN_WELL_FORMED),
        ("D", "D", 0.0),  # right but malformed
        (resp("风湿热", "咽痛后游走性关节痛"), "风湿热", 1.0),
        (resp("风湿性关节炎", "关节痛"), "风湿热", None),  # partial: strictly between 0.1 and 1
        ("风湿热", "风湿热", 0.0),
    ],
)
def test_compute_score(response, gt, expected):
    score = R.compute_score("medical-o1", response, gt, {"language": "zh"})
    assert isinstance(score, float)
    if expected is None:
        assert R.MIN_WELL_FORMED < score < 1.0
    else:
        assert score == pytest.approx(expected)


def test_formula():
    score, ok, corr = R.combined_score(resp("Radial nerve palsy of the arm"), "Radial nerve")
    assert ok and score == pytest.approx(R.MIN_WELL_FORMED + (1 - R.MIN_WELL_FORMED) * corr)


# ------------------------------------------------------------------------------------ OpenRLHF
def test_reward_func_openrlhf_contract():
    prompt = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    queries = [
        prompt + resp("D") + "<|im_end|>",
        prompt + resp("C") + "<|im_end|>",
        prompt + "D<|im_end|>",
    ]
    out = R.reward_func(queries, [prompt] * 3, ["D", "D", "D"])
    assert set(out) == {"rewards", "scores", "extra_logs"}
    rewards = [float(x) for x in out["rewards"]]
    assert rewards == pytest.approx([1.0, R.MIN_WELL_FORMED, 0.0])
    assert [float(x) for x in out["scores"]] == pytest.approx(rewards)
    assert [float(x) for x in out["extra_logs"]["format_ok"]] == [1.0, 1.0, 0.0]
    try:
        import torch
    except ImportError:
        assert isinstance(out["rewards"], list)
    else:
        assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].dtype == torch.float32


def test_reward_func_query_not_starting_with_prompt():
    # the prompt re-rendered differently: fall back to the last assistant header
    query = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n" + resp("Radial nerve")
    out = R.reward_func([query], ["something else"], ["Radial nerve"])
    assert float(out["rewards"][0]) == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------- TRL
def test_trl_reward_functions_accept_strings_and_chat_lists():
    completions = [
        [{"role": "assistant", "content": resp("D")}],
        resp("C"),
        [{"role": "assistant", "content": "D"}],
    ]
    gts = ["D", "D", "D"]
    assert R.format_reward(completions, ground_truth=gts, trainer_state=None) == [1.0, 1.0, 0.0]
    assert R.correctness_reward(completions, gts, prompts=None) == [1.0, 0.0, 1.0]
    assert R.medical_reward(completions, gts) == pytest.approx([1.0, R.MIN_WELL_FORMED, 0.0])


# ------------------------------------------------------------------------- import by file path
def test_file_import_like_verl_and_openrlhf():
    for module_name in ("custom_module", "reward_func"):  # verl's and OpenRLHF's module names
        spec = importlib.util.spec_from_file_location(module_name, REWARD_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.compute_score("x", resp("D"), "D") == 1.0
        assert float(module.reward_func([resp("D")], [""], ["D"])["rewards"][0]) == 1.0


def test_module_import_is_light():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(REWARD_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "heavy = [k for k in ('torch', 'polars', 'prefect', 'transformers') if k in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ------------------------------------------------ letters after bold markers, multi-answer truths
@pytest.mark.parametrize(
    "answer, gt, expected",
    [
        ("4. 排除法：其他选项较弱。\n\n**答案**：E", "E", 1.0),  # bold marker before the colon
        ("**答案**：D", "E", 0.0),
        ("A选项×，B选项√\n\n**最终答案**：ACD", "ACD", 1.0),  # multi-answer truth
        ("### 最终答案：\nBCD", "BCDE", 0.0),  # misses one letter
        ("5. **正确答案**：A、B、E符合题意。\n\n**最终答案：ABE**", "ABE", 1.0),
        ("5. **正确选项**：A、C、E。\n\n**答案：ACE**", "ACDE", 0.0),
        ("ACD", "ACD", 1.0),
    ],
)
def test_letter_markers_and_letter_sets(answer, gt, expected):
    assert R.correctness(answer, gt) == expected


# ------------------------------------------------- free text: conclusion, hedges, negation, synonyms
COT = "Let me think.\n\nParvovirus B19 infection could explain the rash. The anemia is microcytic, though.\n\n"


@pytest.mark.parametrize(
    "answer, gt, right",
    [
        # a mention in the reasoning, another conclusion: the conclusion decides
        (COT + "So, in conclusion, this is iron deficiency anemia.", "Parvovirus B19 infection", False),
        (COT + "So, in conclusion, this is iron deficiency anemia.", "Iron deficiency anemia", True),
        # a conclusion stated last (chain-of-thought style) counts
        (COT + "Everything fits iron deficiency anemia.", "Iron deficiency anemia", True),
        # an explicit final answer overrides earlier mentions and the first sentence
        ("Parvovirus B19 infection is tempting.\nFinal answer: iron deficiency anemia", "Parvovirus B19 infection", False),
        ("Parvovirus B19 infection is tempting.\n**Final Answer:**\n\nIron deficiency anemia.", "Iron deficiency anemia", True),
        ("先考虑风湿热。\n\n综上，最终答案是：类风湿关节炎。", "风湿热", False),
        ("先考虑类风湿关节炎。\n\n答案是风湿热。", "风湿热", True),
    ],
)
def test_the_conclusion_decides(answer, gt, right):
    assert (R.correctness(answer, gt) > 0.5) is right


@pytest.mark.parametrize(
    "answer, gt",
    [
        ("It could be parvovirus B19 infection, iron deficiency or folate deficiency.", "Parvovirus B19 infection"),
        ("Either radial nerve palsy or a stroke.", "Radial nerve palsy"),
        ("Withhold it for about 5 to 7 days before surgery.", "7 days"),
        ("Withhold it for 5-7 days.", "7 days"),
        ("Withhold it for 7 to 10 days.", "7 days"),
        ("可能是风湿热或类风湿关节炎。", "风湿热"),
    ],
)
def test_a_hedged_list_is_not_a_choice(answer, gt):
    score = R.correctness(answer, gt)
    assert 0.0 < score <= R.HEDGE_SCORE  # some credit for being close, never a pass
    chosen = answer.replace(" or folate deficiency", "").replace("Either ", "").replace(" or a stroke", "")
    chosen = chosen.replace("about 5 to ", "").replace("5-", "").replace(" to 10", "").replace("或类风湿关节炎", "")
    assert R.correctness(chosen, gt) >= R.CONTAIN_SCORE  # the same sentence without the alternatives passes


@pytest.mark.parametrize(
    "answer, gt",
    [
        ("Decomposition is fastest in water, not soil.", "Soil"),
        ("The findings rule out parvovirus B19 infection.", "Parvovirus B19 infection"),
        ("This isn't a radial nerve palsy.", "Radial nerve palsy"),
        ("Parvovirus B19 infection is unlikely.", "Parvovirus B19 infection"),
        ("患者不是风湿热。", "风湿热"),
        ("可以排除风湿热。", "风湿热"),
        ("非霍奇金淋巴瘤。", "霍奇金淋巴瘤"),
        # a negative reference needs a negative answer
        ("Neostigmine crosses the blood-brain barrier.", "Neostigmine does not cross the blood-brain barrier"),
    ],
)
def test_negation_of_the_reference_is_wrong(answer, gt):
    assert R.correctness(answer, gt) < 0.5
    assert R.compute_score("x", resp(answer), gt) <= (R.MIN_WELL_FORMED + 1) / 2


def test_negation_words_that_do_not_negate():
    assert R.correctness("Not only fever but parvovirus B19 infection explains it.", "Parvovirus B19 infection") >= R.CONTAIN_SCORE
    assert R.correctness("The cause is not viral but bacterial pneumonia.", "Bacterial pneumonia") >= R.CONTAIN_SCORE
    assert R.correctness("不是风湿热，而是类风湿关节炎。", "类风湿关节炎") >= R.CONTAIN_SCORE
    assert R.correctness("Neostigmine does not cross the blood brain barrier.", "Neostigmine does not cross the blood-brain barrier") >= R.CONTAIN_SCORE
    # a negated question answered with "X is not ...": the negation after the answer is not read
    assert R.correctness("Myocardial infarction is not a cause of constrictive pericarditis.", "Myocardial infarction") >= R.CONTAIN_SCORE


@pytest.mark.parametrize(
    "answer, gt",
    [
        ("The patient had a heart attack.", "Myocardial infarction"),
        ("Give paracetamol.", "Acetaminophen"),
        ("Caesarean section.", "Cesarean section"),
        ("Bacillus anthracis", "Bacillus anthracus"),  # Latin ending misspelt in the reference
        ("Induction of labour.", "Induce labor"),
        ("诊断为心梗。", "心肌梗死"),
        ("Propranolol is the drug of choice.", "Beta blocker"),  # more specific than the reference
        ("The main risk is neutropenia.", "Bone marrow suppression"),
        ("Congestive heart failure.", "Heart failure"),  # a longer term contains the reference
        ("乙型肝炎。", "肝炎"),
    ],
)
def test_synonyms_spelling_variants_and_more_specific_terms(answer, gt):
    assert R.correctness(answer, gt) >= R.CONTAIN_SCORE


def test_a_broader_answer_does_not_match_a_more_specific_reference():
    assert R.correctness("A beta blocker.", "Propranolol") < 0.5
    assert R.correctness("Heart failure.", "Congestive heart failure") < 0.9
    assert R.correctness("Dysphasia.", "Dysphagia") == 0.0  # one letter apart, different things
    # a known term that shares characters with the reference is one concept, not its characters
    assert R.correctness("类风湿关节炎", "风湿热") == 0.0
