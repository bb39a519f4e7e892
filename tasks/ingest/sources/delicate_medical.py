"""delicate-medical: krisfu/delicate_medical_r1_data — zh medical QA with R1-style reasoning.

Published as ``r1_data_example.jsonl`` (JSON Lines, ~2.4k lines), each line an object with
``instruction`` (str), ``question`` (str), ``think`` (str, the reasoning), ``answer`` (str) and
``metrics`` (``{"quality_f1": float}``). Some ``answer``/``think`` strings hold a literal
backslash + ``n`` (two characters) where a line break was meant; :func:`parse` turns those into
real newlines.

``instruction`` (the task prompt the question was derived from) is kept as ``instruction`` and
written to ``meta.instruction`` of the training records.
"""

from __future__ import annotations

import polars as pl

from tasks.core import schema as S
from tasks.ingest.sources.base import SourceSpec

FIELDS = {
    "question": S.QUESTION,
    "think": S.REASONING,
    "answer": S.ANSWER,
    "metrics.quality_f1": S.QUALITY_SCORE,
    "instruction": S.INSTRUCTION,
}

READ_SCHEMA: dict[str, pl.DataType] = {
    "instruction": pl.String,
    "question": pl.String,
    "think": pl.String,
    "answer": pl.String,
    "metrics": pl.Struct({"quality_f1": pl.Float64}),
}


def unescape_newlines(col: str) -> pl.Expr:
    """A literal backslash-n (``\\`` + ``n``) -> a newline, vectorised."""
    return pl.col(col).str.replace_all("\\n", "\n", literal=True)


def parse(raw: pl.DataFrame) -> pl.LazyFrame:
    """Raw delicate-medical lines -> canonical content columns."""
    return raw.lazy().select(
        pl.col(S.SOURCE_ROW),
        pl.col("question").alias(S.QUESTION),
        unescape_newlines("think").alias(S.REASONING),
        unescape_newlines("answer").alias(S.ANSWER),
        pl.col("metrics").struct.field("quality_f1").cast(pl.Float64).alias(S.QUALITY_SCORE),
        pl.col("instruction").alias(S.INSTRUCTION),
    )


SPEC = SourceSpec(
    name="delicate-medical",
    title="delicate_medical_r1_data (krisfu)",
    modelscope_id="krisfu/delicate_medical_r1_data",
    files=("r1_data_example.jsonl",),
    patterns=("r1_data_example*.jsonl", "*delicate*medical*.jsonl"),
    signature=frozenset({"instruction", "question", "think", "answer"}),
    read_schema=READ_SCHEMA,
    fields=FIELDS,
    parse=parse,
    license="unconfirmed (ModelScope page; one third-party script says apache-2.0)",
    priority=3,
    has_reasoning=True,
    notes="JSON Lines; zh; `instruction` kept in meta; literal \\n normalised",
)
