"""The ``pass-rate`` stage: how often a policy model already solves each RL prompt, and a band filter.

For each candidate record with a *verifiable* ground truth (a short reference answer, an option's
text or letter — the RL export's ``choice`` / ``reference_answer`` kinds) the policy endpoint is
asked ``samples`` times with the exact prompt the RL export writes (system prompt + history +
question; the record's first exported form: open-ended unless ``question_form="mc"``). Each
completion is scored by the project's reward:

* without a judge: ``tasks/export/rl/reward.py``'s combined score; a sample *passes* when it scores
  above ``PASS_SCORE`` (0.55, the midpoint between a well-formed wrong answer, 0.1, and a right one, 1.0);
* with a judge: a malformed completion fails without asking; a well-formed one passes when the judge
  calls its answer (the text after ``</think>``) correct; when the judge gives no verdict, the
  lexical rule decides and the fallback is counted.

``pass_rate`` = passes / answered samples. Records are kept when the rate lies in ``band``
(default ``0 < rate < 1``: GRPO groups whose rewards are all equal give no signal); the others are
``pass_rate:too_hard`` (at or below the low end) or ``pass_rate:too_easy`` (at or above the high end).
Records without a verifiable ground truth, and records the policy never answered (every request
failed), are kept unscored and counted — an outage never drops data.

Kept records carry ``model.pass_rate``, ``model.pass_samples`` (answered samples) and
``model.policy`` (model + sampling parameters + scorer) in ``meta``; the RL export copies the rate
into ``extra_info`` / the TRL and OpenRLHF columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from tasks.core.errors import ConfigError

PASS_SCORE = 0.55  # (0.1 + 1.0) / 2: the reward's verdict midpoint (issue 15, docs/reward.md)
TOO_HARD = "pass_rate:too_hard"
TOO_EASY = "pass_rate:too_easy"


@dataclass(frozen=True)
class Band:
    """A pass-rate interval; ``"0,1"`` / ``"(0,1)"`` is open at both ends, ``"[0,1)"`` keeps rate 0."""

    lo: float = 0.0
    hi: float = 1.0
    lo_closed: bool = False
    hi_closed: bool = False

    @classmethod
    def parse(cls, text: str | Band | None) -> Band:
        if isinstance(text, Band):
            return text
        if text is None or not str(text).strip():
            return cls()
        m = re.fullmatch(r"\s*([\[(]?)\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*([\])]?)\s*", str(text))
        try:
            lo, hi = float(m.group(2)), float(m.group(3))  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            lo = hi = None
        if lo is None or hi is None:
            raise ConfigError(f"--pass-band must look like LO,HI (open) or [LO,HI] / (LO,HI] (brackets keep the "
                              f"end), e.g. 0,1 or [0,0.75); got {text!r}")
        if not (0 <= lo < hi <= 1):
            raise ConfigError(f"--pass-band needs 0 <= LO < HI <= 1, got {text!r}")
        return cls(lo, hi, m.group(1) == "[", m.group(4) == "]")

    def label(self) -> str:
        return f"{self.lo:g} {'<=' if self.lo_closed else '<'} rate {'<=' if self.hi_closed else '<'} {self.hi:g}"

    def too_hard(self, rate: pl.Expr) -> pl.Expr:
        return (rate <= self.lo) if not self.lo_closed else (rate < self.lo)

    def too_easy(self, rate: pl.Expr) -> pl.Expr:
        return (rate >= self.hi) if not self.hi_closed else (rate > self.hi)


def candidates(records: pl.DataFrame, question_form: str = "both", seed: int = 42) -> pl.DataFrame:
    """One RL row per record with a verifiable ground truth: id, source, language, question, prompt,
    ground_truth — the prompt exactly as the RL export builds it (``records`` in the processed shape
    of ``tasks.export.rl.export.read_processed``)."""
    from tasks.export.rl.export import VERIFIABLE_KINDS, build_rows

    rows, _ = build_rows(records, "x", max_prompt_tokens=1 << 40, system_prompt=None,
                         question_form=question_form, seed=seed)
    return (rows.filter(pl.col("ground_truth_kind").is_in(VERIFIABLE_KINDS))
            .unique(subset="id", keep="first", maintain_order=True)
            .select("id", "source", "language", "question", "prompt", "ground_truth"))


def _lexical_pass(text: str | None, ground_truth: str) -> bool:
    from tasks.export.rl.reward import combined_score

    return combined_score(text or "", ground_truth)[0] > PASS_SCORE


def pass_rates(records: pl.DataFrame, policy, cache_dir: str | None, *, samples: int, sampling,
               question_form: str = "both", seed: int = 42, judge=None) -> tuple[pl.DataFrame, dict]:
    """(``id, pass_rate, pass_samples`` for every record with a verifiable ground truth, report).

    ``policy`` / ``judge`` are :class:`tasks.model.client.Endpoint` s; ``sampling`` a
    :class:`tasks.model.client.Sampling` (sample ``k`` gets seed ``seed + k``)."""
    from tasks.export.rl.reward import split_response
    from tasks.model.client import ChatClient, Request, Stats
    from tasks.model.verifier import judge as ask_judge

    cand = candidates(records, question_form, seed)
    samples = max(1, int(samples))
    reqs = [Request.chat(list(p), sample=k, **sampling.params(k))
            for p in cand["prompt"].to_list() for k in range(samples)]
    client = ChatClient(policy, cache_dir, label="pass-rate")
    replies, stats = client.run(reqs)
    gts = [g for g in cand["ground_truth"].to_list() for _ in range(samples)]
    passed: list[bool | None] = [None if not r.ok else _lexical_pass(r.text, g) for r, g in zip(replies, gts)]
    judge_stats, fallback = Stats(), 0
    if judge is not None:  # the judge decides well-formed answers; malformed ones fail unasked
        qs = [q for q in cand["question"].to_list() for _ in range(samples)]
        langs = [lg for lg in cand["language"].to_list() for _ in range(samples)]
        ask = [(i, split_response(r.text or "")) for i, r in enumerate(replies) if r.ok]
        ask = [(i, ans) for i, (_, ans, ok) in ask if ok]
        for i, r in enumerate(replies):
            if r.ok:
                passed[i] = False
        jclient = ChatClient(judge, cache_dir, label="pass-rate judge")
        scores, _, judge_stats = ask_judge(jclient, [(qs[i], ans, gts[i], langs[i]) for i, ans in ask])
        for (i, _), s in zip(ask, scores):
            if s is None:
                fallback += 1
                passed[i] = _lexical_pass(replies[i].text, gts[i])
            else:
                passed[i] = s >= 0.5
    flat = pl.DataFrame({"_r": [i // samples for i in range(len(reqs))],
                         "_pass": pl.Series(passed, dtype=pl.Boolean)})
    agg = flat.group_by("_r").agg(pl.col("_pass").sum().cast(pl.Float64).alias("_n_pass"),
                                  pl.col("_pass").count().alias("pass_samples")).sort("_r")
    rates = (cand.select("id").with_row_index("_r").join(agg, on="_r", how="left")
             .with_columns(pl.when(pl.col("pass_samples") > 0).then(pl.col("_n_pass") / pl.col("pass_samples"))
                           .alias("pass_rate"),
                           pl.when(pl.col("pass_samples") > 0).then(pl.col("pass_samples")).cast(pl.Int64))
             .select("id", "pass_rate", "pass_samples"))
    report = {
        "scorer": "judge" if judge is not None else f"reward.py combined score > {PASS_SCORE}",
        "judge": judge.public() if judge is not None else None,
        "judge_fallback": fallback, "judge_client": judge_stats.as_dict() if judge is not None else None,
        "client": stats.as_dict(), "errors": stats.errors,
    }
    return rates, report


def classify(frame: pl.DataFrame, band: Band, rate_col: str = "pass_rate") -> pl.Expr:
    """The quarantine reason per row (null: kept)."""
    rate = pl.col(rate_col)
    return (pl.when(rate.is_null()).then(pl.lit(None, dtype=pl.String))
            .when(band.too_hard(rate)).then(pl.lit(TOO_HARD))
            .when(band.too_easy(rate)).then(pl.lit(TOO_EASY)))


def histogram(rates: pl.Series, samples: int) -> dict[str, int]:
    """Records per pass count ``k/N`` (rates of records with failed samples round to the nearest)."""
    k = (rates.drop_nulls() * samples).round(0).cast(pl.Int64)
    counts = dict(k.value_counts().iter_rows())
    return {f"{i}/{samples}": int(counts.get(i, 0)) for i in range(samples + 1)}


def summarise(rates: pl.DataFrame, reasons: pl.Series, *, n_records: int, policy, samples: int, band: Band,
              sampling, extra: dict[str, Any]) -> dict:
    """The stage's report (card block, flow result): counts, histogram, endpoint (never the key)."""
    r = reasons.drop_nulls()
    scored = rates.filter(pl.col("pass_rate").is_not_null())
    return {
        "stage": "pass-rate", "endpoint": policy.public(), "samples": samples, "band": band.label(),
        "sampling": {k: v for k, v in sampling.params(0).items() if v is not None and k != "seed"} | {"seed": sampling.seed},
        "records": n_records, "verifiable": rates.height, "scored": scored.height,
        "unscored_no_ground_truth": n_records - rates.height,
        "unscored_errors": rates.height - scored.height,
        "kept": n_records - r.len(), "too_hard": int((r == TOO_HARD).sum()), "too_easy": int((r == TOO_EASY).sum()),
        "mean_rate": round(float(scored["pass_rate"].mean()), 4) if scored.height else None,
        "histogram": histogram(scored["pass_rate"], samples),
        **extra,
    }


