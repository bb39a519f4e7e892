"""The chain stage on an already prepared output folder (the ``chains`` flow, flows/model_stages.py).

Reads ``<out>/processed/{train,val}.jsonl``; for each record without reasoning (``meta.has_reasoning``
false) the writer writes a chain toward the known answer, judged exactly as inside ``prepare``
(tasks/model/chain.py: complete, the gate's record-level expectations, the judge when set). An
accepted chain turns the line's ``output`` into ``<think>\\n{chain}\\n</think>\\n\\n{answer}`` with
``meta.has_reasoning`` true and ``meta.model.chain_model`` / ``chain_prompt`` / ``chain_params``; a
rejected generation is added to ``quarantine/<source>.jsonl`` (``chain_rejected:<why>``) and its
record stays as it was. ``rl/`` is exported again and the card gets a "Reasoning chains" section
(replaced on a rerun); everything is swapped in as one unit. Cache: ``<out>/.work/model-cache``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tasks.core import schema as S
from tasks.export.records import THINK_CLOSE, THINK_OPEN
from tasks.model.client import Endpoint, Sampling
from tasks.model.passrate_outputs import SPLITS, _model_struct, finish, load_outputs

START, END = "<!-- medprep:chain:start -->", "<!-- medprep:chain:end -->"


def _canonical(full: pl.DataFrame, view: pl.DataFrame) -> pl.DataFrame:
    """The columns the chain stage reads, from a processed file (``output`` is the bare answer
    wherever there is no reasoning)."""
    meta = full.schema["meta"].to_schema() if full.height else {}

    def field(name: str, dtype) -> pl.Expr:
        return (full["meta"].struct.field(name).cast(dtype) if name in meta
                else pl.Series(name, [None] * full.height, dtype=dtype)).alias(name)

    return pl.DataFrame([
        view["id"].alias(S.ID), view["source"].alias(S.SOURCE), view["language"].alias(S.LANGUAGE),
        view["question"].alias(S.QUESTION), view["risk_level"].alias(S.RISK_LEVEL),
        view["reference_answer"].alias(S.REFERENCE_ANSWER),
        pl.Series(S.ANSWER, view["output"]),
        # only "has one or not" matters here: a record with its own chain is never asked
        view.select(pl.when(pl.col("has_reasoning").fill_null(False)).then(pl.lit("(own)"))
                    .otherwise(pl.lit(None, dtype=pl.String)).alias(S.REASONING)).to_series(),
        full.select(field(S.SOURCE_FILE, pl.String)).to_series(), full.select(field(S.SOURCE_ROW, pl.Int64)).to_series(),
        view["model"].alias(S.MODEL),
    ])


def section(rep: dict, files: dict[str, dict]) -> str:
    from tasks.export.datacard import chain_block, md_table

    return "\n".join([START, "", "## Reasoning chains written by a model (chain, run on the prepared sample)", "",
                      chain_block(rep), "", "Files rewritten by this run (the table of output files above is the "
                      "prepare run's):", "",
                      md_table(["file", "rows", "sha256"], [[k, f"{v['rows']:,}", f"`{v['sha256']}`"]
                                                            for k, v in sorted(files.items())]), "", END]) + "\n"


def chain_outputs(out_dir: str | Path, writer: Endpoint, *, sampling: Sampling, judge: Endpoint | None = None,
                  export_rl: bool = True) -> dict:
    """Write chains for ``out_dir``'s records without reasoning and rewrite the folder atomically; the report."""
    from tasks.model.chain import write_chains

    out, stage, manifest, frames = load_outputs(out_dir)
    canon = {s: _canonical(*frames[s]) for s in SPLITS}
    both = pl.concat([canon[s] for s in SPLITS], how="vertical_relaxed")
    kept, bad, rep = write_chains(both, writer, str(out / ".work" / "model-cache"), sampling=sampling, judge_ep=judge)
    new_chain = kept[S.REASONING].is_not_null() & both[S.REASONING].is_null()
    processed, offset = {}, 0
    for split in SPLITS:
        full, view = frames[split]
        n = full.height
        part, fresh = kept.slice(offset, n), new_chain.slice(offset, n)
        offset += n
        if n and fresh.any():
            model = part[S.MODEL]
            full = full.with_columns(
                pl.when(pl.lit(fresh)).then(pl.concat_str([pl.lit(THINK_OPEN), pl.lit(part[S.REASONING]),
                                                           pl.lit(THINK_CLOSE), pl.col("output")]))
                .otherwise(pl.col("output")).alias("output"),
                pl.col("meta").struct.with_fields(
                    pl.when(pl.lit(fresh)).then(True).otherwise(pl.col("meta").struct.field("has_reasoning"))
                    .alias("has_reasoning"),
                    _model_struct(full, {k: pl.when(pl.lit(fresh)).then(pl.lit(model.struct.field(k)))
                                         for k in ("chain_model", "chain_prompt", "chain_params")},
                                  keep_when_null=True)))
        processed[split] = full
    files, rl = finish(out, stage, manifest, processed, bad, export_rl, lambda files: section(rep, files), (START, END))
    return {**rep, "out_dir": str(out), "files": files, "rl": rl}
