"""The pool stage on files: per-file dedup keys, survivors chosen on the keys, rows gathered from the
files. It must keep what deduplicating the whole pool as one frame keeps, in the same order."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tasks.core import schema
from tasks.core.errors import BadFileError
from tasks.core.results import FileRef, ParsedFile
from tasks.quality.dedup import dedup, row_keys
from tasks.quality.pool import build_pool, dedup_keys_file, gather_rows, write_rows

LONG_ZH = "我最近三个月经常头痛头晕，晚上睡不好，血压有时候偏高，请问医生这是什么原因，需要做哪些检查"
LONG_EN = "I have had a dull headache every afternoon for three months and my blood pressure is sometimes high, what tests should I get"
SCHEMA = {schema.ID: pl.String, schema.SOURCE: pl.String, schema.SOURCE_FILE: pl.String, schema.SOURCE_ROW: pl.Int64,
          schema.QUESTION: pl.String, schema.ANSWER: pl.String, schema.REASONING: pl.String,
          schema.QUALITY_SCORE: pl.Float64, schema.RISK_REASONS: pl.List(pl.String)}


def _frame(source: str, relpath: str, rows: list[dict]) -> pl.DataFrame:
    base = {schema.SOURCE: source, schema.SOURCE_FILE: relpath, schema.REASONING: None, schema.QUALITY_SCORE: None,
            schema.RISK_REASONS: []}
    return pl.DataFrame([{**base, schema.SOURCE_ROW: i, **r} for i, r in enumerate(rows)], schema=SCHEMA)


def _files(tmp_path, frames: list[pl.DataFrame]) -> tuple[list[ParsedFile], list[FileRef]]:
    parsed, refs = [], []
    for n, f in enumerate(frames):
        path = tmp_path / "labelled" / f"f{n}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        f.write_parquet(path)
        ref = FileRef.of(path)
        found = {"source": f[schema.SOURCE][0], "relpath": f[schema.SOURCE_FILE][0]}
        parsed.append(ParsedFile(input=found, records_file=ref, quarantine_file=ref, fields=(), records=f.height,
                                 quarantined=0))
        refs.append(ref)
    return parsed, refs


def _one_frame(frames: list[pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The whole-pool path: all files in one frame (by source, file), sorted by id, deduplicated."""
    whole = pl.concat(sorted(frames, key=lambda f: (f[schema.SOURCE][0], f[schema.SOURCE_FILE][0])))
    kept, dropped, _ = dedup(whole.sort(schema.ID, maintain_order=True))
    return kept.sort(schema.ID, maintain_order=True), dropped.cast(schema.QUARANTINE_SCHEMA)


def _pool(tmp_path, frames, **kw):
    parsed, refs = _files(tmp_path, frames)
    pool = build_pool.fn(parsed, str(tmp_path), labelled=refs, **kw)
    return pool, pl.read_parquet(pool.pool_file.path), pl.read_parquet(pool.dedup_quarantine_file.path)


def test_duplicate_across_two_files_keeps_the_same_survivor(tmp_path):
    a = _frame("medical-o1", "a.json", [
        {schema.ID: "m1", schema.QUESTION: LONG_EN, schema.ANSWER: "rest", schema.REASONING: "think"},
        {schema.ID: "m2", schema.QUESTION: "头痛怎么办？", schema.ANSWER: "多休息"},
    ])
    b = _frame("delicate-medical", "b.jsonl", [
        {schema.ID: "d1", schema.QUESTION: "  " + LONG_EN.upper(), schema.ANSWER: "Rest"},  # exact dup of m1
        {schema.ID: "d2", schema.QUESTION: "糖尿病人能吃西瓜吗", schema.ANSWER: "少量"},
    ])
    pool, kept, dropped = _pool(tmp_path, [b, a])  # file order must not matter
    assert kept[schema.ID].to_list() == ["d2", "m1", "m2"]  # m1 has reasoning: it survives
    assert dropped[schema.REASON].to_list() == ["exact_duplicate_of:m1"]
    assert dropped[schema.SOURCE].to_list() == ["delicate-medical"]
    assert pool.records == 3 and pool.before_dedup == 4 and pool.dedup["exact_dropped"] == 1
    want_kept, want_dropped = _one_frame([a, b])
    assert kept.equals(want_kept) and dropped.equals(want_dropped)


def test_near_duplicate_across_files(tmp_path):
    a = _frame("s1", "a.json", [{schema.ID: "a1", schema.QUESTION: LONG_ZH, schema.ANSWER: "1"},
                                {schema.ID: "a2", schema.QUESTION: LONG_EN, schema.ANSWER: "2"}])
    b = _frame("s2", "b.json", [{schema.ID: "b1", schema.QUESTION: LONG_ZH + "？谢谢", schema.ANSWER: "3",
                                 schema.QUALITY_SCORE: 0.9},
                                {schema.ID: "b2", schema.QUESTION: LONG_EN + "?", schema.ANSWER: "4"}])
    pool, kept, dropped = _pool(tmp_path, [a, b])
    assert kept[schema.ID].to_list() == ["a2", "b1"]  # b1: quality; a2: smaller id at equal rank keys
    assert dropped[schema.REASON].to_list() == ["near_duplicate_of:b1", "near_duplicate_of:a2"]
    assert pool.dedup["near_dropped"] == 2
    want_kept, want_dropped = _one_frame([a, b])
    assert kept.equals(want_kept) and dropped.equals(want_dropped)


