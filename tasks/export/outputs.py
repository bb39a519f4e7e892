"""Write the contract's files as one unit: processed/, quarantine/, rl/ and DATA_CARD.md.

Everything is written into ``<out_dir>/.staging/`` first; only when all of it is on disk are the
items swapped into place (renames, the card last). A run that fails or is killed before that
leaves the previous outputs untouched — never new data next to an old card.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import polars as pl
from prefect import task

from tasks.core import schema as S
from tasks.core.caching import FILES
from tasks.core.logs import log
from tasks.core.storage import sha256_file, swap_in, write_ndjson
from tasks.export.records import training_records
from tasks.sample import SPLIT

STAGING = ".staging"
CARD = "DATA_CARD.md"
# what one run owns under out_dir, in the order they are swapped in (the card last)
ITEMS = ("processed", "quarantine", "rl", CARD)


def file_info(path: Path, rows: int) -> dict:
    """Path, row count and sha256 of a written file, for the data card."""
    return {"path": str(path), "rows": rows, "sha256": sha256_file(path)}


def write_processed(sample_path: str, quarantine_paths: list[str], out: Path) -> dict:
    """processed/{train,val}.jsonl and quarantine/<source>.jsonl under ``out``."""
    sample = pl.read_parquet(sample_path)
    written: dict[str, dict] = {}
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


def publish(stage: Path, out: Path) -> list[str]:
    """Swap each staged item into ``out`` (a rename each; the card last); returns what moved."""
    moved = []
    for name in ITEMS:
        src = stage / name
        if not src.exists():
            continue  # e.g. rl/ when the export is off: the previous one stays
        swap_in(src, out / name)
        moved.append(name)
    shutil.rmtree(stage, ignore_errors=True)
    return moved


def _rebase(value, root: Path):
    """The RL summary with its file paths made absolute under ``root`` (they are relative)."""
    if isinstance(value, dict):
        out = {k: _rebase(v, root) for k, v in value.items()}
        if isinstance(value.get("path"), str) and "sha256" in value:
            out["path"] = str(root / value["path"])
        return out
    if isinstance(value, list):
        return [_rebase(v, root) for v in value]
    return value


@task(name="write-outputs", cache_policy=FILES, persist_result=True)
def write_outputs(
    sample_path: str, quarantine_paths: list[str], out_dir: str, card_ctx: dict, rl_max_prompt_tokens: int = 1024
) -> dict:
    """Write processed/, quarantine/, rl/ and DATA_CARD.md into a staging folder, then swap them in.

    ``rl_max_prompt_tokens`` is the RL export's prompt budget; 0 skips the export.
    """
    from tasks.export.datacard import render_card
    from tasks.export.rl.export import run_export
    from tasks.export.rl.launch import command

    logger = log()
    t0 = time.perf_counter()
    out = Path(out_dir)
    stage = out / STAGING
    shutil.rmtree(stage, ignore_errors=True)  # leftovers of a killed run
    written = write_processed(sample_path, quarantine_paths, stage)
    rl = run_export(stage / "processed", stage / "rl", rl_max_prompt_tokens) if rl_max_prompt_tokens else None
    card = render_card({**card_ctx, "outputs": written, "rl": rl})
    (stage / CARD).write_text(card, encoding="utf-8")
    moved = publish(stage, out)
    # the result names the published files, so a cached result is reused only while they are intact
    files = {k: {**v, "path": str(out / k)} for k, v in written["files"].items()}
    files[CARD] = {"path": str(out / CARD), "rows": card.count("\n"), "sha256": sha256_file(out / CARD)}
    if rl:
        rl = _rebase({k: v for k, v in rl.items() if k != "commands"}, out / "rl")
        rl["out_dir"] = str(out / "rl")
        rl["commands"] = [command(out / "rl", info["path"]) for info in rl["launch"].values()]
    logger.info("wrote %s into %s in %.2fs", ", ".join(moved), out_dir, time.perf_counter() - t0)
    return {"files": files, "quarantine_by_reason": written["quarantine_by_reason"], "rl": rl, "card": card}


def _reasons(bad: pl.DataFrame) -> dict[str, int]:
    if bad.is_empty():
        return {}
    # "near_duplicate_of:<id>" -> "near_duplicate_of"
    kind = pl.col(S.REASON).str.split(":").list.first()
    return {r: int(n) for r, n in bad.group_by(kind.alias("r")).len().sort("r").iter_rows()}
