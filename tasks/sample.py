"""Stratified, seeded sample: source weight x verifiability x risk level x language, then a
stratified split.

Verifiability (``rl_ground_truth``): a record is *verifiable* when a reward can check an answer
against it — a non-blank short ``reference_answer`` or a multiple-choice form (``choices``).
``verifiable`` draws only such records; ``prefer`` reserves at least ``min_verifiable`` of the
sample for them (as far as the pool has them; with the natural mix, sources are re-weighted so
the verifiable quota is spread over the sources that have verifiable records, by how many they
have, and the rest follows the natural mix of the other records; with explicit weights, each
source keeps its weight and takes at least ``min_verifiable`` of its quota from its verifiable
records); ``any`` ignores it (one stratum: the draw is the same as before the option existed).
What cannot be met is named in ``shortfalls``, and ``report.verifiable`` holds the shares.

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
VERIFIABLE = "_verifiable"  # the stratum column while drawing (not written)
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
    verifiable: dict = field(default_factory=dict)

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


def allocate_risk(total: int, avail: dict[str, int], cfg: SampleConfig, need: dict[str, int] | None = None) -> dict[str, int]:
    """Risk quotas of one source (or one stratum of it): the minimum high and low counts first (as
    far as the pool has them; ``need`` overrides the counts the shares give), then the rest by the
    pool's natural mix."""
    need = need or {"high": math.ceil(cfg.min_high * total), "low": math.ceil(cfg.min_low * total)}
    minimum = {
        "high": min(avail.get("high", 0), need["high"]),
        "low": min(avail.get("low", 0), need["low"]),
        "medium": 0,
    }
    while sum(minimum.values()) > total:  # tiny totals: trim the larger reservation
        k = max(("high", "low"), key=lambda r: (minimum[r], r))
        minimum[k] -= 1
    rest_avail = {r: avail.get(r, 0) - minimum[r] for r in S.RISK_LEVELS}
    n = sum(avail.values()) or 1
    rest = allocate(total - sum(minimum.values()), rest_avail, {r: avail.get(r, 0) / n for r in S.RISK_LEVELS})
    return {r: minimum[r] + rest[r] for r in S.RISK_LEVELS}


def verifiable_expr(columns: list[str]) -> pl.Expr:
    """True where a record has a verifiable ground truth: a short reference answer or choices."""
    out = pl.lit(False)
    if S.REFERENCE_ANSWER in columns:
        ref = pl.col(S.REFERENCE_ANSWER).str.strip_chars()
        out = out | (ref.is_not_null() & (ref.str.len_chars() > 0))
    if S.CHOICES in columns:
        out = out | pl.col(S.CHOICES).is_not_null()
    return out.fill_null(False)


def split_verifiable(
    total: int, got: dict[str, int] | None, v_avail: dict[str, int], n_avail: dict[str, int], min_share: float
) -> dict[str, tuple[int, int]]:
    """Per source (verifiable, other) counts for ``prefer``.

    Never fewer verifiable records than the natural mix would give (``prefer`` only ever raises
    the share). ``got`` None (natural mix): the verifiable quota ``ceil(min_share x total)`` is
    spread over the sources by their verifiable records, the rest over the other records by their natural mix, and
    whatever is still missing is taken from either. ``got`` given (explicit weights): each source
    keeps its count and takes at least ``min_share`` of it (more when its other records run out)
    from its verifiable records.
    """
    sources = sorted(set(v_avail) | set(n_avail))
    if got is None:
        share = lambda av: {k: av[k] / max(sum(av.values()), 1) for k in av}  # noqa: E731
        natural = round(total * sum(v_avail.values()) / max(sum(v_avail.values()) + sum(n_avail.values()), 1))
        v = allocate(min(total, max(math.ceil(min_share * total), natural)), v_avail, share(v_avail))
        n = allocate(total - sum(v.values()), n_avail, share(n_avail))
        left = total - sum(v.values()) - sum(n.values())
        if left > 0:
            more = {k: v_avail[k] - v[k] for k in v_avail}
            extra = allocate(left, more, share(more))
            v = {k: v[k] + extra.get(k, 0) for k in v}
        return {k: (v.get(k, 0), n.get(k, 0)) for k in sources}
    out = {}
    for k in sources:
        g, va, na = got.get(k, 0), v_avail.get(k, 0), n_avail.get(k, 0)
        vk = min(va, max(math.ceil(min_share * g), g - na, round(g * va / max(va + na, 1))))
        out[k] = (vk, g - vk)
    return out


