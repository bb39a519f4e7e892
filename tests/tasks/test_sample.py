"""Sampler: quotas by weight and risk minimums, shortfalls reported, reproducible from the seed."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.core import schema as S
from tasks.core.errors import ConfigError
from tasks.sample import SPLIT, SampleConfig, allocate, draw


def pool(n_by: dict[tuple[str, str, str], int]) -> pl.DataFrame:
    rows = []
    for (src, risk, lang), n in n_by.items():
        rows += [{S.ID: f"{src}-{risk}-{lang}-{i:05d}", S.SOURCE: src, S.RISK_LEVEL: risk, S.LANGUAGE: lang} for i in range(n)]
    return pl.DataFrame(rows)


def test_allocate_respects_caps_and_redistributes():
    assert allocate(10, {"a": 2, "b": 100}, {"a": 0.5, "b": 0.5}) == {"a": 2, "b": 8}
    assert sum(allocate(7, {"a": 5, "b": 5, "c": 5}, {"a": 1, "b": 1, "c": 1}).values()) == 7


def test_weights_and_risk_minimums_are_met():
    p = pool({("a", "high", "en"): 300, ("a", "medium", "en"): 3000, ("a", "low", "zh"): 400,
              ("b", "high", "zh"): 500, ("b", "medium", "zh"): 2000, ("b", "low", "en"): 800})
    cfg = SampleConfig(size=2000, seed=1, weights={"a": 0.7, "b": 0.3}, min_high=0.2, min_low=0.2, rl_ground_truth="any")
    sample, rep = draw(p, cfg)
    assert sample.height == 2000
    share_a = (sample[S.SOURCE] == "a").mean()
    assert share_a == pytest.approx(0.7, abs=0.001)
    for src in ("a", "b"):
        sub = sample.filter(pl.col(S.SOURCE) == src)
        assert (sub[S.RISK_LEVEL] == "high").mean() >= 0.2 - 1e-9
        assert (sub[S.RISK_LEVEL] == "low").mean() >= 0.2 - 1e-9
    assert rep.shortfalls == []
    assert sample[S.ID].n_unique() == 2000
    assert set(sample[SPLIT]) == {"train", "val"}
    assert rep.splits["val"] == pytest.approx(100, abs=6)


def test_unfillable_stratum_is_reported_with_numbers():
    p = pool({("a", "high", "en"): 50, ("a", "medium", "en"): 5000, ("a", "low", "en"): 1000})
    _, rep = draw(p, SampleConfig(size=2000, seed=3))
    assert any("high-risk share" in s and "pool has 50" in s for s in rep.shortfalls)


def test_same_seed_same_sample_other_seed_differs():
    p = pool({("a", "high", "en"): 1500, ("a", "medium", "zh"): 1500, ("a", "low", "en"): 1500})
    cfg = SampleConfig(size=2000, seed=5)
    a, _ = draw(p, cfg)
    b, _ = draw(p.sample(fraction=1.0, shuffle=True, seed=9), cfg)  # input order must not matter
    c, _ = draw(p, SampleConfig(size=2000, seed=6))
    assert a.equals(b)
    assert not a.equals(c)


def test_small_pool_warns_instead_of_crashing():
    p = pool({("a", "high", "en"): 30, ("a", "low", "en"): 30})
    sample, rep = draw(p, SampleConfig(size=5000))
    assert sample.height == 60
    assert any("fewer than the 5,000 requested" in w and "below the recommended 2,000" in w for w in rep.warnings)


def test_out_of_range_size_needs_explicit_override():
    with pytest.raises(ConfigError, match="allow-out-of-range"):
        SampleConfig(size=500).check()
    SampleConfig(size=500, allow_out_of_range=True).check()


def test_risk_minimums_are_reserved_exactly_before_the_natural_mix():
    from tasks.sample import allocate_risk

    got = allocate_risk(1691, {"high": 500, "medium": 5000, "low": 2435}, SampleConfig(size=5000))
    assert sum(got.values()) == 1691
    assert got["low"] >= 339 and got["high"] >= 339  # ceil(0.2 * 1691), not 338 by rounding
    # a level the pool lacks cannot be reserved: the rest fills it, and the shortfall is real
    got = allocate_risk(100, {"high": 5, "medium": 500, "low": 0}, SampleConfig(size=5000))
    assert got == {"high": 5, "medium": 95, "low": 0}


def test_weights_shortfall_quotes_what_was_asked_and_what_was_drawn():
    """0.7 / 0.3 asked of 5,000 on a pool of 235 + 63: all records are used, and the shortfall
    names the asked 1,500 (30 % of 5,000), not 30 % of the pool."""
    p = pool({("a", "medium", "en"): 235, ("b", "medium", "en"): 63})
    _, rep = draw(p, SampleConfig(size=5000, weights={"a": 0.7, "b": 0.3}))
    (short,) = [s for s in rep.shortfalls if s.startswith("source b: asked")]
    assert "asked 30% of 5,000 = 1,500, drew 63" in short and "of the 298 drawn" in short
    assert any(w.startswith("asked 5,000, drew 298") for w in rep.warnings)


def test_tiny_validation_split_is_reported():
    p = pool({("a", "high", "en"): 10, ("a", "medium", "en"): 10, ("a", "low", "en"): 10})
    _, rep = draw(p, SampleConfig(size=30, allow_out_of_range=True))
    assert rep.splits.get("val", 0) < 20
    assert any(w.startswith("validation split has") for w in rep.warnings)
    _, rep = draw(p, SampleConfig(size=30, allow_out_of_range=True, val_fraction=0.0))
    assert not any(w.startswith("validation split has") for w in rep.warnings)


# --------------------------------------------------------------------- verifiability stratum
def vpool(n_by: dict[tuple[str, str, str, bool], int]) -> pl.DataFrame:
    """Like ``pool`` with a reference answer on the records flagged True."""
    rows = []
    for (src, risk, lang, ver), n in n_by.items():
        rows += [{S.ID: f"{src}-{risk}-{lang}-{ver}-{i:05d}", S.SOURCE: src, S.RISK_LEVEL: risk, S.LANGUAGE: lang,
                  S.REFERENCE_ANSWER: "short answer" if ver else None} for i in range(n)]
    return pl.DataFrame(rows, schema={S.ID: pl.String, S.SOURCE: pl.String, S.RISK_LEVEL: pl.String,
                                      S.LANGUAGE: pl.String, S.REFERENCE_ANSWER: pl.String})


def _mixed_pool() -> pl.DataFrame:
    # a natural mix dominated by a source without short answers (like chinese-dialogue)
    return vpool({("dlg", "high", "zh", False): 3000, ("dlg", "medium", "zh", False): 9000, ("dlg", "low", "zh", False): 3000,
                  ("ver", "high", "en", True): 800, ("ver", "medium", "zh", True): 4000, ("ver", "low", "en", True): 900,
                  ("sft", "medium", "en", False): 1500, ("sft", "high", "en", True): 200})


def _share(sample: pl.DataFrame) -> float:
    return sample[S.REFERENCE_ANSWER].is_not_null().mean()


def test_prefer_reaches_the_minimum_verifiable_share_from_a_mostly_unverifiable_pool():
    p = _mixed_pool()
    natural = _share(draw(p, SampleConfig(size=5000, seed=1, rl_ground_truth="any"))[0])
    sample, rep = draw(p, SampleConfig(size=5000, seed=1))  # default: prefer, 0.8
    assert natural < 0.5
    assert _share(sample) >= 0.8 and rep.verifiable["share"] == pytest.approx(_share(sample), abs=1e-4)
    assert rep.verifiable["by_source"]["dlg"]["drawn"] == 0 and rep.verifiable["by_source"]["ver"]["share"] == 1.0
    assert not any("verifiable share" in s for s in rep.shortfalls)
    for src, v in rep.by_source.items():  # risk minimums still hold per source
        sub = sample.filter(pl.col(S.SOURCE) == src)
        assert sub.height == v["drawn"]
        assert (sub[S.RISK_LEVEL] == "high").mean() >= 0.2 - 1e-9 or any(f"source {src}: high" in s for s in rep.shortfalls)


def test_verifiable_mode_draws_only_verifiable_records_and_names_the_shortfall():
    p = _mixed_pool()
    sample, rep = draw(p, SampleConfig(size=8000, seed=2, rl_ground_truth="verifiable"))
    n_ver = p[S.REFERENCE_ANSWER].is_not_null().sum()
    assert _share(sample) == 1.0 and sample.height == min(8000, n_ver)
    assert any(s.startswith("rl_ground_truth=verifiable") and f"{n_ver:,} verifiable" in s for s in rep.shortfalls)


def test_prefer_shortfall_is_named_when_weights_or_the_pool_cannot_give_it():
    p = _mixed_pool()
    _, rep = draw(p, SampleConfig(size=5000, seed=3, weights={"dlg": 0.6, "ver": 0.4}))
    (short,) = [s for s in rep.shortfalls if s.startswith("verifiable share")]
    n_ver = p.filter(pl.col(S.SOURCE) == "ver")[S.REFERENCE_ANSWER].is_not_null().sum()
    assert "weights" in short and f"ver {n_ver:,}" in short
    small = vpool({("a", "medium", "en", True): 100, ("a", "medium", "zh", False): 2900})
    _, rep = draw(small, SampleConfig(size=2000, seed=3))
    (short,) = [s for s in rep.shortfalls if s.startswith("verifiable share")]
    assert "the pool has only 100 verifiable records" in short and rep.verifiable["drawn"] == 100


def test_any_mode_is_the_draw_without_the_stratum():
    """``any`` ignores verifiability: the same records as a pool without reference answers."""
    p = _mixed_pool()
    cfg = SampleConfig(size=4000, seed=4, rl_ground_truth="any")
    a, _ = draw(p, cfg)
    b, _ = draw(p.with_columns(pl.lit(None, dtype=pl.String).alias(S.REFERENCE_ANSWER)), cfg)
    assert a[S.ID].to_list() == b[S.ID].to_list()
    assert a[SPLIT].to_list() == b[SPLIT].to_list()


def test_bad_ground_truth_mode_is_refused():
    with pytest.raises(ConfigError, match="rl_ground_truth"):
        SampleConfig(rl_ground_truth="maybe").check()
    with pytest.raises(ConfigError, match="min_verifiable"):
        SampleConfig(min_verifiable=1.5).check()


def test_prefer_never_lowers_a_verifiable_share_above_the_minimum():
    p = vpool({("a", "medium", "en", True): 9000, ("a", "medium", "zh", False): 1000,
               ("b", "medium", "en", True): 900, ("b", "low", "zh", False): 100})
    natural = _share(draw(p, SampleConfig(size=4000, seed=8, rl_ground_truth="any"))[0])
    for weights in (None, {"a": 0.5, "b": 0.5}):
        sample, _ = draw(p, SampleConfig(size=4000, seed=8, weights=weights))
        assert natural > 0.85 and _share(sample) >= natural - 0.001
