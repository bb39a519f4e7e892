"""Great Expectations gate: validate the pooled records; a failure stops the flow before any write."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.errors import GateFailedError
from tasks.core.logs import log
from tasks.export.records import has_reasoning, output_expr

GATE_COLUMNS = [S.ID, S.SOURCE, S.LANGUAGE, S.QUESTION, S.ANSWER, S.RISK_LEVEL]


def gate_frame(frame: pl.LazyFrame) -> pl.DataFrame:
    """Only the columns the suite reads, plus ``think_output`` (null where there is no reasoning)."""
    from expectations.prepare import THINK_OUTPUT

    return frame.select(
        *GATE_COLUMNS,
        pl.when(has_reasoning()).then(output_expr()).otherwise(None).alias(THINK_OUTPUT),
    ).collect()


def validate(frame: pl.DataFrame, suite_name: str | None = None, expectations: list | None = None) -> list[dict]:
    """Run the suite on a frame with GE's pandas backend -> one result dict per expectation."""
    import great_expectations as gx  # 5-9 s import: only here
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from expectations import prepare as suite_mod

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        ctx.data_sources.add_pandas("medprep")
        .add_dataframe_asset("pool")
        .add_batch_definition_whole_dataframe("all")
    )
    suite = ctx.suites.add_or_update(
        gx.ExpectationSuite(name=suite_name or suite_mod.SUITE_NAME, expectations=expectations or suite_mod.expectations())
    )
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="prepare-gate", data=batch_def, suite=suite)
    )
    # GE has no Polars backend: pandas only inside the gate
    result = vd.run(
        batch_parameters={"dataframe": frame.to_pandas()},
        result_format={"result_format": "SUMMARY", "unexpected_index_column_names": [S.ID]},
    )
    rows = []
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        column = cfg.kwargs.get("column")
        # name the offending records by id, so a user can find them in the quarantine / source
        examples = [
            f"{e.get(S.ID)}: {str(e.get(column))[:80]!r}" for e in (res.get("partial_unexpected_index_list") or [])
        ] or [repr(str(e)[:80]) for e in (res.get("partial_unexpected_list") or [])]
        rows.append(
            {
                "expectation": cfg.type,
                "column": column,
                "success": bool(r.success),
                "unexpected_count": res.get("unexpected_count"),
                "observed_value": res.get("observed_value"),
                "examples": examples[:3],
            }
        )
    return rows


def failure_message(rows: list[dict]) -> str:
    """One paragraph naming each failed expectation with its examples."""
    parts = []
    for r in rows:
        if r["success"]:
            continue
        if r["expectation"] == "expect_column_unique_value_count_to_be_between" and r["column"] == "risk_level":
            parts.append(
                f"risk-label coverage: the pool has {r['observed_value']} risk level(s); RL data needs at least two "
                "(high and low scenarios) — add records or sources of another risk level"
            )
            continue
        what = f"{r['expectation']}({r['column']})"
        detail = (
            f"{r['unexpected_count']} unexpected" if r["unexpected_count"] is not None else f"observed {r['observed_value']!r}"
        )
        ex = f", e.g. {r['examples']}" if r["examples"] else ""
        parts.append(f"{what}: {detail}{ex}")
    return "gate failed, nothing written: " + "; ".join(parts)


@task(name="gate", cache_policy=FILES, persist_result=True)
def run_gate(pool_path: str) -> list[dict]:
    """Validate the pool with the GE suite in expectations/; raise GateFailedError on any failure."""
    logger = log()
    t0 = time.perf_counter()
    frame = gate_frame(pl.scan_parquet(Path(pool_path)))
    rows = validate(frame)
    ok = sum(r["success"] for r in rows)
    logger.info("gate: %d/%d expectations passed on %d records in %.2fs", ok, len(rows), frame.height, time.perf_counter() - t0)
    if ok < len(rows):
        raise GateFailedError(failure_message(rows))
    return rows