def random_key(seed: int, salt: str) -> pl.Expr:
    """A uniform pseudo-random integer per record from sha256(seed, salt, id)."""
    h = pl.concat_str([pl.lit(f"{seed}\x1f{salt}\x1f"), pl.col(S.ID)]).chash.sha2_256()
    return h.str.slice(0, 15).str.to_integer(base=16)


# the only columns the draw reads; the records themselves are gathered once the rows are chosen
DRAW_COLUMNS = [S.ID, S.SOURCE, S.RISK_LEVEL, S.LANGUAGE, S.REFERENCE_ANSWER, S.CHOICES]
ROW = "_row"  # a record's position in the pool while drawing (not written)


def draw(pool: pl.DataFrame, cfg: SampleConfig) -> tuple[pl.DataFrame, SampleReport]:
    """Stratified sample with a ``split`` column ('train'/'val') -> (sample, report)."""
    picked, report = pick(pool.select([c for c in DRAW_COLUMNS if c in pool.columns]).with_row_index(ROW), cfg)
    return gather(pool.with_row_index(ROW), picked), report


def gather(rows: pl.DataFrame, picked: pl.DataFrame) -> pl.DataFrame:
    """The records of ``picked`` (its ``ROW`` and ``SPLIT``, in sample order) from ``rows`` (the
    pool's records with their ``ROW``, any subset holding the picked ones, any order), in the
    order of ``picked``, without ``ROW``, with ``SPLIT`` last."""
    rows = rows.filter(pl.col(ROW).is_in(picked[ROW].implode())).sort(ROW)
    at = picked[ROW].rank("ordinal").cast(pl.Int64) - 1  # where each picked row sits in ``rows``
    return rows.select(pl.all().gather(at)).drop(ROW).with_columns(picked[SPLIT])


