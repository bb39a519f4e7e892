"""The `prepare` gate: what every pooled record must satisfy before anything is written.

Columns checked are those of :func:`tasks.quality.gate.gate_frame`: the canonical columns plus
``think_output`` (the training ``output`` for records that have reasoning, null otherwise — GE
map expectations skip nulls, so records without reasoning are not held to the think format).
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from tasks.core.schema import LANGUAGES, RISK_LEVELS
from tasks.export.records import THINK_OUTPUT_REGEX

SUITE_NAME = "medprep.prepare"
THINK_OUTPUT = "think_output"


def expectations() -> list[gxe.Expectation]:
    """The suite, in the order it is reported."""
    return [
        # non-empty question and answer: GE counts "" as present, so pair not-null with length >= 1
        gxe.ExpectColumnValuesToNotBeNull(column="question"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="question", min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="answer"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="answer", min_value=1),
        gxe.ExpectColumnValuesToBeUnique(column="id"),
        # think-tag presence: exactly the contract's "<think>\n…\n</think>\n\n{answer}"
        gxe.ExpectColumnValuesToMatchRegex(column=THINK_OUTPUT, regex=THINK_OUTPUT_REGEX),
        gxe.ExpectColumnValuesToNotMatchRegex(column="answer", regex=r"</?think>"),
        gxe.ExpectColumnValuesToBeInSet(column="language", value_set=list(LANGUAGES)),
        # risk-label coverage: every record labelled, with more than one level in the pool
        gxe.ExpectColumnValuesToNotBeNull(column="risk_level"),
        gxe.ExpectColumnValuesToBeInSet(column="risk_level", value_set=list(RISK_LEVELS)),
        gxe.ExpectColumnUniqueValueCountToBeBetween(column="risk_level", min_value=2, max_value=3),
    ]
