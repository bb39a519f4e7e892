"""Write the contract's files as one unit: processed/, quarantine/, rl/, reports/ and DATA_CARD.md.

Everything is written into ``<out_dir>/.staging/`` first; only when all of it is on disk are the
items swapped into place (renames, the card last). A run that fails or is killed before that
leaves the previous outputs untouched — never new data next to an old card. A staging folder is
marked complete (``.complete``) before the swap starts; a run killed during the swap (a few
renames) leaves that marker, and the next run on the folder finishes the swap before anything
else (``recover``, called under the output lock), so the folder ends as the killed run's whole new
set, never a mix and never an item missing.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import WRITE
from tasks.core.logs import log
from tasks.core.results import FileRef, OutputFile, Sample, Written
from tasks.core.storage import sha256_file, swap_in, write_ndjson
from tasks.export.records import training_records
from tasks.sample import SPLIT

STAGING = ".staging"
COMPLETE = ".complete"  # in the staging folder: every item is on disk, the swap has begun
CARD = "DATA_CARD.md"
# the gates' HTML (Great Expectations Data Docs), beside the training files and never inside them
REPORTS = "reports"
DATA_DOCS = f"{REPORTS}/data_docs"
REPORTS_INDEX = f"{DATA_DOCS}/index.html"
# what one run owns under out_dir, in the order they are swapped in (the card last)
ITEMS = ("processed", "quarantine", "rl", REPORTS, CARD)


def file_info(path: Path, rows: int) -> OutputFile:
    """Path, row count and sha256 of a written file, for the data card."""
    return OutputFile(str(path), sha256_file(path), rows)


def write_processed(sample_path: str, quarantine_paths: list[str], out: Path) -> dict:
    """processed/{train,val}.jsonl and quarantine/<source>.jsonl under ``out``."""
    sample = pl.read_parquet(sample_path)
    written: dict[str, OutputFile] = {}
    for split in ("train", "val"):
        rows = training_records(sample.filter(pl.col(SPLIT) == split)).collect()
        path = write_ndjson(rows, out / "processed" / f"{split}.jsonl")
        written[f"processed/{split}.jsonl"] = file_info(path, rows.height)
    bad = pl.concat([pl.read_parquet(p) for p in quarantine_paths]) if quarantine_paths else S.empty_quarantine()
    # RAW last: rows without a row number (malformed CSV lines) still sort the same every run
    bad = bad.sort(S.SOURCE, S.SOURCE_FILE, S.SOURCE_ROW, S.REASON, S.RAW, nulls_last=True, maintain_order=True)
    (out / "quarantine").mkdir(parents=True, exist_ok=True)  # even empty: it replaces the last run's
    for source in sorted(bad.get_column(S.SOURCE).unique().to_list()):
        part = bad.filter(pl.col(S.SOURCE) == source)
        path = write_ndjson(part, out / "quarantine" / f"{source}.jsonl")
        written[f"quarantine/{source}.jsonl"] = file_info(path, part.height)
    return {"files": written, "quarantine_by_reason": _reasons(bad)}


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_data_docs(sites: dict[str, FileRef], dest: Path) -> Path:
    """Copy each gate's Data Docs site (stage -> its index.html) to ``dest/<stage>/`` and write
    ``dest/index.html`` linking them; the HTML carries GE's run times, so it is not byte-stable,
    which is why it lives under reports/ and never in processed/ or rl/."""
    from html import escape

    dest.mkdir(parents=True, exist_ok=True)
    links = []
    for stage, index in sites.items():
        # hard links where the work folder and the output share a file system (they do by default:
        # both under out_dir), a copy elsewhere; ~4 MB per site, most of it GE's images and fonts
        shutil.copytree(Path(index.path).parent, dest / stage, copy_function=_link_or_copy)
        links.append(f'<li><a href="{escape(stage)}/index.html">{escape(stage)}</a>: '
                     f"Great Expectations suite <code>medprep.{escape(stage)}</code></li>")
    page = ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>medprep gates</title></head><body>\n"
            "<h1>medprep gates: Great Expectations Data Docs</h1>\n<ul>\n" + "\n".join(links) + "\n</ul>\n"
            "<p>Suites and thresholds: <code>expectations/</code> (docs/gates.md).</p>\n</body></html>\n")
    (dest / "index.html").write_text(page, encoding="utf-8")
    return dest / "index.html"


def publish(stage: Path, out: Path) -> list[str]:
    """Swap each staged item into ``out`` (a rename each; the card last); returns what moved."""
    (stage / COMPLETE).touch()
    return _swap(stage, out)


def _swap(stage: Path, out: Path) -> list[str]:
    from tasks.core.pause import pause_at

    moved = []
    for name in ITEMS:
        src = stage / name
        if not src.exists():
            continue  # e.g. rl/ when the export is off (the previous one stays), or swapped already
        swap_in(src, out / name)  # also ends a swap_in cut between its two renames
        moved.append(name)
        if len(moved) == 1:
            pause_at("swap")  # test-only: a kill with one item new and the others old
    for name in ITEMS:  # a kill after a swap_in's second rename leaves its .old- copy
        old = out / f".old-{name}"
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
    shutil.rmtree(stage, ignore_errors=True)
    return moved


def recover(out_dir: str | Path) -> list[str]:
    """Finish the swap of a run killed in the middle of it (its staging folder is complete), or drop
    the staging folder of a run killed before; run under the output lock, before anything else.
    Returns the items swapped in."""
    out = Path(out_dir)
    stage = out / STAGING
    if not stage.is_dir():
        return []
    if not (stage / COMPLETE).exists():
        shutil.rmtree(stage, ignore_errors=True)  # a killed run's partial files: nothing was swapped
        return []
    moved = _swap(stage, out)
    log().warning("finished the swap of a run killed during it: %s now from that run (its complete "
                  "staging folder)", ", ".join(moved) or "nothing left")
    return moved


@task(name="write-outputs", cache_policy=WRITE, persist_result=True)
def write_outputs(
    sample: Sample, quarantines: list[FileRef], out_dir: str, card_ctx: dict, export_rl: bool = True,
    max_prompt_tokens: int = 1024, rl_question_form: str = "both", data_docs: dict[str, FileRef] | None = None,
) -> Written:
    """Write processed/, quarantine/, rl/ (when ``export_rl``), reports/data_docs/ (when the gates
    built ``data_docs``: stage -> index.html) and DATA_CARD.md into a staging folder, then swap
    them in; ``max_prompt_tokens`` is the RL export's prompt budget, ``rl_question_form`` its open
    / mc / both choice; the ground-truth mode and the seed come from the sample's config
    (``card_ctx["sample_config"]``)."""
    from tasks.export.datacard import render_card
    from tasks.export.rl.export import placed, run_export

    logger = log()
    t0 = time.perf_counter()
    out = Path(out_dir)
    stage = out / STAGING
    shutil.rmtree(stage, ignore_errors=True)  # leftovers of a killed run
    written = write_processed(sample.sample_file.path, [q.path for q in quarantines], stage)
    sampling = card_ctx.get("sample_config") or {}
    rl = run_export(stage / "processed", stage / "rl", max_prompt_tokens,
                    ground_truth=sampling.get("rl_ground_truth", "prefer"), question_form=rl_question_form,
                    seed=sampling.get("seed", 42)) if export_rl else None
    docs_index = write_data_docs(data_docs, stage / DATA_DOCS) if data_docs else None
    card = render_card({**card_ctx, "outputs": written, "rl": rl, "data_docs": REPORTS_INDEX if data_docs else None})
    (stage / CARD).write_text(card, encoding="utf-8")
    moved = publish(stage, out)
    # the result names the published files, so a cached result is reused only while they are intact
    files = {k: OutputFile(str(out / k), v.sha256, v.rows) for k, v in written["files"].items()}
    files[CARD] = OutputFile(str(out / CARD), sha256_file(out / CARD), card.count("\n"))
    if docs_index:  # after the card: its hash changes every run, the card must not
        files[REPORTS_INDEX] = OutputFile(str(out / REPORTS_INDEX), sha256_file(out / REPORTS_INDEX), 0)
    logger.info("wrote %s into %s in %.2fs", ", ".join(moved), out_dir, time.perf_counter() - t0)
    return Written(files=files, quarantine_by_reason=written["quarantine_by_reason"],
                   rl=placed(rl, out / "rl") if rl else None, card=card)


def _reasons(bad: pl.DataFrame) -> dict[str, int]:
    if bad.is_empty():
        return {}
    # "near_duplicate_of:<id>" -> "near_duplicate_of"
    kind = pl.col(S.REASON).str.split(":").list.first()
    return {r: int(n) for r, n in bad.group_by(kind.alias("r")).len().sort("r").iter_rows()}
