"""Stratified, seeded sample: source weight x risk level x language, then a stratified split.

Randomness comes from sha256(seed, id) — the same on every machine and Polars version — so the
same pool and seed give the same sample byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl
import polars_hash  # noqa: F401  (registers .chash)
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.logs import log
from tasks.core.results import FileRef, Sample
from tasks.core.storage import write_parquet
from tasks.sample_config import RECOMMENDED, SampleConfig

SPLIT = "split"
MIN_VAL = 20  # fewer validation records than this gets a warning


@dataclass
class SampleReport:
    """What the sampler achieved, for the data card."""

    requested: int
    drawn: int
    pool: int
    by_source: dict[str, dict] = field(default_factory=dict)
    shortfalls: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain dict."""
        return asdict(self)


def allocate(total: int, available: dict[str, int], shares: dict[str, float]) -> dict[str, int]:
    """Split ``total`` across keys by ``shares`` (largest remainder), never above ``available``;
    what a full key cannot take is redistributed to the others by their shares."""
    alloc = {k: 0 for k in available}
    open_keys = [k for k in available if available[k] > 0 and shares.get(k, 0) > 0]
    remaining = min(total, sum(available[k] for k in open_keys))
    while remaining > 0 and open_keys:
        wsum = sum(shares[k] for k in open_keys)
        exact = {k: remaining * shares[k] / wsum for k in open_keys}
        step = {k: math.floor(v) for k, v in exact.items()}
        # largest remainders get the leftover units; ties broken by key for determinism
        left = remaining - sum(step.values())
        for k in sorted(open_keys, key=lambda k: (-(exact[k] - step[k]), k))[:left]:
            step[k] += 1
        progressed = 0
        for k in open_keys:
            take = min(step[k], available[k] - alloc[k])
            alloc[k] += take
            progressed += take
        remaining -= progressed
        open_keys = [k for k in open_keys if alloc[k] < available[k]]
        if progressed == 0:
            break
    return alloc


def allocate_risk(total: int, avail: dict[str, int], cfg: SampleConfig) -> dict[str, int]:
    """Risk quotas of one source: the minimum high and low counts first (as far as the pool has
    them), then the rest by the pool's natural mix."""
    minimum = {
        "high": min(avail.get("high", 0), math.ceil(cfg.min_high * total)),
        "low": min(avail.get("low", 0), math.ceil(cfg.min_low * total)),
        "medium": 0,
    }
    while sum(minimum.values()) > total:  # tiny totals: trim the larger reservation
        k = max(("high", "low"), key=lambda r: (minimum[r], r))
        minimum[k] -= 1
    rest_avail = {r: avail.get(r, 0) - minimum[r] for r in S.RISK_LEVELS}
    n = sum(avail.values()) or 1
    rest = allocate(total - sum(minimum.values()), rest_avail, {r: avail.get(r, 0) / n for r in S.RISK_LEVELS})
    return {r: minimum[r] + rest[r] for r in S.RISK_LEVELS}


def random_key(seed: int, salt: str) -> pl.Expr:
    """A uniform pseudo-random integer per record from sha256(seed, salt, id)."""
    h = pl.concat_str([pl.lit(f"{seed}\x1f{salt}\x1f"), pl.col(S.ID)]).chash.sha2_256()
    return h.str.slice(0, 15).str.to_integer(base=16)


