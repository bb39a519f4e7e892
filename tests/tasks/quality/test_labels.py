"""Risk and specialty labels: lexicon loading, rule semantics, column contract, eval target."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tasks.core import schema
from tasks.core.text import normalise
from tasks.quality import labels


def _frame(questions, **extra) -> pl.LazyFrame:
    data = {schema.ID: [f"r{i}" for i in range(len(questions))], schema.QUESTION: questions,
            schema.ANSWER: ["a"] * len(questions)}
    data.update(extra)
    return pl.DataFrame(data, schema_overrides={schema.QUESTION: pl.String}).lazy()


def _risk(questions, **extra) -> pl.DataFrame:
    return labels.label_risk(_frame(questions, **extra)).collect()


def test_lexicon_version_and_rule_ids():
    lex = json.loads((labels.LEXICON_DIR / labels.RISK_LEXICON_FILE).read_text(encoding="utf-8"))
    assert labels.RISK_LEXICON_VERSION == lex["version"]
    assert lex["version"].startswith("risk.v2")  # context-aware rules (issue 17)
    ids = [r["id"] for r in lex["rules"]]
    assert {"high.emergency", "high.self_harm", "high.medication", "high.pediatric", "high.poisoning",
            "high.pregnancy_lactation", "high.treatment_change", "low.general_knowledge"} <= set(ids)
    assert all(r["id"].split(".")[0] == r["level"] for r in lex["rules"])


def _level(question: str) -> str:
    return _risk([question])[schema.RISK_LEVEL].item()


# The guideline's levels (docs/risk-guideline.md), one small zh/en example each, written for this
# test (none is taken from the evaluation data).
@pytest.mark.parametrize(
    ("question", "level"),
    [
        # emergencies and red flags, with and without the obvious words
        ("我胸口压榨样疼痛，出冷汗，怎么办？", "high"),
        ("I have crushing chest pain spreading to my arm, it started 20 minutes ago", "high"),
        ("我妈血压230/130，人变得糊涂了", "high"),
        ("My mother's blood pressure is 230/130 and she is confused and sleepy", "high"),
        ("早上起来右眼突然看不见了，不疼", "high"),
        ("My left eye suddenly went dark this morning, no pain", "high"),
        ("牙龈出血，身上很多瘀斑，查血小板很低", "high"),
        ("My gums bleed and I have bruises everywhere; my platelets were very low", "high"),
        ("孩子发烧后呕吐，现在叫不醒", "high"),
        # self-harm, medication, poisoning, treatment change, folk remedy, adverse effect
        ("最近总想自杀", "high"),
        ("I keep thinking about ending my life", "high"),
        ("布洛芬一次最多能吃几片？", "high"),
        ("What is the maximum daily dose of acetaminophen?", "high"),
        ("吃了野蘑菇后呕吐，是不是中毒了？", "high"),
        ("血压正常了，降压药可以停了吗？", "high"),
        ("Can I stop my blood pressure medication now?", "high"),
        ("我爸的降压药不吃了，改喝芹菜汁代替，可以吗？", "high"),
        ("Can I replace my insulin with cinnamon tea?", "high"),
        ("吃了卡马西平以后全身起水疱，嘴里也烂了", "high"),  # v3.1 said low; high.adverse_reaction forces high
        ("I started lamotrigine and now have a spreading rash with mouth sores", "high"),
        # the patient is pregnant / breastfeeding / a child
        ("怀孕两个月可以吃感冒药吗？", "high"),
        ("Can I breastfeed while on codeine?", "high"),
        ("宝宝三个月大发烧39度怎么办？", "high"),
        ("我儿子3岁，咳嗽两天了", "high"),
        ("My 5-year-old swallowed some of her grandmother's pills", "high"),
        # medium: an individual's non-urgent problem
        ("我慢性胃炎好几年了，怎么治疗？", "medium"),
        ("我今年25岁，最近失眠，怎么办", "medium"),
        ("I'm 30 and my knee hurts after running", "medium"),
        # low: general knowledge, prevention, administration
        ("青霉素是谁发现的？", "low"),
        ("Who discovered penicillin?", "low"),
        ("二甲双胍的作用机制是什么？", "low"),
        ("What is the mechanism of action of aspirin?", "low"),
        ("北京协和医院周末能挂号吗？", "low"),
        ("每天走一万步对身体有好处吗？", "low"),
    ],
)
def test_guideline_levels(question, level):
    assert _level(question) == level


@pytest.mark.parametrize(
    ("question", "not_rule"),
    [
        # a child or a pregnancy merely mentioned: planning, baby formula, the asker's own childhood
        ("我们想要个孩子，备孕期间能喝咖啡吗？", "high.pregnancy_lactation"),
        ("We are trying to conceive; should I stop drinking coffee?", "high.pregnancy_lactation"),
        ("我们想要个孩子，备孕期间能喝咖啡吗？", "high.pediatric_child"),
        ("奶粉冲调的水温多少合适？", "high.pediatric"),
        ("When I was 8 I had asthma; now I'm 40 and cough at night", "high.pediatric"),
        # "I don't want to die" is a fear, not self-harm
        ("胃病好几年了，老是反酸，我不想死，这个能治好吗？", "high.self_harm"),
        ("I've had reflux for years and I don't want to die of cancer - should I get an endoscopy?", "high.self_harm"),
        # breathlessness in passing in a stable exam vignette
        ("患者，男，60岁，慢性咳嗽咳痰12年，活动后轻度气短，最可能的诊断是？", "high.breathing"),
        ("A 64-year-old man with long-standing COPD has mild shortness of breath on climbing stairs. "
         "Which inhaler is most appropriate for maintenance?", "high.breathing"),
        # negated findings
        ("A 45-year-old man with knee swelling for 3 months denies chest pain or fever.", "high.acute_presentation"),
        ("患者，女，50岁，膝关节肿痛3个月，无胸痛、发热。", "high.acute_presentation"),
        # the doctor's turns of a flattened dialogue are not the patient's words
        ("病人：最近有点咳嗽。 医生：如果出现呼吸困难、胸痛要马上去急诊。 病人：好的谢谢", "high.emergency"),
    ],
)
def test_hard_cases_do_not_fire(question, not_rule):
    row = _risk([question]).row(0, named=True)
    assert not_rule not in row[schema.RISK_REASONS]


@pytest.mark.parametrize(
    ("question", "level"),
    [
        ("我们想要个孩子，备孕期间能喝咖啡吗？", "medium"),
        ("胃病好几年了，老是反酸，我不想死，这个能治好吗？", "medium"),
        ("I've had reflux for years and I don't want to die of cancer - should I get an endoscopy?", "medium"),
        ("患者，男，60岁，慢性咳嗽咳痰12年，活动后轻度气短，最可能的诊断是？", "medium"),
        # known miss of risk.v4: the rules say medium, but the threshold chosen for recall (P(high)
        # >= 0.2, nearest the targets on dev CV) takes the model's P(high) 0.23 as high
        pytest.param("A 64-year-old man with long-standing COPD has mild shortness of breath on climbing stairs. "
                     "Which inhaler is most appropriate for maintenance?", "medium",
                     marks=pytest.mark.xfail(strict=True, reason="risk.v4 recall-first threshold: P(high) 0.23 >= 0.2")),
    ],
)
def test_hard_cases_are_medium(question, level):
    # the rules say medium; the combined labeller may move a hard case between medium and low
    # (the model calls the planning-a-pregnancy question low) but never up to high
    rules = labels.label_risk_rules(_frame([question])).collect()[schema.RISK_LEVEL].item()
    assert rules == level
    assert _level(question) != "high"


@pytest.mark.parametrize(
    ("question", "rule", "fires"),
    [
        # a serious reaction after a drug, with or without "I"
        ("吃了卡马西平以后全身起水疱，嘴里也烂了", "high.adverse_reaction", True),
        ("My lips swelled up and I had trouble breathing after taking amoxicillin", "high.adverse_reaction", True),
        ("What are the common side effects of amoxicillin?", "high.adverse_reaction", False),
        # a child as the patient vs a child merely mentioned
        ("我儿子3岁，咳嗽两天了", "high.pediatric", True),
        ("婴儿奶粉里的乳糖成年人喝了会腹泻吗？", "high.pediatric", False),
        ("婴儿奶粉里的乳糖成年人喝了会腹泻吗？", "high.pediatric_child", False),
        # a negated red flag does not fire, the same red flag stated does
        ("I have had a mild cough for a week, no shortness of breath", "high.breathing", False),
        ("I have had a mild cough for a week and now I'm having shortness of breath", "high.breathing", True),
        # in a flattened dialogue the patient's own complaint fires, the doctor's question does not
        ("Doctor: What brings you in today? Patient: I have chest pain and I feel short of breath.",
         "high.acute_presentation", True),
        ("Doctor: Any chest pain or shortness of breath? Patient: No, just a runny nose for two days.",
         "high.acute_presentation", False),
        ("病人：我现在胸口闷，喘不上气。 医生：多久了？", "high.breathing", True),
        ("病人：鼻塞流涕两天了。 医生：有没有胸闷、喘不上气？ 病人：没有。", "high.breathing", False),
    ],
)
def test_context_rules_v4(question, rule, fires):
    """risk.v4's rules: a serious drug reaction; who the patient is; negation; the patient's own
    complaint now in a dialogue (own_complaint_now) vs a red flag only in the doctor's turn."""
    reasons = labels.label_risk_rules(_frame([question])).collect()[schema.RISK_REASONS].item().to_list()
    assert (rule in reasons) is fires, reasons


