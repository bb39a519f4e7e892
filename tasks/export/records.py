"""The training-record shape of DESIGN.md "Outputs": ``{"input", "output", "meta"}``.

One place builds ``output`` (the ``<think>`` block + answer) so that the gate checks exactly the
text the writer writes.
"""

from __future__ import annotations

import polars as pl

from tasks.core import schema as S

THINK_OPEN = "<think>\n"
THINK_CLOSE = "\n</think>\n\n"
# what a well-formed output with reasoning looks like; the gate's regex and the reward's
# format check agree with this. Written for speed, same language as the readable form
# THINK_OUTPUT_REGEX_PLAIN: the whitespace classes list Python's ``\s`` characters literally, so
# pandas hands the regex to pyarrow (RE2, linear time) instead of Python's ``re``, where the
# plain form backtracks quadratically on long outputs (the gate spent ~5 ms per 800-char row).
THINK_OUTPUT_REGEX_PLAIN = r"^<think>\n[\s\S]*\S[\s\S]*\n</think>\n\n\S"
_WS = "".join(sorted({chr(c) for c in range(0x3000 + 1) if chr(c).isspace() or chr(c) in "\x1c\x1d\x1e\x1f"}))
WS_CLASS, NON_WS_CLASS = f"[{_WS}]", f"[^{_WS}]"
THINK_OUTPUT_REGEX = f"^<think>\n{WS_CLASS}*{NON_WS_CLASS}(?:{WS_CLASS}|{NON_WS_CLASS})*\n</think>\n\n{NON_WS_CLASS}"

HAS_REASONING = "has_reasoning"

META_FIELDS = [
    S.ID,
    S.SOURCE,
    S.LANGUAGE,
    S.SPECIALTY,
    S.RISK_LEVEL,
    S.RISK_REASONS,
    S.REFERENCE_ANSWER,
    HAS_REASONING,
    S.QUALITY_SCORE,
    S.HISTORY,
    S.INSTRUCTION,
    S.CHOICES,
    S.SOURCE_FILE,
    S.SOURCE_ROW,
]


def has_reasoning() -> pl.Expr:
    """True where the record carries a reasoning chain."""
    return pl.col(S.REASONING).is_not_null()


def output_expr() -> pl.Expr:
    """``<think>\\n{reasoning}\\n</think>\\n\\n{answer}``, or the bare answer without reasoning."""
    return (
        pl.when(has_reasoning())
        .then(pl.concat_str([pl.lit(THINK_OPEN), pl.col(S.REASONING), pl.lit(THINK_CLOSE), pl.col(S.ANSWER)]))
        .otherwise(pl.col(S.ANSWER))
    )


def training_records(frame: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """Canonical records -> ``input`` / ``output`` / ``meta`` rows."""
    frame = frame.lazy()
    # a model stage's results ride along in meta only when a model stage ran (tasks/model/)
    meta = META_FIELDS + ([S.MODEL] if S.MODEL in frame.collect_schema().names() else [])
    return (
        frame
        .with_columns(has_reasoning().alias(HAS_REASONING))
        .select(
            pl.col(S.QUESTION).alias("input"),
            output_expr().alias("output"),
            pl.struct(meta).alias("meta"),
        )
    )