def processed_view(frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical records in the processed shape the RL export reads (prompts built the same way)."""
    from tasks.export.records import training_records

    return training_records(frame).collect().unnest("meta").rename({"input": "question"})


def filter_records(frame: pl.DataFrame, view: pl.DataFrame, policy, cache_dir: str | None, *, samples: int,
                   band: Band, sampling, question_form: str = "both", seed: int = 42,
                   judge=None) -> tuple[pl.DataFrame, pl.Series, dict]:
    """Score ``view`` (processed shape, same rows as ``frame``) and return ``frame`` with
    ``pass_rate`` / ``pass_samples`` / ``_reason`` columns (row-aligned), the reasons, and the report."""
    from tasks.core import schema as S

    rates, rep = pass_rates(view, policy, cache_dir, samples=samples, sampling=sampling,
                            question_form=question_form, seed=seed, judge=judge)
    out = (frame.with_columns(view[S.ID].alias("_id")).join(rates.rename({"id": "_id"}), on="_id", how="left",
                                                             maintain_order="left").drop("_id"))
    out = out.with_columns(classify(out, band).alias("_reason"))
    report = summarise(rates, out["_reason"], n_records=frame.height, policy=policy, samples=samples, band=band,
                       sampling=sampling, extra=rep)
    return out, out["_reason"], report


def policy_tag(policy, samples: int, sampling, judge=None) -> str:
    """``model.policy``: model, sampling parameters and scorer (never the key)."""
    from tasks.model.common import describe

    return describe(policy, samples=samples, temperature=sampling.temperature, top_p=sampling.top_p,
                    max_tokens=sampling.max_tokens, seed=sampling.seed,
                    scorer=(f"judge:{judge.model}" if judge is not None else "reward"))