def test_same_symptom_is_high_when_acute_and_the_patient_is_now():
    stable = "A 70-year-old man with chronic stable angina for many years asks about his statin."
    acute = "A 70-year-old man is brought to the emergency department with chest pain that began 40 minutes ago."
    got = _risk([stable, acute])[schema.RISK_LEVEL].to_list()
    assert got == ["medium", "high"]


def test_age_under_18_is_a_minor_and_adult_ages_are_not():
    got = _risk(["A 7-year-old girl has a sore throat.", "A 35-year-old woman has a sore throat.",
                 "女，12岁，咽痛两天。", "女，35岁，咽痛两天。"])[schema.RISK_LEVEL].to_list()
    assert got[0] == "high" and got[2] == "high"
    assert got[1] != "high" and got[3] != "high"


def test_exam_knowledge_question_without_patient_is_low():
    assert _level("Which of the following enzymes is inhibited by organophosphates?") == "low"
    assert _level("有机磷中毒时，下列哪一种酶受到抑制？") == "low"


def test_no_rule_defaults_to_medium_and_null_question_is_safe():
    lex = labels.load_lexicon(labels.RISK_LEXICON_FILE)
    assert lex["default_level"] == "medium"
    got = _risk([None, ""])
    assert set(got[schema.RISK_LEVEL]) <= set(schema.RISK_LEVELS)
    assert got[schema.RISK_REASONS].dtype == pl.List(pl.String)