def draw(pool: pl.DataFrame, cfg: SampleConfig) -> tuple[pl.DataFrame, SampleReport]:
    """Stratified sample with a ``split`` column ('train'/'val') -> (sample, report)."""
    cfg.check()
    report = SampleReport(requested=cfg.size, drawn=0, pool=pool.height)
    lo, hi = RECOMMENDED
    if not lo <= cfg.size <= hi:
        report.warnings.append(f"sample size {cfg.size:,} is outside the recommended {lo:,}-{hi:,} (explicit override)")
    frame = pool.with_columns(random_key(cfg.seed, "sample").alias("_key"), random_key(cfg.seed, "split").alias("_split_key"))
    counts = frame.group_by(S.SOURCE, S.RISK_LEVEL, S.LANGUAGE).len().sort(S.SOURCE, S.RISK_LEVEL, S.LANGUAGE)
    by_source = {s: int(n) for s, n in counts.group_by(S.SOURCE).agg(pl.col("len").sum()).sort(S.SOURCE).iter_rows()}
    total = min(cfg.size, pool.height)
    # one rule: the 2,000-10,000 range applies to what is asked (checked above); what the pool
    # cannot give is drawn as far as it goes and reported as achieved against asked
    if pool.height < cfg.size:
        report.warnings.append(
            f"asked {cfg.size:,}, drew {pool.height:,}: the pool has fewer than the {cfg.size:,} requested, "
            "so all are used" + (f" (below the recommended {lo:,})" if pool.height < lo else "")
        )
    shares = cfg.weights or {s: n / max(pool.height, 1) for s, n in by_source.items()}
    missing = [s for s in (cfg.weights or {}) if s not in by_source]
    for s in missing:
        report.shortfalls.append(f"source {s}: requested share {cfg.weights[s]:.0%} but it has no records")
    src_alloc = allocate(total, by_source, shares)
    quotas: list[tuple[str, str, str, int]] = []
    for src in sorted(by_source):
        asked = round(cfg.size * shares.get(src, 0))
        got = src_alloc[src]
        if cfg.weights and got < round(total * shares.get(src, 0)):  # short of its share of the drawn
            report.shortfalls.append(
                f"source {src}: asked {shares[src]:.0%} of {cfg.size:,} = {asked:,}, drew {got:,} "
                f"({got / max(total, 1):.0%} of the {total:,} drawn; it has {by_source[src]:,})"
            )
        sub = counts.filter(pl.col(S.SOURCE) == src)
        risk_avail = {r: int(n) for r, n in sub.group_by(S.RISK_LEVEL).agg(pl.col("len").sum()).sort(S.RISK_LEVEL).iter_rows()}
        risk_alloc = allocate_risk(got, {r: risk_avail.get(r, 0) for r in S.RISK_LEVELS}, cfg)
        for risk, minimum in (("high", cfg.min_high), ("low", cfg.min_low)):
            need = math.ceil(minimum * got)
            if got and risk_alloc[risk] < need:
                report.shortfalls.append(
                    f"source {src}: {risk}-risk share {risk_alloc[risk] / got:.0%} below the minimum "
                    f"{minimum:.0%} ({risk_alloc[risk]:,} of the {need:,} needed; pool has {risk_avail.get(risk, 0):,})"
                )
        for risk in S.RISK_LEVELS:
            lang = {lg: int(n) for _, _, lg, n in sub.filter(pl.col(S.RISK_LEVEL) == risk).iter_rows()}
            lang_alloc = allocate(risk_alloc[risk], lang, {k: v / max(sum(lang.values()), 1) for k, v in lang.items()})
            quotas += [(src, risk, lg, n) for lg, n in lang_alloc.items() if n]
        report.by_source[src] = {
            "requested_share": round(shares.get(src, 0), 4),
            "drawn": got,
            "achieved_share": round(got / total, 4) if total else 0.0,
            "risk": {r: risk_alloc[r] for r in S.RISK_LEVELS},
        }
    quota = pl.DataFrame(quotas, schema={S.SOURCE: pl.String, S.RISK_LEVEL: pl.String, S.LANGUAGE: pl.String, "_quota": pl.Int64}, orient="row")
    strata = [S.SOURCE, S.RISK_LEVEL, S.LANGUAGE]
    sample = (
        frame.join(quota, on=strata, how="inner")
        .filter(pl.col("_key").rank("ordinal").over(strata) <= pl.col("_quota"))
        .with_columns(
            pl.when(
                pl.col("_split_key").rank("ordinal").over(strata)
                <= (pl.len().over(strata) * cfg.val_fraction).round(0)
            )
            .then(pl.lit("val"))
            .otherwise(pl.lit("train"))
            .alias(SPLIT)
        )
        .sort("_key")  # shuffled, reproducibly
        .drop("_key", "_split_key", "_quota")
    )
    report.drawn = sample.height
    report.splits = {s: int(n) for s, n in sample.group_by(SPLIT).len().sort(SPLIT).iter_rows()}
    n_val = report.splits.get("val", 0)
    if cfg.val_fraction > 0 and n_val < MIN_VAL:
        report.warnings.append(
            f"validation split has {n_val:,} record{'s' if n_val != 1 else ''} ({cfg.val_fraction:.0%} of "
            f"{report.drawn:,} drawn), too few to measure anything; ask for a larger sample or --val-fraction"
        )
    return sample, report


@task(name="sample", cache_policy=FILES, persist_result=True)
def sample_pool(pool: FileRef, work_dir: str, cfg: SampleConfig) -> Sample:
    """Draw the stratified sample from the pool; writes sample.parquet with a split column."""
    logger = log()
    sample, report = draw(pl.read_parquet(pool.path), cfg)
    path = write_parquet(sample, Path(work_dir) / "sample.parquet")
    logger.info("sample: %d of %d records (seed %d), splits %s", report.drawn, report.pool, cfg.seed, report.splits)
    for w in report.warnings + report.shortfalls:
        logger.warning("sample: %s", w)
    return Sample(sample_file=FileRef.of(path), report=report.to_dict())
