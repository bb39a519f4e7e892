"""The `prepare` gates: what the records must satisfy before anything is written.

Two suites, one per stage (docs/gates.md):

- ``medprep.pool``: the parsed, labelled, deduplicated pool, before sampling;
- ``medprep.sample``: the final sample (after the model stage when it runs), before writing.

Each is built from the numbers in expectations/thresholds.py: the one place to read and tune them. A failed
expectation stops the run with a message naming it and example record ids; nothing is written.

Columns checked are those of :func:`tasks.quality.gate.gate_frame`: the canonical columns plus
``think_output`` (the training ``output`` for records that have reasoning, null otherwise — GE
map expectations skip nulls, so records without reasoning are not held to the think format),
``reasoning_chars`` (the reasoning's length; passed instead of its text, which think_output
already carries, to keep the pandas frame small) and ``has_reference`` (true where a record has a verifiable ground truth: a short reference answer or
options; null otherwise).
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.thresholds import LENGTH_BOUNDS, LENGTH_MOSTLY, REFERENCE_SHARE, RISK_LEVELS_PRESENT
from tasks.core import schema as S
from tasks.core.schema import LANGUAGES, RISK_LEVELS
from tasks.export.records import THINK_OUTPUT_REGEX
from tasks.sample import SPLIT

SUITES = {"pool": "medprep.pool", "sample": "medprep.sample"}
SUITE_NAME = SUITES["pool"]
THINK_OUTPUT = "think_output"
HAS_REFERENCE = "has_reference"
REASONING_CHARS = "reasoning_chars"
SPLIT_VALUES = ("train", "val")


def expectations(stage: str = "pool", min_reference_share: float | None = None) -> list[gxe.Expectation]:
    """The suite of ``stage`` (pool | sample), in the order it is reported; ``min_reference_share``
    overrides the stage's minimum share of records with a reference answer."""
    lo_ref, hi_ref = REFERENCE_SHARE[stage]
    if min_reference_share is not None:
        lo_ref = min_reference_share
    suite: list[gxe.Expectation] = [
        # non-empty question and answer: GE counts "" as present, so not-null goes with a min length
        gxe.ExpectColumnValuesToNotBeNull(column=S.QUESTION),
        gxe.ExpectColumnValuesToNotBeNull(column=S.ANSWER),
        *[
            # reasoning by its length column: the text itself is already inside think_output
            gxe.ExpectColumnValuesToBeBetween(column=REASONING_CHARS, min_value=lo, max_value=hi, mostly=LENGTH_MOSTLY)
            if col == S.REASONING else
            gxe.ExpectColumnValueLengthsToBeBetween(column=col, min_value=lo, max_value=hi, mostly=LENGTH_MOSTLY)
            for col, (lo, hi) in LENGTH_BOUNDS.items()
        ],
        gxe.ExpectColumnValuesToBeUnique(column=S.ID),
        # think-tag presence: exactly the contract's "<think>\n…\n</think>\n\n{answer}"
        gxe.ExpectColumnValuesToMatchRegex(column=THINK_OUTPUT, regex=THINK_OUTPUT_REGEX),
        gxe.ExpectColumnValuesToNotMatchRegex(column=S.ANSWER, regex=r"</?think>"),
        gxe.ExpectColumnValuesToBeInSet(column=S.LANGUAGE, value_set=list(LANGUAGES)),
        # share of records with a verifiable ground truth
        gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column=HAS_REFERENCE, min_value=lo_ref, max_value=hi_ref),
        # risk-label coverage: every record labelled, with more than one level present
        gxe.ExpectColumnValuesToNotBeNull(column=S.RISK_LEVEL),
        gxe.ExpectColumnValuesToBeInSet(column=S.RISK_LEVEL, value_set=list(RISK_LEVELS)),
        gxe.ExpectColumnUniqueValueCountToBeBetween(
            column=S.RISK_LEVEL, min_value=RISK_LEVELS_PRESENT[0], max_value=RISK_LEVELS_PRESENT[1]
        ),
    ]
    if stage == "sample":
        suite.append(gxe.ExpectColumnValuesToBeInSet(column=SPLIT, value_set=list(SPLIT_VALUES)))
        suite.append(gxe.ExpectColumnValuesToNotBeNull(column=SPLIT))
    return suite