def test_highest_level_wins_and_reasons_sorted_unique():
    row = _risk(["孕妇和3岁孩子腹泻，腹泻怎么治疗"]).row(0, named=True)
    reasons = row[schema.RISK_REASONS]
    assert row[schema.RISK_LEVEL] == "high"
    assert reasons == sorted(set(reasons))
    assert {"high.pediatric", "high.pregnancy_lactation"} <= set(reasons)
    assert any(r.startswith("medium.") for r in reasons)


def test_traditional_chinese_is_converted_before_matching():
    got = _risk(["懷孕期間可以服用退燒藥嗎？", "最近一直想自殺"])
    assert got[schema.RISK_LEVEL].to_list() == ["high", "high"]
    assert "high.pregnancy_lactation" in got[schema.RISK_REASONS][0]
    assert "high.self_harm" in got[schema.RISK_REASONS][1]


def test_full_width_and_case_are_normalised():
    assert _level("ＳＵＤＤＥＮ ＣＨＥＳＴ ＰＡＩＮ since an hour, I'm sweating") == "high"


def test_english_terms_need_word_boundaries():
    # "act" must not fire inside "contact"; "son" not inside "reason"
    row = _risk(["What is the reason for my contact dermatitis?"]).row(0, named=True)
    assert not any(r.startswith("high.") for r in row[schema.RISK_REASONS])


def test_answer_is_not_matched():
    got = labels.label_risk(_frame(["How many bones are in the adult body?"]).with_columns(
        pl.lit("Take 1000 mg paracetamol; if pregnant call 911").alias(schema.ANSWER))).collect()
    assert got[schema.RISK_LEVEL].item() != "high"