def pick(pool: pl.DataFrame, cfg: SampleConfig) -> tuple[pl.DataFrame, SampleReport]:
    """The draw on ``pool``'s :data:`DRAW_COLUMNS` (those present) and ``ROW`` only -> (the
    chosen rows' ``ROW`` and ``SPLIT``, in sample order; report), so the long texts are not
    copied through the joins and filters of the draw."""
    cfg.check()
    report = SampleReport(requested=cfg.size, drawn=0, pool=pool.height)
    lo, hi = RECOMMENDED
    if not lo <= cfg.size <= hi:
        report.warnings.append(f"sample size {cfg.size:,} is outside the recommended {lo:,}-{hi:,} (explicit override)")
    mode = cfg.rl_ground_truth
    frame = pool.with_columns(
        random_key(cfg.seed, "sample").alias("_key"),
        random_key(cfg.seed, "split").alias("_split_key"),
        verifiable_expr(pool.columns).alias(VERIFIABLE),
    )
    v_pool = {s: int(n) for s, n in frame.group_by(S.SOURCE).agg(pl.col(VERIFIABLE).sum()).sort(S.SOURCE).iter_rows()}
    if mode == "verifiable":  # only records a reward can check
        frame = frame.filter(pl.col(VERIFIABLE))
    elif mode == "any":  # one stratum: the draw of the natural mix, unchanged
        frame = frame.with_columns(pl.lit(False).alias(VERIFIABLE))
    counts = frame.group_by(S.SOURCE, VERIFIABLE, S.RISK_LEVEL, S.LANGUAGE).len().sort(S.SOURCE, VERIFIABLE, S.RISK_LEVEL, S.LANGUAGE)
    by_source = {s: int(n) for s, n in counts.group_by(S.SOURCE).agg(pl.col("len").sum()).sort(S.SOURCE).iter_rows()}
    eligible = frame.height
    what = "verifiable records" if mode == "verifiable" else "records"
    total = min(cfg.size, eligible)
    # one rule: the 2,000-10,000 range applies to what is asked (checked above); what the pool
    # cannot give is drawn as far as it goes and reported as achieved against asked
    if eligible < cfg.size:
        report.warnings.append(
            f"asked {cfg.size:,}, drew {eligible:,}: the pool has fewer{' verifiable records' if mode == 'verifiable' else ''} "
            f"than the {cfg.size:,} requested, "
            "so all are used" + (f" (below the recommended {lo:,})" if eligible < lo else "")
        )
    if mode == "verifiable" and eligible < cfg.size:
        report.shortfalls.append(
            f"rl_ground_truth=verifiable: the pool has {eligible:,} verifiable records of {pool.height:,}, "
            f"{cfg.size - eligible:,} short of the {cfg.size:,} asked (use prefer to fill up with other records)"
        )
    shares = cfg.weights or {s: n / max(eligible, 1) for s, n in by_source.items()}
    missing = [s for s in (cfg.weights or {}) if s not in by_source]
    for s in missing:
        report.shortfalls.append(f"source {s}: requested share {cfg.weights[s]:.0%} but it has no {what}")
    v_counts = counts.filter(pl.col(VERIFIABLE)).group_by(S.SOURCE).agg(pl.col("len").sum())
    v_avail = {s: 0 for s in by_source} | {s: int(n) for s, n in v_counts.iter_rows()}
    n_avail = {s: by_source[s] - v_avail[s] for s in by_source}
    if mode == "prefer" and not cfg.weights:
        vn = split_verifiable(total, None, v_avail, n_avail, cfg.min_verifiable)
        src_alloc = {s: vn[s][0] + vn[s][1] for s in by_source}
    else:
        src_alloc = allocate(total, by_source, shares)
        if mode == "prefer":
            vn = split_verifiable(total, src_alloc, v_avail, n_avail, cfg.min_verifiable)
        else:  # verifiable: every record is; any: one stratum (flagged False)
            vn = {s: (g, 0) if mode == "verifiable" else (0, g) for s, g in src_alloc.items()}
    quotas: list[tuple[str, bool, str, str, int]] = []
    for src in sorted(by_source):
        asked = round(cfg.size * shares.get(src, 0))
        got = src_alloc[src]
        if cfg.weights and got < round(total * shares.get(src, 0)):  # short of its share of the drawn
            report.shortfalls.append(
                f"source {src}: asked {shares[src]:.0%} of {cfg.size:,} = {asked:,}, drew {got:,} "
                f"({got / max(total, 1):.0%} of the {total:,} drawn; it has {by_source[src]:,})"
            )
        sub = counts.filter(pl.col(S.SOURCE) == src)
        need = {"high": math.ceil(cfg.min_high * got), "low": math.ceil(cfg.min_low * got)}
        risk_alloc = {r: 0 for r in S.RISK_LEVELS}
        risk_avail_all = {r: 0 for r in S.RISK_LEVELS}
        # the verifiable stratum first (its own share of the minimums), then the other records
        # make up what the source still needs
        for flag, n_stratum in ((True, vn[src][0]), (False, vn[src][1])):
            part = sub.filter(pl.col(VERIFIABLE) == flag)
            avail = {r: int(n) for r, n in part.group_by(S.RISK_LEVEL).agg(pl.col("len").sum()).sort(S.RISK_LEVEL).iter_rows()}
            for r in S.RISK_LEVELS:
                risk_avail_all[r] += avail.get(r, 0)
            if not n_stratum:
                continue
            if flag and vn[src][1]:
                stratum_need = {k: math.ceil(n_stratum * v / max(got, 1)) for k, v in need.items()}
            else:
                stratum_need = {k: max(0, v - risk_alloc[k]) for k, v in need.items()}
            alloc = allocate_risk(n_stratum, {r: avail.get(r, 0) for r in S.RISK_LEVELS}, cfg, stratum_need)
            for risk in S.RISK_LEVELS:
                risk_alloc[risk] += alloc[risk]
                lang = {lg: int(n) for _, _, _, lg, n in part.filter(pl.col(S.RISK_LEVEL) == risk).iter_rows()}
                lang_alloc = allocate(alloc[risk], lang, {k: v / max(sum(lang.values()), 1) for k, v in lang.items()})
                quotas += [(src, flag, risk, lg, n) for lg, n in lang_alloc.items() if n]
        for risk, minimum in (("high", cfg.min_high), ("low", cfg.min_low)):
            if got and risk_alloc[risk] < need[risk]:
                report.shortfalls.append(
                    f"source {src}: {risk}-risk share {risk_alloc[risk] / got:.0%} below the minimum "
                    f"{minimum:.0%} ({risk_alloc[risk]:,} of the {need[risk]:,} needed; pool has {risk_avail_all.get(risk, 0):,})"
                )
        report.by_source[src] = {
            "requested_share": round(shares.get(src, 0), 4),
            "drawn": got,
            "achieved_share": round(got / total, 4) if total else 0.0,
            "risk": {r: risk_alloc[r] for r in S.RISK_LEVELS},
        }
    quota = pl.DataFrame(
        quotas,
        schema={S.SOURCE: pl.String, VERIFIABLE: pl.Boolean, S.RISK_LEVEL: pl.String, S.LANGUAGE: pl.String, "_quota": pl.Int64},
        orient="row",
    )
    strata = [S.SOURCE, VERIFIABLE, S.RISK_LEVEL, S.LANGUAGE]
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
        .drop("_key", "_split_key", "_quota", VERIFIABLE)
    )
    report.drawn = sample.height
    report.splits = {s: int(n) for s, n in sample.group_by(SPLIT).len().sort(SPLIT).iter_rows()}
    report.verifiable = _verifiable_report(sample, mode, cfg, v_pool, pool.height, report)
    n_val = report.splits.get("val", 0)
    if cfg.val_fraction > 0 and n_val < MIN_VAL:
        report.warnings.append(
            f"validation split has {n_val:,} record{'s' if n_val != 1 else ''} ({cfg.val_fraction:.0%} of "
            f"{report.drawn:,} drawn), too few to measure anything; ask for a larger sample or --val-fraction"
        )
    return sample.select(ROW, SPLIT), report


