"""Great Expectations gates: validate the pool and the final sample, build their HTML Data Docs;
a failure stops the flow before any write. Also the parse stage's quarantine-share check.

Suites and thresholds: expectations/prepare.py; how to read and tune them: docs/gates.md.
"""

from __future__ import annotations

import copy
import shutil
import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.errors import GateFailedError, QuarantineShareError
from tasks.core.logs import log
from tasks.core.results import FileRef, Gate, ParsedFile
from tasks.export.records import has_reasoning, output_expr

GATE_COLUMNS = [S.ID, S.SOURCE, S.LANGUAGE, S.QUESTION, S.ANSWER, S.RISK_LEVEL]
DOCS_SITE = "medprep"
# records per Great Expectations batch of the per-row expectations: bounds the gate's pandas
# frame (and GE's copies of it) whatever the pool's size; figures in docs/gates.md
BATCH_ROWS = 20_000


def gate_exprs(names: list[str]) -> list[pl.Expr]:
    """The gate columns as expressions on a frame with columns ``names``: see :func:`gate_frame`."""
    from expectations.prepare import HAS_REFERENCE, REASONING_CHARS, THINK_OUTPUT
    from tasks.sample import SPLIT, verifiable_expr

    return [
        *(pl.col(c) for c in GATE_COLUMNS),
        *([pl.col(SPLIT)] if SPLIT in names else []),
        pl.when(has_reasoning()).then(output_expr()).otherwise(None).alias(THINK_OUTPUT),
        pl.col(S.REASONING).str.len_chars().alias(REASONING_CHARS),
        pl.when(verifiable_expr(names)).then(True).otherwise(None).alias(HAS_REFERENCE),
    ]


def gate_frame(frame: pl.LazyFrame) -> pl.DataFrame:
    """Only the columns the suites read, plus ``think_output`` (null where there is no reasoning),
    ``reasoning_chars`` and ``has_reference`` (true where a record has a verifiable ground truth, else null); the
    sample's ``split`` when the frame has one."""
    return frame.select(gate_exprs(frame.collect_schema().names())).collect()


def _site_config(base_directory: Path) -> dict:
    """A Data Docs site on the local filesystem (GE's SiteBuilder, default index)."""
    return {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(base_directory)},
    }


def build_docs(ctx, docs_dir: str | Path) -> FileRef:
    """Render the context's suites and validation results as HTML into ``docs_dir`` (replaced
    whole: built beside it, then swapped in) -> its index.html."""
    from tasks.core.storage import swap_in

    dest = Path(docs_dir)
    tmp = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    ctx.add_data_docs_site(site_name=DOCS_SITE, site_config=_site_config(tmp.resolve()))
    ctx.build_data_docs(site_names=[DOCS_SITE])
    swap_in(tmp, dest)
    return FileRef.of(dest / "index.html")


