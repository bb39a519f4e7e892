"""The canonical record: one Polars schema for every source (see DESIGN.md, "Canonical record").

Column names are constants so no module spells them by hand; every source parser ends with
:func:`cast_to_schema`, which fails loudly when a parser forgot a column.
"""

from __future__ import annotations

import polars as pl

ID = "id"
SOURCE = "source"
SOURCE_FILE = "source_file"
SOURCE_ROW = "source_row"
LANGUAGE = "language"
QUESTION = "question"
HISTORY = "history"
REASONING = "reasoning"
ANSWER = "answer"
REFERENCE_ANSWER = "reference_answer"
SPECIALTY = "specialty"
RISK_LEVEL = "risk_level"
RISK_REASONS = "risk_reasons"
QUALITY_SCORE = "quality_score"
# the source's task prompt / instruction where it has one (delicate-medical), kept for meta
INSTRUCTION = "instruction"
# multiple choice where a source has options (MedQA-style ``question`` / ``options`` / ``answer_idx``):
# {question: the multiple-choice stem, options: texts in the source's letter order, answer: 0-based
# index of the right one}; null for records without options. The RL export turns it into a lettered
# prompt with the letter as ground truth (tasks/export/rl/choices.py).
CHOICES = "choices"
CHOICES_DTYPE = pl.Struct({"question": pl.String, "options": pl.List(pl.String), "answer": pl.Int64})

# model-in-the-loop results (tasks/model/): present only when a model stage ran, so a run without an
# endpoint writes exactly what it wrote before. Fields a stage did not fill stay null.
MODEL = "model"
MODEL_DTYPE = pl.Struct({
    "verifier_score": pl.Float64,  # share of the judge's "correct" votes on the record's own response
    "verifier": pl.String,  # judge model + prompt version
    "pass_rate": pl.Float64,  # share of policy samples the reward passed
    "pass_samples": pl.Int64,
    "policy": pl.String,  # policy model + sampling parameters
    "chain_model": pl.String,  # reasoning written by this model (null: the source's own)
    "chain_prompt": pl.String,
    "chain_params": pl.String,
})

TURN = pl.Struct({"role": pl.String, "content": pl.String})

SCHEMA: dict[str, pl.DataType] = {
    ID: pl.String,
    SOURCE: pl.String,
    SOURCE_FILE: pl.String,
    SOURCE_ROW: pl.Int64,
    LANGUAGE: pl.String,
    QUESTION: pl.String,
    HISTORY: pl.List(TURN),
    REASONING: pl.String,
    ANSWER: pl.String,
    REFERENCE_ANSWER: pl.String,
    SPECIALTY: pl.String,
    RISK_LEVEL: pl.String,
    RISK_REASONS: pl.List(pl.String),
    QUALITY_SCORE: pl.Float64,
    INSTRUCTION: pl.String,
    CHOICES: CHOICES_DTYPE,
}
COLUMNS: list[str] = list(SCHEMA)

RISK_LEVELS = ("high", "medium", "low")
LANGUAGES = ("zh", "en")

# Quarantine: every rejected record, with where it came from and why.
REASON = "reason"
RAW = "raw"  # the offending record, as JSON text, so a user can fix it at the source
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    SOURCE: pl.String,
    SOURCE_FILE: pl.String,
    SOURCE_ROW: pl.Int64,
    REASON: pl.String,
    RAW: pl.String,
}


def cast_to_schema(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Select the canonical columns in order with their canonical dtypes (missing ones are an error)."""
    missing = [c for c in COLUMNS if c not in frame.collect_schema().names()]
    if missing:
        raise ValueError(f"parser output lacks canonical columns {missing}")
    return frame.select([pl.col(c).cast(t, strict=True) for c, t in SCHEMA.items()])


def empty_frame() -> pl.DataFrame:
    """An empty frame of the canonical schema."""
    return pl.DataFrame(schema=SCHEMA)


def empty_quarantine() -> pl.DataFrame:
    """An empty quarantine frame."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)
