"""The pass-rate filter on an already prepared output folder (the ``passrate`` flow, flows/model_stages.py).

Reads ``<out>/processed/{train,val}.jsonl`` as written by ``prepare``, scores every prompt with a
verifiable ground truth on the policy (tasks/model/passrate.py), and rewrites the folder as one unit:

* ``processed/{train,val}.jsonl``: the kept records, each line as it was plus ``meta.model``
  (``pass_rate``, ``pass_samples``, ``policy``; fields another stage filled are kept);
* ``quarantine/<source>.jsonl``: the previous rows plus one per dropped record
  (``pass_rate:too_hard`` / ``pass_rate:too_easy``, ``raw`` = the record's line with its rate);
* ``rl/``: the RL export again, with the settings in ``rl/manifest.json`` (``pass_rate`` in
  ``extra_info`` and the TRL / OpenRLHF columns);
* ``DATA_CARD.md``: the card with a "Pass-rate filter" section (replaced on a rerun), which lists the
  rewritten files with their sha256 and, per source, records and risk shares before and after.

Everything is written under ``<out>/.staging`` and swapped in only when complete. An already drawn
sample cannot be refilled: what the filter takes from a source's share is named, not made up
(``prepare --policy-url`` oversamples and draws after filtering instead). The client's cache lives in
``<out>/.work/model-cache`` (the same as ``prepare``'s), so a rerun asks the server nothing.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl

from tasks.core import schema as S
from tasks.core.storage import sha256_file, write_ndjson
from tasks.model.client import Endpoint, Sampling
from tasks.model.passrate import Band, filter_records, policy_tag

SPLITS = ("train", "val")
START, END = "<!-- medprep:pass-rate:start -->", "<!-- medprep:pass-rate:end -->"


def _read(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the file's rows as they are, the flat view the RL export reads)."""
    from tasks.export.rl.export import read_processed

    view = read_processed(path)
    if view.is_empty():
        return pl.DataFrame(schema={"input": pl.String, "output": pl.String, "meta": pl.Struct({"id": pl.String})}), view
    return pl.read_ndjson(path, infer_schema_length=None), view


def _model_struct(meta: pl.DataFrame, values: dict[str, pl.Expr], keep_when_null: bool = False) -> pl.Expr:
    """``meta.model`` with ``values`` set and every other field kept (null when absent);
    ``keep_when_null``: where a value is null the old field stays."""
    has = "model" in meta.schema["meta"].to_schema() if isinstance(meta.schema["meta"], pl.Struct) else False
    old = pl.col("meta").struct.field("model") if has else None
    inner = meta.schema["meta"].to_schema().get("model") if has else None
    names = inner.to_schema() if isinstance(inner, pl.Struct) else {}
    fields = []
    for name, dtype in S.MODEL_DTYPE.to_schema().items():
        if name in values and keep_when_null and old is not None and name in names:
            fields.append(pl.coalesce(values[name].cast(dtype), old.struct.field(name).cast(dtype)).alias(name))
        elif name in values:
            fields.append(values[name].cast(dtype).alias(name))
        elif old is not None and name in names:
            fields.append(old.struct.field(name).cast(dtype).alias(name))
        else:
            fields.append(pl.lit(None, dtype=dtype).alias(name))
    return pl.struct(fields).alias("model")


def _shares(views: list[pl.DataFrame]) -> dict[str, dict]:
    frame = pl.concat([v.select("source", "risk_level") for v in views]) if views else pl.DataFrame()
    out: dict[str, dict] = {}
    if frame.is_empty():
        return out
    for src, n, high, low in (frame.group_by("source").agg(pl.len(), (pl.col("risk_level") == "high").sum(),
                                                           (pl.col("risk_level") == "low").sum().alias("low"))
                              .sort("source").iter_rows()):
        out[src] = {"records": int(n), "high": round(high / n, 4), "low": round(low / n, 4)}
    return out