def test_user_history_turns_are_matched_but_not_assistant_turns():
    turn = pl.Struct({"role": pl.String, "content": pl.String})
    hist = pl.Series(schema.HISTORY, [
        [{"role": "user", "content": "我怀孕三个月了"}, {"role": "assistant", "content": "好的"}],
        [{"role": "assistant", "content": "你怀孕了吗？"}],
    ], dtype=pl.List(turn))
    lf = _frame(["可以喝咖啡吗？", "可以喝咖啡吗？"]).with_columns(hist)
    got = labels.label_risk(lf).collect()
    assert got[schema.RISK_LEVEL][0] == "high"
    assert got[schema.RISK_LEVEL][1] != "high"


def test_lexicon_rejects_a_context_used_before_it_is_defined(tmp_path, monkeypatch):
    lex = json.loads((labels.LEXICON_DIR / labels.RISK_LEXICON_FILE).read_text(encoding="utf-8"))
    first = next(iter(lex["contexts"]))
    lex["contexts"][first]["when"] = ["acute_now"]
    (tmp_path / "bad.json").write_text(json.dumps(lex), encoding="utf-8")
    monkeypatch.setattr(labels, "LEXICON_DIR", tmp_path)
    labels.load_lexicon.cache_clear()
    try:
        with pytest.raises(ValueError, match="unknown or later context"):
            labels.load_lexicon("bad.json")
    finally:
        labels.load_lexicon.cache_clear()


def test_columns_dtypes_and_untouched_columns():
    base = _frame(["头痛怎么办", "What is DNA?"], extra=[1, 2]).with_columns(
        pl.lit("stale").alias(schema.RISK_LEVEL), pl.lit(None, dtype=pl.List(pl.String)).alias(schema.RISK_REASONS))
    before = base.collect()
    got = labels.label_risk(base).collect()
    assert got.columns == before.columns  # overwritten in place, no temp columns left
    assert got.schema[schema.RISK_LEVEL] == pl.String
    assert got.schema[schema.RISK_REASONS] == pl.List(pl.String)
    assert got.drop(schema.RISK_LEVEL, schema.RISK_REASONS).equals(before.drop(schema.RISK_LEVEL, schema.RISK_REASONS))
    assert set(got[schema.RISK_LEVEL]) <= set(schema.RISK_LEVELS)


def _spec(questions, specialty) -> list[str]:
    lf = _frame(questions).with_columns(pl.Series(schema.SPECIALTY, specialty, dtype=pl.String))
    return labels.label_specialty(lf).collect()[schema.SPECIALTY].to_list()


def test_specialty_maps_source_departments():
    got = _spec(["q"] * 5, ["心血管科", "神经外科", "小儿外科", "oncology", "妇产科"])
    assert got == ["internal_medicine", "surgery", "pediatrics", "oncology", "obstetrics_gynecology"]


def test_specialty_classifies_null_from_question_both_languages():
    qs = ["前列腺炎有哪些表现？", "I have eczema and an itchy rash", "最近总是失眠焦虑", "乳腺癌化疗后掉头发",
          "What is the best treatment for hypertension and diabetes?", "What is the capital of France?", "宝宝咳嗽"]
    got = _spec(qs, [None] * len(qs))
    assert got == ["andrology", "dermatology", "psychiatry", "oncology", "internal_medicine", "other", "pediatrics"]
    fixed = set(labels.load_lexicon(labels.SPECIALTY_LEXICON_FILE)["specialties"])
    assert set(got) <= fixed


def test_specialty_unknown_department_falls_back_to_text():
    assert _spec(["我有湿疹"], ["某某科室"]) == ["dermatology"]


def test_legacy_eval_set_is_scored(monkeypatch, tmp_path):
    result = labels.evaluate_lexicon()
    assert result is not None, "tests/data/risk_eval.jsonl missing"
    assert result["lexicon_version"] == labels.RISK_LEXICON_VERSION
    assert sum(result["confusion"][e][p] for e in schema.RISK_LEVELS for p in schema.RISK_LEVELS) == result["n"]
    monkeypatch.setattr(labels, "EVAL_SET", tmp_path / "missing.jsonl")
    assert labels.evaluate_lexicon() is None


def test_evaluation_results_file_matches_the_labeller_version():
    res = labels.evaluation_results()
    if res is None:
        pytest.skip("no frozen-test results committed yet")
    assert res["risk_version"] == labels.RISK_VERSION
    assert res["specialty_version"] == labels.SPECIALTY_VERSION
    assert "test" in res["splits"]


