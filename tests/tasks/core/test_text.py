"""tasks/core/text.py: one CJK definition, one normaliser, shared by labels, dedup, language and RL."""

from __future__ import annotations

import re

import polars as pl

from tasks.core import text
from tasks.export.rl import reward


def test_reward_keeps_an_equal_copy_of_the_cjk_script_class():
    # trainers load reward.py by path (stdlib only), so it cannot import tasks.core.text
    assert reward._CJK == text.CJK_SCRIPT


def test_classes_nest_and_cover_the_scripts():
    assert text.CJK_SCRIPT.startswith(text.CJK_IDEOGRAPHS)
    assert text.CJK_WIDE.startswith(text.CJK_SCRIPT)
    ideo, script, wide = (re.compile(f"[{c}]") for c in (text.CJK_IDEOGRAPHS, text.CJK_SCRIPT, text.CJK_WIDE))
    for ch in "头痛𠀀豈":  # basic, extension B, compatibility ideograph
        assert ideo.match(ch)
    for ch in "かカ한":
        assert script.match(ch) and not ideo.match(ch)
    for ch in "，。Ａ":
        assert wide.match(ch) and not script.match(ch)
    assert not wide.match("a") and not wide.match("é")


def test_polars_and_python_normalise_agree():
    samples = ["  Ｈｅａｄache\t\n  BAD ", "头痛  三天", None, "", "Ⅻ ﬁ"]
    got = pl.select(text.normalise(pl.Series("t", samples, dtype=pl.String))).to_series().to_list()
    assert got == [text.normalise_str(s) for s in samples]
    assert got[0] == "headache bad"


def test_simplified_converts_only_chinese_strings_and_keeps_order():
    assert text.to_simplified(["頭痛", "abc", "醫院"]) == ["头痛", "abc", "医院"]
    s = pl.Series(["懷孕", "x\ue000懷孕", "plain", None, "懷孕"])
    assert text._t2s_series(s).to_list() == ["怀孕", "x\ue000怀孕", "plain", None, "怀孕"]
    out = pl.select(text.normalise(pl.lit("醫院 ＡＢ"), simplified=True)).item()
    assert out == "医院 ab"


def test_normalise_fast_paths_equal_the_full_passes():
    """NFKC skipped on ASCII rows and whitespace collapsing skipped where nothing would change:
    the same strings as NFKC -> lowercase -> collapse -> strip on every row."""
    texts = ["  A\tb  ", "ｆｕｌｌ　ｗｉｄｔｈ", None, "", "x\u00a0y", "a\u2028b", "ΣΑΣ", "ﬁ", "a  b", " lead",
             "trail ", "İ", "\n", "中\u3000文", "plain ascii", "Ⅱ型 10⁹/L", "e\u0301"]
    frame = pl.DataFrame({"q": texts}, schema={"q": pl.String})
    full = frame.select(pl.col("q").fill_null("").str.normalize("NFKC").str.to_lowercase()
                        .str.replace_all(r"\s+", " ").str.strip_chars()).to_series()
    got = frame.select(text.normalise(pl.col("q"))).to_series()
    assert got.to_list() == full.to_list()
    assert got.to_list()[:2] == ["a b", "full width"]
