"""Write the contract's files: processed train/val JSONL and per-source quarantine JSONL, atomically."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import task

from tasks.caching import FILES
from tasks.logs import log

from tasks import schema as S
from tasks.records import training_records
from tasks.sample import SPLIT
from tasks.storage import sha256_file, write_ndjson


def file_info(path: Path, rows: int) -> dict:
    """Path, row count and sha256 of a written file, for the data card."""
    return {"path": str(path), "rows": rows, "sha256": sha256_file(path)}


@task(name="write-outputs", cache_policy=FILES, persist_result=True)
def write_outputs(sample_path: str, quarantine_paths: list[str], out_dir: str) -> dict:
    """Write processed/train.jsonl, processed/val.jsonl and quarantine/<source>.jsonl."""
    logger = log()
    out = Path(out_dir)
    sample = pl.read_parquet(sample_path)
    written: dict[str, dict] = {}
    # every file is complete on disk (temp + rename) before the next starts; a killed run
    # leaves the previous good file in place
    for split in ("train", "val"):
        rows = training_records(sample.filter(pl.col(SPLIT) == split)).collect()
        path = write_ndjson(rows, out / "processed" / f"{split}.jsonl")
        written[f"processed/{split}.jsonl"] = file_info(path, rows.height)
    bad = pl.concat([pl.read_parquet(p) for p in quarantine_paths]) if quarantine_paths else S.empty_quarantine()
    bad = bad.sort(S.SOURCE, S.SOURCE_FILE, S.SOURCE_ROW, S.REASON)
    for source in sorted(bad.get_column(S.SOURCE).unique().to_list()):
        part = bad.filter(pl.col(S.SOURCE) == source)
        path = write_ndjson(part, out / "quarantine" / f"{source}.jsonl")
        written[f"quarantine/{source}.jsonl"] = file_info(path, part.height)
    logger.info("wrote %s", ", ".join(f"{k} ({v['rows']})" for k, v in written.items()))
    return {"files": written, "quarantine_by_reason": _reasons(bad)}


def _reasons(bad: pl.DataFrame) -> dict[str, int]:
    if bad.is_empty():
        return {}
    # "near_duplicate_of:<id>" -> "near_duplicate_of"
    kind = pl.col(S.REASON).str.split(":").list.first()
    return {r: int(n) for r, n in bad.group_by(kind.alias("r")).len().sort("r").iter_rows()}
