"""medical-o1: HuatuoGPT-o1's SFT data with GPT-4o reasoning chains (FreedomIntelligence).

Published as four files, each ONE JSON array (not JSON Lines) of 20k–25k objects with
``Question`` / ``Complex_CoT`` / ``Response``. The repo's demo file also carries the
verifiable-problem fields; ``Ground-True Answer`` becomes the reference answer when present.
It also carries the MedQA item it was written from (``question`` / ``options`` / ``answer_idx``
/ ``answer``): those become the record's multiple-choice form (``choices``), which the RL export
offers next to the open-ended question.
"""

from __future__ import annotations

import polars as pl

from tasks.core import schema as S
from tasks.ingest.sources.base import OPTIONS_DTYPE, SourceSpec, choices_expr

FIELDS = {
    "Question": S.QUESTION,
    "Complex_CoT": S.REASONING,
    "Response": S.ANSWER,
    "Ground-True Answer": S.REFERENCE_ANSWER,
}
# the MedQA item behind a demo record (absent from the published SFT files)
MC_FIELDS = {"question": pl.String, "options": OPTIONS_DTYPE, "answer_idx": pl.String}


def parse(raw: pl.DataFrame) -> pl.LazyFrame:
    """Raw medical-o1 records -> canonical content columns."""
    return raw.lazy().select(
        pl.col(S.SOURCE_ROW),
        *[pl.col(src).alias(dst) for src, dst in FIELDS.items()],
        choices_expr("question", "options", "answer_idx").alias(S.CHOICES),
    )


SPEC = SourceSpec(
    name="medical-o1",
    title="medical-o1-reasoning-SFT (HuatuoGPT-o1)",
    modelscope_id="FreedomIntelligence/medical-o1-reasoning-SFT",
    files=(
        "medical_o1_sft.json",
        "medical_o1_sft_Chinese.json",
        "medical_o1_sft_mix.json",
        "medical_o1_sft_mix_Chinese.json",
    ),
    patterns=("medical_o1_sft*.json", "*medical*o1*.json"),
    signature=frozenset({"Question", "Complex_CoT", "Response"}),
    read_schema={**{k: pl.String for k in FIELDS}, **MC_FIELDS},
    fields={**FIELDS, "question + options + answer_idx": S.CHOICES},
    parse=parse,
    license="apache-2.0",
    priority=1,
    has_reasoning=True,
    notes="one JSON array per file (not JSONL); en, zh and mixed files",
)
