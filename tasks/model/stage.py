"""The model stages as Prefect tasks of the ``prepare`` flow (off unless an endpoint is given).

``verify-references`` runs on the drawn sample: the judge scores each record's own reference
response against its short answer (tasks/model/verify_stage.py); records below ``threshold`` go to
quarantine. The client's content cache lives in the run's work folder, so a rerun or a run resumed
after a kill asks the server only for what it has not answered yet.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import task

from tasks.core.caching import FILES
from tasks.core.logs import log
from tasks.core.results import FileRef, ModelStep, Sample
from tasks.model.client import Endpoint
from tasks.model.common import write_frames
from tasks.model.verify_stage import verify_references


def judge_endpoint(url: str | None, model: str | None) -> dict | None:
    """The flow's judge parameters as an endpoint dict (None: stage off). No key: it stays in the env."""
    if not url:
        return None
    if not model:
        from tasks.core.errors import ConfigError

        raise ConfigError(f"judge_url {url!r} needs judge_model (the model name the server serves)")
    return {"base_url": url, "model": model}


@task(name="verify-references", cache_policy=FILES, persist_result=True)
def verify_sample(sample: Sample, work_dir: str, judge: dict, votes: int = 1,
                  threshold: float | None = None) -> ModelStep:
    """Judge the sample's reference responses; returns the kept sample, the quarantine and a report."""
    endpoint = Endpoint(**judge)
    frame = pl.read_parquet(sample.sample_file.path)
    kept, bad, rep = verify_references(frame, endpoint, str(Path(work_dir) / "model-cache"),
                                       votes=votes, threshold=threshold)
    kept_path, bad_path = write_frames(kept, bad, work_dir, "verified")
    log().info("verify-references: %d with a reference answer, %d judged, agreement %s, %d quarantined",
               rep["with_reference"], rep["judged"], rep["agreement"], bad.height)
    report = {**sample.report, "verify_references": rep}
    return ModelStep(sample=Sample(sample_file=FileRef.of(kept_path), report=report),
                     quarantine_file=FileRef.of(bad_path), report=rep)
