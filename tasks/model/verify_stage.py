"""The ``verify-references`` stage: the judge scores each record's own response against its short answer.

Records with a short reference answer (``reference_answer``) get ``model.verifier_score`` (share of
"correct" votes) and ``model.verifier``; the report gives the agreement (share judged correct) per
source. With ``threshold`` set, records scoring below it go to quarantine
(``verifier_rejected_reference:<score>``); a record the judge could not score (request failed, no
verdict) is kept and counted, never dropped on an outage.
"""

from __future__ import annotations

import polars as pl

from tasks.core import schema as S
from tasks.model.client import ChatClient, Endpoint
from tasks.model.common import quarantine_rows, set_model_fields, with_model_column
from tasks.model.verifier import judge, prompt_version


def verify_references(frame: pl.DataFrame, endpoint: Endpoint, cache_dir: str | None, *, votes: int = 1,
                      threshold: float | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """(kept frame, quarantine rows, report)."""
    frame = with_model_column(frame).with_row_index("_i")
    has_ref = pl.col(S.REFERENCE_ANSWER).is_not_null() & (pl.col(S.REFERENCE_ANSWER).str.strip_chars() != "")
    todo = frame.filter(has_ref)
    client = ChatClient(endpoint, cache_dir, label="verify-references")
    items = list(zip(todo[S.QUESTION].to_list(), todo[S.ANSWER].to_list(), todo[S.REFERENCE_ANSWER].to_list(),
                     todo[S.LANGUAGE].to_list()))
    scores, errors, stats = judge(client, items, votes=votes)
    tag = f"{endpoint.model}@{prompt_version('judge')}"
    scored = todo.select("_i").with_columns(pl.Series("_score", scores, dtype=pl.Float64))
    frame = frame.join(scored, on="_i", how="left", maintain_order="left")
    frame = set_model_fields(frame, {"verifier_score": pl.col("_score"),
                                     "verifier": pl.when(pl.col("_i").is_in(todo["_i"].implode())).then(pl.lit(tag))})
    judged = frame.filter(pl.col("_score").is_not_null())
    agree = judged.group_by(S.SOURCE).agg(pl.len().alias("judged"), (pl.col("_score") >= 0.5).sum().alias("correct")).sort(S.SOURCE)
    report = {
        "stage": "verify-references", "endpoint": endpoint.public(), "prompt_version": prompt_version("judge"),
        "votes": votes, "threshold": threshold, "with_reference": todo.height, "judged": judged.height,
        "unjudged": todo.height - judged.height,
        "errors": sorted({e for e in errors if e})[:5],
        "agreement": round(judged.filter(pl.col("_score") >= 0.5).height / judged.height, 4) if judged.height else None,
        "agreement_by_source": {s: {"judged": j, "agreement": round(c / j, 4)} for s, j, c in agree.iter_rows()},
        "client": stats.as_dict(),
    }
    bad = S.empty_quarantine()
    if threshold is not None:
        fail = pl.col("_score").is_not_null() & (pl.col("_score") < threshold)
        rejected = frame.filter(fail)
        bad = quarantine_rows(rejected.drop("_i", "_score"),
                              [f"verifier_rejected_reference:{s:.2f}" for s in rejected["_score"].to_list()])
        frame = frame.filter(~fail)
        report["quarantined"] = rejected.height
    return frame.drop("_i", "_score"), bad, report