def _verifiable_report(sample: pl.DataFrame, mode: str, cfg: SampleConfig, v_pool: dict[str, int], pool_n: int,
                       report: SampleReport) -> dict:
    """Achieved verifiable share overall and per source; a prefer shortfall is named."""
    flags = sample.select(pl.col(S.SOURCE), verifiable_expr(sample.columns).alias(VERIFIABLE))
    per = {s: (int(v), int(n)) for s, v, n in flags.group_by(S.SOURCE).agg(pl.col(VERIFIABLE).sum(), pl.len()).sort(S.SOURCE).iter_rows()}
    drawn_v = sum(v for v, _ in per.values())
    share = drawn_v / sample.height if sample.height else 0.0
    out = {
        "mode": mode,
        "min_share": cfg.min_verifiable if mode == "prefer" else (1.0 if mode == "verifiable" else None),
        "drawn": drawn_v,
        "share": round(share, 4),
        "pool": sum(v_pool.values()),
        "pool_records": pool_n,
        "by_source": {s: {"drawn": v, "of": n, "share": round(v / n, 4) if n else 0.0, "pool": v_pool.get(s, 0)}
                      for s, (v, n) in per.items()},
    }
    need = math.ceil(cfg.min_verifiable * sample.height)
    if mode == "prefer" and sample.height and drawn_v < need:
        why = []
        if out["pool"] < need:
            why.append(f"the pool has only {out['pool']:,} verifiable records")
        if cfg.weights and drawn_v < min(out["pool"], need):
            why.append("the requested source weights leave too little room for the sources that have them")
        have = ", ".join(f"{s} {n:,}" for s, n in sorted(v_pool.items()) if n) or "none"
        report.shortfalls.append(
            f"verifiable share {share:.0%} below the minimum {cfg.min_verifiable:.0%} ({drawn_v:,} of "
            f"{sample.height:,} drawn, {need:,} wanted): {'; '.join(why)} (verifiable records by source: {have})"
        )
    return out


@task(name="sample", cache_policy=FILES, persist_result=True)
def sample_pool(pool: FileRef, work_dir: str, cfg: SampleConfig) -> Sample:
    """Draw the stratified sample from the pool; writes sample.parquet with a split column."""
    logger = log()
    # the draw reads the stratum columns only; the chosen records are then read one column at a
    # time (the pool is one row group: a row filter would still decode every text), so no more
    # than one column of the pool is in memory at once
    names = pl.read_parquet_schema(pool.path)
    keys = pl.read_parquet(pool.path, columns=[c for c in DRAW_COLUMNS if c in names]).with_row_index(ROW)
    picked, report = pick(keys, cfg)
    del keys
    at = picked[ROW].sort()
    rows = pl.DataFrame([at] + [pl.read_parquet(pool.path, columns=[c]).to_series().gather(at) for c in names])
    sample = gather(rows, picked)
    path = write_parquet(sample, Path(work_dir) / "sample.parquet")
    logger.info("sample: %d of %d records (seed %d), splits %s", report.drawn, report.pool, cfg.seed, report.splits)
    for w in report.warnings + report.shortfalls:
        logger.warning("sample: %s", w)
    return Sample(sample_file=FileRef.of(path), report=report.to_dict())