def _synthetic(n_files: int = 3, rows: int = 90) -> list[pl.DataFrame]:
    rng = np.random.default_rng(7)
    frames = []
    for f in range(n_files):
        recs = []
        for i in range(rows):
            k = int(rng.integers(0, 25))
            q = f"{LONG_ZH}{k}" if k % 2 else f"{LONG_EN} number {k}"
            recs.append({schema.ID: f"{int(rng.integers(0, 10**6)):06d}-{f}-{i}",
                         schema.QUESTION: q + ("，请问" if rng.random() < 0.3 else ""),
                         schema.ANSWER: str(int(rng.integers(0, 3))),
                         schema.REASONING: "r" if rng.random() < 0.3 else None,
                         schema.QUALITY_SCORE: float(rng.integers(0, 3)) if rng.random() < 0.5 else None,
                         schema.RISK_REASONS: ["x"] * int(rng.integers(0, 3))})
        frames.append(_frame(f"src{f % 2}", f"file{f}.json", recs))
    return frames


def test_output_identical_to_one_frame_path_on_a_synthetic_pool(tmp_path):
    frames = _synthetic()
    pool, kept, dropped = _pool(tmp_path, frames)
    want_kept, want_dropped = _one_frame(frames)
    assert pool.dedup["exact_dropped"] > 0 and pool.dedup["near_dropped"] > 0  # both kinds exercised
    assert kept.equals(want_kept) and dropped.equals(want_dropped)
    assert kept.schema == frames[0].schema


def test_keys_from_the_per_file_task_give_the_same_files(tmp_path):
    frames = _synthetic(n_files=2, rows=40)
    pool, _, _ = _pool(tmp_path / "a", frames)
    parsed, refs = _files(tmp_path / "b", frames)
    keys = [dedup_keys_file.fn(r, str(tmp_path / "b")) for r in refs]
    again = build_pool.fn(parsed, str(tmp_path / "b"), labelled=refs, keys=keys)
    assert again.pool_file.sha256 == pool.pool_file.sha256
    assert again.dedup_quarantine_file.sha256 == pool.dedup_quarantine_file.sha256


def test_row_keys_are_per_row():
    a, b = _synthetic(n_files=2, rows=30)
    assert row_keys(pl.concat([a, b])).equals(pl.concat([row_keys(a), row_keys(b)]))
    with pytest.raises(ValueError, match="answer"):
        row_keys(a.drop(schema.ANSWER))


def test_gather_rows_takes_rows_in_the_asked_order(tmp_path):
    for n in range(2):
        pl.DataFrame({"v": [f"{n}-{i}" for i in range(5)], "w": list(range(5))}).write_parquet(tmp_path / f"{n}.parquet")
    paths = [str(tmp_path / "0.parquet"), str(tmp_path / "1.parquet")]
    got = gather_rows(paths, np.array([1, 0, 1, 0]), np.array([4, 2, 0, 2]), ["w", "v"])
    assert got.columns == ["w", "v"]
    assert got["v"].to_list() == ["1-4", "0-2", "1-0", "0-2"] and got["w"].to_list() == [4, 2, 0, 2]
    assert gather_rows(paths, np.array([], dtype=np.int64), np.array([], dtype=np.int64), ["v"]).height == 0


def test_write_rows_writes_the_gathered_rows_in_row_groups(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    import tasks.quality.pool as pool_mod

    frames = _synthetic(n_files=2, rows=25)
    paths = []
    for n, f in enumerate(frames):
        paths.append(str(tmp_path / f"{n}.parquet"))
        f.write_parquet(paths[-1])
    rng = np.random.default_rng(1)
    file_idx, row_idx = rng.integers(0, 2, 30), rng.integers(0, 25, 30)
    want = gather_rows(paths, file_idx, row_idx, frames[0].columns)
    assert write_rows(paths, file_idx, row_idx, frames[0].columns, tmp_path / "a.parquet", 7, tmp_path / "s") == 30
    assert not (tmp_path / "s").exists()
    assert pl.read_parquet(tmp_path / "a.parquet").equals(want)
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [7, 7, 7, 7, 2]
    monkeypatch.setattr(pool_mod, "PART_GROUP", 3)  # slices across the parts' row groups
    write_rows(paths, file_idx, row_idx, frames[0].columns, tmp_path / "b.parquet", 7, tmp_path / "s")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_nothing_left_names_the_files(tmp_path):
    with pytest.raises(BadFileError):
        build_pool.fn([], str(tmp_path), labelled=[])