def per_row(expectation) -> bool:
    """True for an expectation that holds record by record (a column map expectation other than
    uniqueness): it can be checked batch by batch and its counts summed. The others (uniqueness,
    shares, distinct counts, row counts, ...) are about the whole frame."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.expectation import ColumnMapExpectation

    return isinstance(expectation, ColumnMapExpectation) and not isinstance(expectation, gxe.ExpectColumnValuesToBeUnique)


def _columns(expectations: list) -> list[str]:
    """The columns the expectations read, and ``id`` (GE names failing records by it)."""
    cols = [S.ID]
    for e in expectations:
        kw = e.configuration.kwargs
        for c in [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *(kw.get("column_list") or [])]:
            if c and c not in cols:
                cols.append(c)
    return cols


def _frames(frame, columns: list[str], batch_rows: int | None):
    """``columns`` of the gate frame of ``frame`` as pandas frames of at most ``batch_rows`` records
    (all at once when None), in record order; at least one frame (empty when there are no records).

    ``frame``: a Parquet file of records (its gate columns are computed batch by batch from the raw
    columns they need, read in batches: the whole file's texts are never in memory), a gate frame
    (Polars, lazy or not) or a pandas one."""
    import pandas as pd

    if isinstance(frame, (str, Path)):
        import pyarrow.parquet as pq

        with pq.ParquetFile(frame, buffer_size=1 << 20) as pf:
            names = pf.schema_arrow.names
            exprs = [e for e in gate_exprs(names) if e.meta.output_name() in columns]
            exprs.sort(key=lambda e: columns.index(e.meta.output_name()))
            raw = [c for c in names if c in {r for e in exprs for r in e.meta.root_names()}]
            size = batch_rows or max(pf.metadata.num_rows, 1)
            # one row group at a time: pyarrow's reader over the whole file keeps every row group it
            # has read alive until the end (1 GB of buffers at 1x), one group's reader does not
            for group in range(pf.num_row_groups):
                for batch in pf.iter_batches(batch_size=size, columns=raw, row_groups=[group]):
                    # no reference kept here while the caller validates: the batch's frames go with it
                    box = [pl.from_arrow(batch).select(exprs).to_pandas()]
                    del batch
                    yield box.pop()
            if not pf.num_row_groups or not pf.metadata.num_rows:
                yield pl.from_arrow(pf.schema_arrow.empty_table().select(raw)).select(exprs).to_pandas()
        return
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    step = batch_rows or max(len(frame), 1)
    for off in range(0, max(len(frame), 1), step):
        part = frame[off:off + step]
        yield part[columns] if isinstance(frame, pd.DataFrame) else part.select(columns).to_pandas()


def _whole(frame, columns: list[str]):
    """``columns`` of the whole gate frame of ``frame`` (see :func:`_frames`), as one pandas frame."""
    if isinstance(frame, (str, Path)):
        lazy = pl.scan_parquet(Path(frame))
        exprs = {e.meta.output_name(): e for e in gate_exprs(lazy.collect_schema().names())}
        return lazy.select([exprs[c] for c in columns if c in exprs]).collect().to_pandas()
    return next(_frames(frame, columns, None))


def _combine(evrs: list, result_format: dict):
    """One expectation's results on consecutive batches -> its result on their union, as GE
    reports it on the whole: counts summed, percents and ``success`` (``mostly``) recomputed on the
    totals with GE's own functions, the unexpected values (and ids) concatenated in record order
    and capped as GE caps them."""
    from great_expectations.expectations.expectation import _format_map_output, _mostly_success
    from great_expectations.expectations.expectation_configuration import parse_result_format

    failed = [e for e in evrs if e.exception_info and e.exception_info.get("raised_exception")]
    if len(evrs) == 1 or failed:
        return (failed or evrs)[0]
    res = [e.result or {} for e in evrs]
    total = sum(r.get("element_count") or 0 for r in res)
    missing = None if any(r.get("missing_count") is None for r in res) else sum(r["missing_count"] for r in res)
    unexpected = sum(r.get("unexpected_count") or 0 for r in res)
    considered = total if missing is None else total - missing  # GE: not-null counts every row
    mostly = evrs[0].expectation_config.kwargs.get("mostly", 1)
    success = considered == 0 or _mostly_success(considered, unexpected, mostly)

    def joined(key: str) -> list | None:
        full = f"unexpected_{key}" if all(f"unexpected_{key}" in r for r in res) else f"partial_unexpected_{key}"
        return [v for r in res for v in (r.get(full) or [])]

    fmt = parse_result_format(result_format)
    out = _format_map_output(
        result_format=fmt, success=success, element_count=total,
        nonnull_count=None if missing is None else considered, unexpected_count=unexpected,
        unexpected_list=joined("list"), unexpected_index_list=joined("index_list"), unexpected_rows=None,
        unexpected_index_query=None, unexpected_index_column_names=fmt.get("unexpected_index_column_names"),
    )
    combined = copy.deepcopy(evrs[0])
    combined.success, combined.result = out["success"], out.get("result", {})
    return combined


def _run_batches(frame, suite, batch_def, fmt: dict, batch_rows: int | None) -> tuple[list, tuple]:
    """The suite's per-row expectations on each batch of ``frame``, the others on its whole
    columns -> (one combined result per expectation in suite order, (first batch's suite result,
    its batch id))."""
    import great_expectations as gx
    from great_expectations.validator.v1_validator import Validator

    rows_at = [i for i, e in enumerate(suite.expectations) if per_row(e)]
    whole_at = [i for i, e in enumerate(suite.expectations) if not per_row(e)]
    by_index: dict[int, list] = {i: [] for i in range(len(suite.expectations))}
    first = None
    # GE has no Polars backend: pandas only inside the gate, one bounded frame at a time
    for at, frames in ((rows_at, lambda cols: _frames(frame, cols, batch_rows)),
                       (whole_at, lambda cols: iter([_whole(frame, cols)]))):
        if not at:
            continue
        part = gx.ExpectationSuite(name=suite.name, expectations=[copy.copy(suite.expectations[i]) for i in at])
        for df in frames(_columns(part.expectations)):
            validator = Validator(batch_definition=batch_def, batch_parameters={"dataframe": df}, result_format=fmt)
            result = validator.validate_expectation_suite(part)
            first = first or (result, validator.active_batch_id)
            for i, evr in zip(at, result.results):
                by_index[i].append(evr)
            del df, validator, result
    return [_combine(by_index[i], fmt) for i in range(len(suite.expectations))], first


def validate(frame, suite_name: str | None = None, expectations: list | None = None,
             docs_dir: str | Path | None = None, ids: bool = False,
             batch_rows: int | None = BATCH_ROWS) -> list[dict] | tuple[list[dict], FileRef]:
    """Run the suite on a frame with GE's pandas backend -> one result dict per expectation;
    with ``docs_dir`` also build the HTML Data Docs there -> (rows, its index.html).

    ``frame``: a Parquet file of records, or a gate frame (Polars or pandas): see :func:`_frames`.
    Per-row expectations (:func:`per_row`) run on batches of ``batch_rows`` records (None: one
    batch), their results combined (:func:`_combine`) into what GE reports on the whole; the
    others run once on the whole frame's columns they read (small ones: ids, labels, flags).
    One GE context and suite serve every batch; the Data Docs show one validation result with
    the combined results, as if the suite had run on the whole frame.

    ``ids``: also list every failing record's id (``unexpected_ids``; GE's COMPLETE result format),
    for callers that act per record (the chain stage, tasks/model/chain.py)."""
    import datetime

    import great_expectations as gx  # 5-9 s import: only here
    from great_expectations.core import ExpectationSuiteValidationResult, RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from expectations import prepare as suite_mod

    suite_name = suite_name or suite_mod.SUITE_NAME
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        ctx.data_sources.add_pandas("medprep")
        .add_dataframe_asset(suite_name.rsplit(".", 1)[-1])  # pool | sample: named so in the Data Docs
        .add_batch_definition_whole_dataframe("all")
    )
    suite = ctx.suites.add_or_update(
        # copies: the caller's expectations stay unbound, so the same list can be validated again
        gx.ExpectationSuite(name=suite_name, expectations=[copy.copy(e) for e in expectations or suite_mod.expectations()])
    )
    fmt = {"result_format": "COMPLETE" if ids else "SUMMARY", "unexpected_index_column_names": [S.ID]}
    # GE hashes every pandas batch for a "fingerprint" batch marker (a fifth of the gate's CPU);
    # one batch's fingerprint would not describe the stage: not computed (validation unchanged)
    from great_expectations.execution_engine import pandas_execution_engine as engine

    threshold, engine.HASH_THRESHOLD = engine.HASH_THRESHOLD, 0
    try:
        evrs, first = _run_batches(frame, suite, batch_def, fmt, batch_rows)
    finally:
        engine.HASH_THRESHOLD = threshold
    rows = _rows(evrs, ids)
    if docs_dir is None:
        return rows
    # the combined result, stored as ValidationDefinition.run stores one, for the Data Docs
    run_id = RunIdentifier(run_time=datetime.datetime.now(datetime.UTC))
    ok = sum(e.success for e in evrs)
    combined = ExpectationSuiteValidationResult(
        success=ok == len(evrs), results=evrs, suite_name=suite_name,
        statistics={"evaluated_expectations": len(evrs), "successful_expectations": ok,
                    "unsuccessful_expectations": len(evrs) - ok,
                    "success_percent": 100 * ok / len(evrs) if evrs else None},
        meta={**first[0].meta, "run_id": run_id, "validation_time": run_id.run_time,
              "batch_parameters": {"dataframe": f"records in batches of {batch_rows or 'all'}"}},
    )
    suite_id = ExpectationSuiteIdentifier(name=suite_name)
    ctx.validation_results_store.store_validation_results(
        suite_validation_result=combined,
        suite_validation_result_identifier=ValidationResultIdentifier(
            batch_identifier=first[1], expectation_suite_identifier=suite_id, run_id=run_id),
        expectation_suite_identifier=suite_id,
    )
    return rows, build_docs(ctx, docs_dir)


def _rows(results: list, ids: bool = False) -> list[dict]:
    rows = []
    for r in results:
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
                **({"unexpected_ids": [e.get(S.ID) for e in (res.get("unexpected_index_list") or [])]} if ids else {}),
            }
        )
    return rows


def failure_message(rows: list[dict], stage: str = "pool", docs: str | None = None) -> str:
    """One paragraph naming each failed expectation with its examples (and the Data Docs page)."""
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
    where = "" if stage == "pool" else f" ({stage} gate)"
    see = f". Details: {docs}" if docs else ""
    return f"gate failed{where}, nothing written: " + "; ".join(parts) + see


@task(name="gate", cache_policy=FILES, persist_result=True)
def run_gate(path: str, stage: str = "pool", docs_dir: str | None = None,
             min_reference_share: float | None = None) -> Gate:
    """Validate the Parquet file of ``stage`` (pool | sample) with its suite in expectations/
    and build the Data Docs into ``docs_dir``; raise GateFailedError on any failure (the docs
    are built first, and the message names them)."""
    from expectations import prepare as suite_mod

    logger = log()
    t0 = time.perf_counter()
    suite = suite_mod.SUITES[stage]
    exps = suite_mod.expectations(stage, min_reference_share)
    docs = None
    # the file itself: validate reads it in bounded batches (BATCH_ROWS records)
    if docs_dir:
        rows, docs = validate(path, suite, exps, docs_dir=docs_dir)
    else:
        rows = validate(path, suite, exps)
    rows = [{**r, "stage": stage} for r in rows]
    ok = sum(r["success"] for r in rows)
    records = pl.scan_parquet(path).select(pl.len()).collect().item()
    logger.info("gate %s: %d/%d expectations passed on %d records in %.2fs", stage, ok, len(rows), records,
                time.perf_counter() - t0)
    if ok < len(rows):
        raise GateFailedError(failure_message(rows, stage, docs.path if docs else None))
    return Gate(stage=stage, suite=suite, rows=rows, docs=docs)


def quarantine_shares(parsed: list[ParsedFile]) -> dict[str, tuple[int, int]]:
    """Per source: (records quarantined while parsing, records read)."""
    out: dict[str, tuple[int, int]] = {}
    for p in parsed:
        bad, seen = out.get(p.source, (0, 0))
        out[p.source] = (bad + p.quarantined, seen + p.records + p.quarantined)
    return out


def check_quarantine_share(parsed: list[ParsedFile], max_share: float) -> None:
    """Fail the run when a source's parse quarantine exceeds ``max_share`` of its records.

    A file that is 40 % garbage is a broken file, not data: the run stops before anything is
    written, naming the source, its share, each file's reasons and the flag that sets the limit.
    """
    over = {s: (b, n) for s, (b, n) in sorted(quarantine_shares(parsed).items()) if n and b / n > max_share}
    if not over:
        return
    parts = []
    for source, (bad, seen) in over.items():
        files = []
        for p in sorted((p for p in parsed if p.source == source), key=lambda p: p.relpath):
            why = ""
            if p.quarantined:
                reasons = pl.read_parquet(p.quarantine_file.path, columns=[S.REASON])
                # "near_duplicate_of:<id>"-style reasons: count by kind
                kinds = reasons.group_by(pl.col(S.REASON).str.split(":").list.first()).len().sort(S.REASON)
                why = ", ".join(f"{r}: {n}" for r, n in kinds.iter_rows())
            files.append(f"{p.relpath}: {p.records:,} usable, {p.quarantined:,} quarantined" + (f" ({why})" if why else ""))
        parts.append(f"source {source}: {bad / seen:.1%} of its records quarantined ({bad:,} of {seen:,}; "
                     + "; ".join(files) + ")")
    raise QuarantineShareError(
        "; ".join(parts) + f", above --max-quarantine-share {max_share:g} (flow parameter max_quarantine_share). "
        "A file that broken is not data: check or re-download it, or raise the limit to accept it. "
        "Nothing written; the previous outputs are untouched."
    )
