"""medical-o1-verifiable: FreedomIntelligence/medical-o1-verifiable-problem — RL ground truth.

Published as ``medical_o1_verifiable_problem.json``: ONE JSON array (~40k objects) with
``Open-ended Verifiable Question`` and ``Ground-True Answer``. There is no reasoning chain; the
short ground truth is both the ``answer`` and the ``reference_answer`` a reward scores against.

Detection: the SFT demo file of HuatuoGPT-o1 carries these fields too, next to ``Complex_CoT``;
such files belong to ``medical-o1`` (``exclude``), so one file is never read by both sources.

Priority None: never auto-loaded. Its answers are one-line ground truths, not responses to learn
from, so mixing it into an auto-picked SFT-style sample would be wrong; users name it (or run
``all``) when they want verifiable RL prompts.
"""

from __future__ import annotations

import polars as pl

from tasks.core import schema as S
from tasks.ingest.sources.base import SourceSpec

QUESTION_FIELD = "Open-ended Verifiable Question"
ANSWER_FIELD = "Ground-True Answer"
FIELDS = {QUESTION_FIELD: S.QUESTION, ANSWER_FIELD: f"{S.ANSWER} + {S.REFERENCE_ANSWER}"}


def parse(raw: pl.DataFrame) -> pl.LazyFrame:
    """Raw verifiable problems -> canonical content columns (answer = reference answer)."""
    return raw.lazy().select(
        pl.col(S.SOURCE_ROW),
        pl.col(QUESTION_FIELD).alias(S.QUESTION),
        pl.col(ANSWER_FIELD).alias(S.ANSWER),
        pl.col(ANSWER_FIELD).alias(S.REFERENCE_ANSWER),
    )


SPEC = SourceSpec(
    name="medical-o1-verifiable",
    title="medical-o1-verifiable-problem (HuatuoGPT-o1)",
    modelscope_id="FreedomIntelligence/medical-o1-verifiable-problem",
    files=("medical_o1_verifiable_problem.json",),
    patterns=("medical_o1_verifiable*.json", "*verifiable*.json"),
    signature=frozenset({QUESTION_FIELD, ANSWER_FIELD}),
    exclude=frozenset({"Complex_CoT"}),
    read_schema={QUESTION_FIELD: pl.String, ANSWER_FIELD: pl.String},
    fields=FIELDS,
    parse=parse,
    license="apache-2.0",
    priority=None,
    has_reasoning=False,
    notes="one JSON array; short ground-truth answers, no reasoning; for RL rewards",
)