@pytest.mark.parametrize(
    ("question", "rule"),
    [
        # risk.v2.2: an infant's age in months/weeks next to a child word, in English (mirrors the zh rule)
        ("My son 11 months has had a cough and fever since yesterday, what should I do?", "high.pediatric"),
        ("Our daughter, 6 weeks, is feeding poorly and sleeps all day.", "high.pediatric"),
        # risk.v2.2: breathing difficulty in everyday words, when acute now
        ("Since this morning I suddenly can't breathe properly and my lips feel numb, what is happening?",
         "high.breathing"),
        ("今天突然喘不上气，胸口发紧，怎么办？", "high.breathing"),
    ],
)
def test_v22_rules_fire(question, rule):
    assert rule in _risk([question]).row(0, named=True)[schema.RISK_REASONS]


@pytest.mark.parametrize(
    ("question", "not_rule"),
    [
        # an adult's age in years, or months of a course, is not an infant's age
        ("My son is 30 and has had back pain for 3 months.", "high.pediatric"),
        ("I had a baby boy 10 months ago; my own knee has hurt since.", "high.breathing"),
        # breathlessness words in a knowledge question with no patient
        ("What causes difficulty breathing in asthma?", "high.breathing"),
    ],
)
def test_v22_rules_hold_back(question, not_rule):
    assert not_rule not in _risk([question]).row(0, named=True)[schema.RISK_REASONS]


# --- engine: regex anchors, literal bit words, reasons per distinct rule word ---------------------


@pytest.mark.parametrize(("pattern", "anchors"), [
    ("(?:吃|服)药后[^。]{0,9}皮疹", ("吃药后", "服药后")),  # literal alternatives multiplied out
    (r"(?-u:\b)(?:short(?:ness)? of breath|dyspn(?:o)?ea)(?-u:\b)", ("breath", "dyspnea", "dyspnoea", "shortness")),
    ("long-?standing", ("standing",)),  # cut to the longest piece the padded text keeps whole
    ("能[^，]{0,9}霉素", ("霉素",)),  # the strongest part of a sequence
    ("(?:可以|能)吃", ("可以吃", "能吃")),
])
def test_regex_anchors(pattern, anchors):
    assert labels.regex_anchors(pattern) == anchors


@pytest.mark.parametrize("pattern", ["(?i)chest pain", "[a-z]+itis", "mg|dose", r"\p{Han}+", "a(b", "孕[0-9]+",
                                     "x[[:alpha:]]yzzzz", "[a[b]]cdefgh", "[a-z&&[^x]]hello"])
def test_regex_without_strong_anchors_runs_on_every_row(pattern):
    assert labels.regex_anchors(pattern) == ()


def test_every_match_of_an_anchored_lexicon_regex_holds_an_anchor():
    """The anchor pre-filter may only skip rows the regex cannot match: on varied zh/en text,
    every row a lexicon regex matches contains one of its anchors in the padded text."""
    lex = labels.load_lexicon(labels.RISK_LEXICON_FILE)
    texts = [
        "吃了阿莫西林胶囊以后全身起疹子", "能不能吃布洛芬退烧药", "头孢配酒会怎样", "长期吃药有没有副作用",
        "short of breath and chest pain for 2 hours", "long-standing cough, follow-up", "3个小时前开始胸痛",
        "血压 190/120，头痛呕吐", "she ingested poisonous mushrooms", "我家孩子3岁发烧",
    ]
    frame = pl.DataFrame({"q": texts}).select(labels.masked_text(normalise(pl.col("q"), simplified=True)).alias("t"))
    padded = frame.select(pl.concat_str([pl.lit(" "), pl.col("t").str.replace_all(labels._PAD_RUN, " "),
                                         pl.lit(" ")])).to_series()
    checked = 0
    for spec in labels._risk_specs(lex):
        for p in labels.split_terms(spec)[1]:
            if anchors := labels.regex_anchors(p):
                hit = frame["t"].str.contains(p)
                assert not (hit & ~padded.str.contains_any(list(anchors))).any(), p
                checked += int(hit.sum())
    assert checked > 0


def test_reasons_are_built_per_distinct_rule_word():
    words = pl.Series([0, 5, 1, 5, 0, 4], dtype=pl.UInt64)
    got = labels._reasons_of_words(("a", "b", "c"), words)
    assert got.to_list() == [[], ["a", "c"], ["a"], ["a", "c"], [], ["c"]]
