"""Risk and specialty labels: lexicon loading, rule semantics, column contract, eval target."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tasks.core import schema
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
    assert labels.RISK_LEXICON_VERSION == lex["version"] == "risk.v1.1"
    ids = [r["id"] for r in lex["rules"]]
    assert {"high.emergency", "high.self_harm", "high.medication", "high.pediatric", "high.poisoning",
            "high.pregnancy_lactation", "high.treatment_change"} <= set(ids)
    assert all(r["id"].split(".")[0] == r["level"] for r in lex["rules"])


@pytest.mark.parametrize(
    ("question", "level", "rule"),
    [
        ("我胸口压榨样疼痛，出冷汗，怎么办？", "high", "high.emergency"),
        ("I have crushing chest pain spreading to my arm", "high", "high.emergency"),
        ("最近总想自杀", "high", "high.self_harm"),
        ("I keep thinking about ending my life", "high", "high.self_harm"),
        ("布洛芬一次最多能吃几片？", "high", "high.medication"),
        ("What is the maximum daily dose of acetaminophen?", "high", "high.medication"),
        ("宝宝三个月大发烧39度怎么办？", "high", "high.pediatric"),
        ("My 6-month-old baby has a fever", "high", "high.pediatric"),
        ("怀孕两个月可以吃感冒药吗？", "high", "high.pregnancy_lactation"),
        ("Can I breastfeed while on codeine?", "high", "high.pregnancy_lactation"),
        ("吃了野蘑菇后呕吐，是不是中毒了？", "high", "high.poisoning"),
        ("Can I stop my blood pressure medication now?", "high", "high.treatment_change"),
        ("血压正常了，降压药可以停了吗？", "high", "high.treatment_change"),
        ("青霉素是谁发现的？", "low", "low.general_knowledge"),
        ("Who discovered penicillin?", "low", "low.general_knowledge"),
        ("每天走一万步对身体有好处吗？", "low", "low.lifestyle"),
        ("慢性胃炎怎么治疗？", "medium", "medium.clinical"),
        ("What are the common symptoms of hypothyroidism?", "medium", "medium.clinical"),
    ],
)
def test_rule_fires_and_sets_level(question, level, rule):
    row = _risk([question]).row(0, named=True)
    assert row[schema.RISK_LEVEL] == level
    assert rule in row[schema.RISK_REASONS]


def test_no_rule_defaults_to_medium_and_null_question_is_safe():
    got = _risk(["xyzzy plugh", None])
    assert got[schema.RISK_LEVEL].to_list() == ["medium", "medium"]
    assert got[schema.RISK_REASONS].to_list() == [[], []]


def test_highest_level_wins_and_reasons_sorted_unique():
    # clinical (medium) + lifestyle (low) + pregnancy (high) + child (high)
    row = _risk(["孕妇和孩子腹泻能吃什么水果？腹泻怎么治疗"]).row(0, named=True)
    reasons = row[schema.RISK_REASONS]
    assert row[schema.RISK_LEVEL] == "high"
    assert reasons == sorted(set(reasons))
    assert {"high.pediatric", "high.pregnancy_lactation", "low.lifestyle", "medium.clinical"} <= set(reasons)


def test_clinical_signal_outranks_lifestyle():
    assert _risk(["最近胃胀痛，吃什么好？"])[schema.RISK_LEVEL].item() == "medium"
    assert _risk(["高血压能吃羊肉吗？"])[schema.RISK_LEVEL].item() == "low"


def test_traditional_chinese_is_converted_before_matching():
    got = _risk(["懷孕期間可以服用退燒藥嗎？", "最近一直想自殺"])
    assert got[schema.RISK_LEVEL].to_list() == ["high", "high"]
    assert "high.pregnancy_lactation" in got[schema.RISK_REASONS][0]
    assert "high.self_harm" in got[schema.RISK_REASONS][1]


def test_full_width_and_case_are_normalised():
    assert _risk(["ＣＨＥＳＴ ＰＡＩＮ since an hour"])[schema.RISK_LEVEL].item() == "high"


def test_english_terms_need_word_boundaries():
    # "act" must not fire inside "contact"; "son" not inside "reason"
    row = _risk(["What is the reason for contact dermatitis?"]).row(0, named=True)
    assert "low.general_knowledge" not in row[schema.RISK_REASONS]
    assert "high.pediatric" not in row[schema.RISK_REASONS]


def test_exclusion_pattern_suppresses_rule():
    row = _risk(["Calculate the specificity of ECG in 700 subjects with acute chest pain"]).row(0, named=True)
    assert "high.emergency" not in row[schema.RISK_REASONS]


def test_answer_is_not_matched():
    got = labels.label_risk(_frame(["How many bones are in the adult body?"]).with_columns(
        pl.lit("Take 1000 mg paracetamol; if pregnant call 911").alias(schema.ANSWER))).collect()
    assert got[schema.RISK_LEVEL].item() == "low"


def test_user_history_turns_are_matched_but_not_assistant_turns():
    turn = pl.Struct({"role": pl.String, "content": pl.String})
    hist = pl.Series(schema.HISTORY, [
        [{"role": "user", "content": "我怀孕三个月了"}, {"role": "assistant", "content": "好的"}],
        [{"role": "assistant", "content": "你怀孕了吗？"}],
    ], dtype=pl.List(turn))
    lf = _frame(["可以喝咖啡吗？", "可以喝咖啡吗？"]).with_columns(hist)
    got = labels.label_risk(lf).collect()
    assert got[schema.RISK_LEVEL].to_list() == ["high", "low"]


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


def test_eval_set_meets_target():
    result = labels.evaluate_lexicon()
    assert result is not None, "tests/data/risk_eval.jsonl missing"
    assert result["n"] >= 300
    assert result["recall_high"] >= 0.9
    assert result["precision_high"] >= 0.8
    assert result["lexicon_version"] == labels.RISK_LEXICON_VERSION
    # both languages and all three levels are represented
    assert all(result["n_by_language_level"].get(f"{lang}/{lv}", 0) >= 20
               for lang in schema.LANGUAGES for lv in schema.RISK_LEVELS)


def test_evaluate_lexicon_none_when_eval_set_absent(monkeypatch, tmp_path):
    monkeypatch.setattr(labels, "EVAL_SET", tmp_path / "missing.jsonl")
    assert labels.evaluate_lexicon() is None
