"""Great Expectations gates: validate the pool and the final sample, build their HTML Data Docs;
a failure stops the flow before any write. Also the parse stage's quarantine-share check.

Suites and thresholds: expectations/prepare.py; how to read and tune them: docs/gates.md.
"""

from __future__ import annotations

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


def gate_frame(frame: pl.LazyFrame) -> pl.DataFrame:
    """Only the columns the suites read, plus ``think_output`` (null where there is no reasoning),
    ``reasoning_chars`` and ``has_reference`` (true where a record has a verifiable ground truth, else null); the
    sample's ``split`` when the frame has one."""
    from expectations.prepare import HAS_REFERENCE, REASONING_CHARS, THINK_OUTPUT
    from tasks.sample import SPLIT, verifiable_expr

    names = frame.collect_schema().names()
    return frame.select(
        *GATE_COLUMNS,
        *([SPLIT] if SPLIT in names else []),
        pl.when(has_reasoning()).then(output_expr()).otherwise(None).alias(THINK_OUTPUT),
        pl.col(S.REASONING).str.len_chars().alias(REASONING_CHARS),
        pl.when(verifiable_expr(names)).then(True).otherwise(None).alias(HAS_REFERENCE),
    ).collect()


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


def validate(frame, suite_name: str | None = None, expectations: list | None = None,
             docs_dir: str | Path | None = None, ids: bool = False) -> list[dict] | tuple[list[dict], FileRef]:
    """Run the suite on a frame (Polars, or already converted to pandas) with GE's pandas backend
    -> one result dict per expectation;
    with ``docs_dir`` also build the HTML Data Docs there -> (rows, its index.html).

    ``ids``: also list every failing record's id (``unexpected_ids``; GE's COMPLETE result format),
    for callers that act per record (the chain stage, tasks/model/chain.py)."""
    import great_expectations as gx  # 5-9 s import: only here
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

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
        gx.ExpectationSuite(name=suite_name, expectations=expectations or suite_mod.expectations())
    )
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{suite_name} gate", data=batch_def, suite=suite)
    )
    # GE has no Polars backend: pandas only inside the gate
    result = vd.run(
        batch_parameters={"dataframe": frame if isinstance(frame, pd.DataFrame) else frame.to_pandas()},
        result_format={"result_format": "COMPLETE" if ids else "SUMMARY", "unexpected_index_column_names": [S.ID]},
    )
    rows = _rows(result, ids)
    if docs_dir is None:
        return rows
    return rows, build_docs(ctx, docs_dir)


def _rows(result, ids: bool = False) -> list[dict]:
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
    # converted once, and the Polars frame let go, so the two copies are not both held while GE runs
    frame = gate_frame(pl.scan_parquet(Path(path))).to_pandas()
    suite = suite_mod.SUITES[stage]
    exps = suite_mod.expectations(stage, min_reference_share)
    docs = None
    if docs_dir:
        rows, docs = validate(frame, suite, exps, docs_dir=docs_dir)
    else:
        rows = validate(frame, suite, exps)
    rows = [{**r, "stage": stage} for r in rows]
    ok = sum(r["success"] for r in rows)
    logger.info("gate %s: %d/%d expectations passed on %d records in %.2fs", stage, ok, len(rows), len(frame),
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
