"""tasks/ingest/parse.py: reader batches parsed in groups give what parsing each batch alone gives."""

from __future__ import annotations

import functools

import polars as pl
import pyarrow.parquet as pq

from tasks.core import schema as S
from tasks.ingest import parse, readers
from tasks.ingest.readers import csv_stream


def _dialogue_csv(path, n: int) -> None:
    """A GB18030 dialogue CSV with rule-rejected rows (empty answer), rows with too many fields
    and quoted newlines spread over the file."""
    lines = ["department,title,ask,answer"]
    for i in range(n):
        if i % 37 == 5:
            lines.append(f"心内科,标题{i},问题{i},")  # empty answer: quarantined by the rules
        elif i % 53 == 7:
            lines.append(f"心内科,标题{i},问题{i},回答{i},多余")  # one field too many: the reader's
        else:
            lines.append(f'心内科,标题{i},"问题{i}\n第二行",回答{i}' + "很长" * (i % 13))
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))


def _parsed(monkeypatch, tmp_path, group_bytes: int, name: str):
    monkeypatch.setattr(parse, "GROUP_BYTES", group_bytes)
    # tiny pyarrow blocks: the file comes as many batches
    monkeypatch.setattr(readers, "iter_csv", functools.partial(csv_stream.iter_csv, chunk_bytes=512, block_bytes=256))
    src = tmp_path / "内科.csv"
    dest = tmp_path / f"{name}.parquet"
    rows, bad = parse.write_parsed("chinese-dialogue", str(src), "内科.csv", dest)
    return rows, bad, dest


def test_grouped_batches_write_the_same_rows_row_groups_and_quarantine(monkeypatch, tmp_path):
    _dialogue_csv(tmp_path / "内科.csv", 400)
    rows_a, bad_a, dest_a = _parsed(monkeypatch, tmp_path, 0, "one-by-one")  # every batch alone
    rows_b, bad_b, dest_b = _parsed(monkeypatch, tmp_path, 4096, "grouped")
    meta_a, meta_b = pq.ParquetFile(dest_a).metadata, pq.ParquetFile(dest_b).metadata
    assert meta_a.num_row_groups > 5  # the file really came as many batches
    assert [meta_a.row_group(i).num_rows for i in range(meta_a.num_row_groups)] == \
        [meta_b.row_group(i).num_rows for i in range(meta_b.num_row_groups)]
    assert dest_a.read_bytes() == dest_b.read_bytes()
    assert rows_a == rows_b == 400 - len(bad_a)
    assert bad_a.schema == bad_b.schema and bad_a.equals(bad_b)
    reasons = bad_b.get_column(S.REASON).to_list()
    assert "csv_field_count" in reasons and "empty answer" in reasons
    assert bad_b.get_column(S.SOURCE_ROW).n_unique() == bad_b.height  # every rejected row once
    good = pl.read_parquet(dest_b)
    assert set(good.get_column(S.SOURCE_ROW)).isdisjoint(bad_b.get_column(S.SOURCE_ROW))
    assert good.height + bad_b.height == 400