def _manifest(out: Path) -> dict:
    try:
        return json.loads((out / "rl" / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def card_section(rep: dict, files: dict[str, dict]) -> str:
    """The card's "Pass-rate filter" section for a standalone run (between markers, replaced on a rerun)."""
    from tasks.export.datacard import md_table, passrate_block

    rows = [[src, f"{b['records']:,}", f"{a.get('records', 0):,}", f"{b['high']:.0%} → {a.get('high', 0):.0%}",
             f"{b['low']:.0%} → {a.get('low', 0):.0%}"] for src, b in sorted(rep["shares_before"].items())
            for a in [rep["shares_after"].get(src, {})]]
    lines = [START, "", "## Pass-rate filter (pass-rate, run on the prepared sample)", "", passrate_block(rep), "",
             "Per source, before → after the filter (the sample is not refilled: a share the filter took is named "
             "here; `prepare --policy-url` oversamples and draws after filtering instead):", "",
             md_table(["source", "records before", "after", "high-risk share", "low-risk share"], rows)]
    if rep["shortfalls"]:
        lines += ["", *[f"- shortfall: {s}" for s in rep["shortfalls"]]]
    lines += ["", "Files rewritten by this run (the table of output files above is the prepare run's):", "",
              md_table(["file", "rows", "sha256"], [[k, f"{v['rows']:,}", f"`{v['sha256']}`"] for k, v in sorted(files.items())]),
              "", END]
    return "\n".join(lines) + "\n"


def _with_section(card: str, section: str, markers: tuple[str, str] = (START, END)) -> str:
    pattern = re.compile(re.escape(markers[0]) + r".*?" + re.escape(markers[1]) + r"\n?", re.S)
    if pattern.search(card):
        return pattern.sub(lambda _: section, card, count=1)
    return card.rstrip("\n") + "\n\n" + section if card else section


def load_outputs(out_dir: str | Path) -> tuple[Path, Path, dict, dict[str, tuple[pl.DataFrame, pl.DataFrame]]]:
    """(out, its staging folder (emptied), rl/manifest.json, split -> (rows as they are, flat view))."""
    from tasks.export.outputs import STAGING
    from tasks.export.rl.export import RLExportError

    out = Path(out_dir)
    if not (out / "processed" / "train.jsonl").is_file():
        raise RLExportError(f"{out / 'processed' / 'train.jsonl'} not found: run `medprep prepare` first, "
                            "or pass the folder it wrote")
    stage = out / STAGING
    shutil.rmtree(stage, ignore_errors=True)
    return out, stage, _manifest(out), {s: _read(out / "processed" / f"{s}.jsonl") for s in SPLITS}


def finish(out: Path, stage: Path, manifest: dict, processed: dict[str, pl.DataFrame], new: pl.DataFrame,
           export_rl: bool, section, markers: tuple[str, str], question_form: str | None = None,
           seed: int | None = None) -> tuple[dict[str, dict], dict | None]:
    """Write ``processed`` (split -> rows), the previous quarantine files plus ``new`` rows, the RL export
    (settings of ``manifest``) and the card with ``section(files)`` between ``markers`` into ``stage``,
    then swap them into ``out``. Returns (files written: name -> rows, sha256; the RL summary or None)."""
    from tasks.export.outputs import publish
    from tasks.export.rl.export import placed, run_export

    files: dict[str, dict] = {}
    for split in SPLITS:
        path = write_ndjson(processed[split], stage / "processed" / f"{split}.jsonl")
        files[f"processed/{split}.jsonl"] = {"rows": processed[split].height, "sha256": sha256_file(path)}
    # quarantine/: the previous files, plus this run's rows in the files of their sources
    (stage / "quarantine").mkdir(parents=True, exist_ok=True)
    old_q = out / "quarantine"
    for p in sorted(old_q.glob("*.jsonl")) if old_q.is_dir() else []:
        shutil.copyfile(p, stage / "quarantine" / p.name)
    for source in sorted(new[S.SOURCE].unique().to_list()):
        path = stage / "quarantine" / f"{source}.jsonl"
        prev = pl.read_ndjson(path, schema=S.QUARANTINE_SCHEMA) if path.is_file() and path.stat().st_size else S.empty_quarantine()
        # unique: a rerun that rejects the same generation again (same cached answer) adds no second row
        rows = pl.concat([prev, new.filter(pl.col(S.SOURCE) == source)]).unique(maintain_order=True).sort(
            S.SOURCE, S.SOURCE_FILE, S.SOURCE_ROW, S.REASON, S.RAW, nulls_last=True, maintain_order=True)
        write_ndjson(rows, path)
        files[f"quarantine/{source}.jsonl"] = {"rows": rows.height, "sha256": sha256_file(path)}
    rl = None
    if export_rl:
        rl = run_export(stage / "processed", stage / "rl", manifest.get("max_prompt_tokens", 1024),
                        ground_truth=manifest.get("ground_truth", "prefer"),
                        question_form=question_form or manifest.get("question_form", "both"),
                        seed=manifest.get("seed", 42) if seed is None else seed)
        for key in ("exports", "response_only_exports"):
            for _fmt, splits in sorted(rl.get(key, {}).items()):
                for _, v in sorted(splits.items()):
                    files[f"rl/{v['path']}"] = {"rows": v["rows"], "sha256": v["sha256"]}
    card_path = out / "DATA_CARD.md"
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    (stage / "DATA_CARD.md").write_text(_with_section(card, section(files), markers), encoding="utf-8")
    publish(stage, out)
    return files, (placed(rl, out / "rl") if rl else None)


def filter_outputs(out_dir: str | Path, policy: Endpoint, *, samples: int = 4, band: Band | str = "0,1",
                   sampling: Sampling | None = None, judge: Endpoint | None = None, export_rl: bool = True,
                   question_form: str | None = None, seed: int | None = None) -> dict:
    """Filter ``out_dir``'s processed sample by pass rate and rewrite the folder atomically; the report."""
    out, stage, manifest, frames = load_outputs(out_dir)
    band = Band.parse(band)
    question_form = question_form or manifest.get("question_form", "both")
    seed = manifest.get("seed", 42) if seed is None else seed
    sampling = sampling or Sampling(temperature=1.0, max_tokens=1024, seed=seed)
    cache_dir = str(out / ".work" / "model-cache")
    tag = policy_tag(policy, samples, sampling, judge)

    both = pl.concat([v for _, v in frames.values()], how="vertical_relaxed")
    split_of = pl.Series([s for s in SPLITS for _ in range(frames[s][1].height)])
    scored, reasons, rep = filter_records(both.with_columns(split_of.alias("_split")), both, policy, cache_dir,
                                          samples=samples, band=band, sampling=sampling,
                                          question_form=question_form, seed=seed, judge=judge)
    processed: dict[str, pl.DataFrame] = {}
    dropped, kept_views = [], []
    for split in SPLITS:
        full, view = frames[split]
        part = scored.filter(pl.col("_split") == split)
        if full.height:
            full = full.with_columns(pl.col("meta").struct.with_fields(_model_struct(full, {
                "pass_rate": pl.lit(part["pass_rate"]), "pass_samples": pl.lit(part["pass_samples"]),
                "policy": pl.lit(tag)})))
        keep = part["_reason"].is_null()
        processed[split] = full.filter(keep) if full.height else full
        kept_views.append(view.filter(keep))
        if full.height and (~keep).any():
            bad = full.filter(~keep)
            dropped.append(bad.select(
                pl.col("meta").struct.field(S.SOURCE).alias(S.SOURCE),
                pl.col("meta").struct.field(S.SOURCE_FILE).cast(pl.String).alias(S.SOURCE_FILE),
                pl.col("meta").struct.field(S.SOURCE_ROW).cast(pl.Int64).alias(S.SOURCE_ROW),
                pl.Series(S.REASON, part.filter(~keep)["_reason"]),
                pl.struct("input", "output", "meta").struct.json_encode().alias(S.RAW)))
    before, after = _shares([v for _, v in frames.values()]), _shares(kept_views)
    shortfalls = [f"source {s}: {b['records']:,} → {after.get(s, {}).get('records', 0):,} records after the filter "
                  f"(high-risk {b['high']:.0%} → {after.get(s, {}).get('high', 0):.0%}, low-risk {b['low']:.0%} → "
                  f"{after.get(s, {}).get('low', 0):.0%})"
                  for s, b in sorted(before.items()) if after.get(s, {}).get("records", 0) < b["records"]]
    rep.update(shares_before=before, shares_after=after, shortfalls=shortfalls, out_dir=str(out))
    new = pl.concat(dropped) if dropped else S.empty_quarantine()
    files, rl = finish(out, stage, manifest, processed, new, export_rl, lambda files: card_section(rep, files),
                       (START, END), question_form=question_form, seed=seed)
    rep["files"] = files
    rep["rl"] = rl
    return rep
