"""The verify-references stage on an already prepared output folder (the ``verify`` flow, flows/model_stages.py).

Reads ``<out>/processed/{train,val}.jsonl``; the judge scores each record's own answer (the text
after ``</think>``) against its short reference answer exactly as inside ``prepare``
(tasks/model/verify_stage.py). Judged lines get ``meta.model.verifier_score`` / ``verifier``; with a
threshold, records scoring below it move to ``quarantine/<source>.jsonl``
(``verifier_rejected_reference:<score>``). ``rl/`` is exported again and the card gets a "Model
verifier" section (replaced on a rerun); everything is swapped in as one unit. Cache:
``<out>/.work/model-cache``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tasks.core import schema as S
from tasks.model.client import Endpoint
from tasks.model.passrate_outputs import SPLITS, _model_struct, finish, load_outputs

START, END = "<!-- medprep:verify:start -->", "<!-- medprep:verify:end -->"


def _canonical(full: pl.DataFrame, view: pl.DataFrame) -> pl.DataFrame:
    meta = full.schema["meta"].to_schema() if full.height else {}

    def field(name: str, dtype) -> pl.Series:
        return (full["meta"].struct.field(name).cast(dtype) if name in meta
                else pl.Series(name, [None] * full.height, dtype=dtype)).alias(name)

    answer = view.select(pl.col("output").fill_null("").str.replace(r"(?s)^\s*<think>.*?</think>\s*", "")
                         .str.strip_chars().alias(S.ANSWER)).to_series()
    return pl.DataFrame([view["id"].alias(S.ID), view["source"].alias(S.SOURCE), field(S.SOURCE_FILE, pl.String),
                         field(S.SOURCE_ROW, pl.Int64), view["language"].alias(S.LANGUAGE),
                         view["question"].alias(S.QUESTION), answer,
                         view["reference_answer"].alias(S.REFERENCE_ANSWER), view["model"].alias(S.MODEL)])


def section(rep: dict, files: dict[str, dict]) -> str:
    from tasks.export.datacard import md_table, verifier_block

    return "\n".join([START, "", "## Model verifier (verify-references, run on the prepared sample)", "",
                      verifier_block(rep), "", "Files rewritten by this run (the table of output files above is "
                      "the prepare run's):", "",
                      md_table(["file", "rows", "sha256"], [[k, f"{v['rows']:,}", f"`{v['sha256']}`"]
                                                            for k, v in sorted(files.items())]), "", END]) + "\n"


def verify_outputs(out_dir: str | Path, judge: Endpoint, *, votes: int = 1, threshold: float | None = None,
                   export_rl: bool = True) -> dict:
    """Judge ``out_dir``'s reference responses, quarantine those below ``threshold``, rewrite the folder."""
    from tasks.model.verify_stage import verify_references

    out, stage, manifest, frames = load_outputs(out_dir)
    canon = pl.concat([_canonical(*frames[s]) for s in SPLITS], how="vertical_relaxed")
    kept, bad, rep = verify_references(canon, judge, str(out / ".work" / "model-cache"), votes=votes,
                                       threshold=threshold)
    scores = kept.select(pl.col(S.ID).alias("_id"), pl.col(S.MODEL).struct.field("verifier_score").alias("_s"),
                         pl.col(S.MODEL).struct.field("verifier").alias("_v"))
    processed = {}
    for split in SPLITS:
        full, _ = frames[split]
        if full.height:
            full = (full.with_columns(pl.col("meta").struct.field("id").alias("_id"))
                    .join(scores, on="_id", how="left", maintain_order="left"))
            full = full.filter(pl.col("_id").is_in(scores["_id"].implode()))
            full = full.with_columns(pl.col("meta").struct.with_fields(_model_struct(
                full, {"verifier_score": pl.col("_s"), "verifier": pl.col("_v")}, keep_when_null=True))
            ).drop("_id", "_s", "_v")
        processed[split] = full
    files, rl = finish(out, stage, manifest, processed, bad, export_rl, lambda files: section(rep, files), (START, END))
    return {**rep, "out_dir": str(out), "files": files, "rl": rl}
