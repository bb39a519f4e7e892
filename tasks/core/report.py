"""What a run shows in the Prefect UI: the data card, gate results, counts and progress as artifacts.

Pure functions build the tables and keys (tested without Prefect); the ``publish_*`` helpers and
:class:`Progress` create the artifacts when called inside a flow run and do nothing outside one
(``task.fn`` calls, plain scripts). An artifact is a convenience: a failure to publish one is
logged as a warning and never fails the run.

Keys (lowercase letters, digits, dashes; one per run label, so the UI's Artifacts page keeps a
history per deployment): ``data-card-<label>``, ``gate-<label>``, ``counts-<label>``,
``progress-<label>``, ``data-docs-<label>`` (a link to the gates' HTML report), where the label is the source key for a one-source run and ``mixed``
otherwise.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from uuid import UUID

from tasks.core.logs import log

STAGES = ("download", "detect", "parse", "label", "pool", "decontaminate", "gate", "sample", "write")


def run_label(sources: Iterable[str]) -> str:
    """The source key for a one-source run, else ``mixed``."""
    found = sorted(set(sources))
    return found[0] if len(found) == 1 else "mixed"


def plan_label(plan) -> str:
    """Label of a run from its source plan: the key of a one-source run, ``mixed`` for several or
    ``all``, ``auto`` when no source was named."""
    if plan.mode == "auto":
        return "auto"
    return run_label(plan.sources) if plan.mode == "named" else "mixed"


def artifact_key(kind: str, label: str) -> str:
    """``<kind>-<label>`` in the form Prefect accepts: lowercase letters, digits and dashes."""
    key = re.sub(r"[^a-z0-9-]+", "-", f"{kind}-{label}".lower())
    return re.sub(r"-{2,}", "-", key).strip("-")


def gate_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per expectation: expectation, column, success, unexpected count, examples."""
    return [
        {
            "expectation": r["expectation"],
            "column": r.get("column") or "",
            "success": bool(r["success"]),
            "unexpected_count": r.get("unexpected_count"),
            "observed": "" if r.get("observed_value") is None else str(r["observed_value"])[:120],
            "examples": "; ".join(str(e) for e in r.get("examples") or [])[:300],
        }
        for r in rows
    ]


def counts_table(sample_path: str) -> list[dict[str, Any]]:
    """Records in the sample by source x risk level (with a total row)."""
    import polars as pl

    from tasks.core import schema as S
    frame = pl.read_parquet(sample_path, columns=[S.SOURCE, S.RISK_LEVEL])
    rows = []
    for source in sorted(frame.get_column(S.SOURCE).unique().to_list()):
        part = frame.filter(pl.col(S.SOURCE) == source)
        counts = {r: int((part.get_column(S.RISK_LEVEL) == r).sum()) for r in S.RISK_LEVELS}
        rows.append({"source": source, **counts, "total": part.height})
    totals = {r: sum(row[r] for row in rows) for r in S.RISK_LEVELS}
    rows.append({"source": "all", **totals, "total": frame.height})
    return rows


def _pause_before(stage: str) -> None:
    from tasks.core.pause import pause_at

    pause_at(stage)


def stage_line(stage: str, done: int, total: int, detail: str, seconds: float) -> str:
    """The progress artifact's description: what the run finished last."""
    return f"{done}/{total} {stage}: {detail} ({seconds:.1f}s into the run)"


def _in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _publish(create, **kwargs) -> UUID | None:
    if not _in_run():
        return None
    try:
        return create(**kwargs)
    except Exception as err:  # never fail a run over its report
        log().warning("could not publish artifact %s: %s", kwargs.get("key"), err)
        return None


def publish_markdown(kind: str, label: str, markdown: str, description: str) -> UUID | None:
    """A markdown artifact ``<kind>-<label>``; None outside a run."""
    from prefect.artifacts import create_markdown_artifact

    return _publish(create_markdown_artifact, key=artifact_key(kind, label), markdown=markdown, description=description)


def publish_table(kind: str, label: str, rows: list[dict[str, Any]], description: str) -> UUID | None:
    """A table artifact ``<kind>-<label>``; None outside a run."""
    from prefect.artifacts import create_table_artifact

    return _publish(create_table_artifact, key=artifact_key(kind, label), table=rows, description=description)


def publish_card(label: str, card_text: str) -> UUID | None:
    """The data card, as written to DATA_CARD.md."""
    return publish_markdown("data-card", label, card_text, "DATA_CARD.md of this run")


def publish_gate(label: str, gate_rows: list[dict[str, Any]]) -> UUID | None:
    """The Great Expectations results, one row per expectation."""
    ok = sum(r["success"] for r in gate_rows)
    return publish_table("gate", label, gate_table(gate_rows), f"Great Expectations gate: {ok}/{len(gate_rows)} passed")


def publish_data_docs(label: str, index: Path) -> UUID | None:
    """A link artifact to the gates' Data Docs (``<out>/reports/data_docs/index.html``), as a
    file:// URL: it opens on the machine that ran the flow; None when the run built none."""
    from prefect.artifacts import create_link_artifact

    if not Path(index).is_file():
        return None
    return _publish(create_link_artifact, key=artifact_key("data-docs", label), link=Path(index).resolve().as_uri(),
                    link_text="Great Expectations Data Docs (pool and sample gates)",
                    description=f"HTML report of the gates, written to {index}")


def publish_counts(label: str, sample_path: str) -> UUID | None:
    """Sample counts by source x risk level."""
    if not _in_run():
        return None
    return publish_table("counts", label, counts_table(sample_path), "records in the sample by source x risk level")


class Progress:
    """A progress artifact ``progress-<label>`` moved forward once per stage of the flow.

    ``Progress(label)`` creates it at 0 %; ``step(stage, detail)`` marks ``stage`` (one of
    :data:`STAGES`) done. Outside a run every call is a no-op.
    """

    def __init__(self, label: str, stages: tuple[str, ...] = STAGES) -> None:
        from prefect.artifacts import create_progress_artifact

        self.stages = stages
        self.t0 = time.perf_counter()
        self.id = _publish(
            create_progress_artifact, key=artifact_key("progress", label), progress=0.0, description="starting"
        )
        _pause_before(stages[0])  # the flow's first work: download, or (offline) detect

    def step(self, stage: str, detail: str = "") -> None:
        """Mark ``stage`` finished (later stages of a skipped branch count as done too)."""
        done = self.stages.index(stage) + 1 if stage in self.stages else len(self.stages)
        pct = round(100.0 * done / len(self.stages), 1)
        desc = stage_line(stage, done, len(self.stages), detail, time.perf_counter() - self.t0)
        log().info("%s", desc)
        if done < len(self.stages):  # the next stage starts now (a test may kill it here)
            _pause_before(self.stages[done])
        if self.id is None:
            return
        from prefect.artifacts import update_progress_artifact

        try:
            update_progress_artifact(self.id, progress=pct, description=desc)
        except Exception as err:
            log().warning("could not update the progress artifact: %s", err)
