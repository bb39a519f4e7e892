"""The streamed CSV reader: any encoding, chunk boundaries, quoted newlines, bare quotes, bad rows."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from tasks.core.errors import BadFileError
from tasks.ingest.readers import iter_csv, iter_records, read_csv, read_records, sniff_format
from tests.conftest import real_sample

SCHEMA = {c: pl.String for c in ("department", "title", "ask", "answer")}


def _rows(n):
    out = []
    for i in range(n):
        ask = f'"第{i}位患者：胸口闷\n持续{i % 7}天，要紧吗？"' if i % 5 == 0 else f"第{i}位患者问：头晕{i}天"
        if i % 11 == 0:
            ask = f'说是"低血压"{i}'  # bare quote inside an unquoted field
        out.append(f"内科,标题{i},{ask},回答{i}：建议就诊。")
    return out


def test_small_chunks_split_quoted_newlines_and_gb18030_characters_without_loss(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(("department,title,ask,answer\n" + "\n".join(_rows(500)) + "\n").encode("gb18030"))
    expected = list(csv.DictReader(io.StringIO(p.read_bytes().decode("gb18030"), newline="")))
    batches = list(iter_csv(p, SCHEMA, "gb18030", chunk_bytes=97, block_bytes=512))
    assert len(batches) > 5  # really streamed
    frame = pl.concat([b[0] for b in batches])
    assert frame["source_row"].to_list() == list(range(500))
    assert frame.select(list(SCHEMA)).to_dicts() == expected
    assert frame.filter(pl.col("ask").str.contains('"'))["source_row"].to_list() == list(range(0, 500, 11))
    assert sum(b[1].height for b in batches) == 0


def test_real_sample_streams_the_same_as_whole_file():
    path = real_sample("chinese-medical-dialogue/样例_内科5000-6000.csv")
    whole, _ = read_csv(path, SCHEMA, "gb18030")
    small = pl.concat([f for f, _ in iter_csv(path, SCHEMA, "gb18030", chunk_bytes=4096, block_bytes=8192)])
    assert whole.height == small.height == 1016
    assert whole.equals(small)


def test_wrong_field_count_is_quarantined_with_reason(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("department,title,ask,answer\n内科,t,a,b\n内科,只有两列\n外科,t2,a2,b2\n", encoding="utf-8")
    frame, bad = read_csv(p, SCHEMA, "utf-8")
    assert frame["title"].to_list() == ["t", "t2"]
    assert bad["reason"].to_list() == ["csv_field_count"]
    assert bad["raw"].item() == "内科,只有两列"
    # row indices count the bad row too, so the good row after it keeps its place in the file
    assert frame["source_row"].to_list() == [0, 2] and bad["source_row"].to_list() == [1]


def test_missing_column_is_null_and_unknown_columns_are_dropped(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("title,answer,extra\nt,a,x\n", encoding="utf-8")
    frame, _ = read_csv(p, SCHEMA, "utf-8")
    assert frame.columns == ["source_row", *SCHEMA]
    assert frame.row(0) == (0, None, "t", None, "a")


def test_utf8_file_is_read_as_utf8_even_when_gb18030_is_declared(tmp_path):
    p = tmp_path / "utf8.csv"
    p.write_text("department,title,ask,answer\n儿科,发烧,孩子发烧,退烧\n", encoding="utf-8")
    frame, _ = read_csv(p, SCHEMA, "gb18030")
    assert frame["ask"].item() == "孩子发烧"


def test_gb18030_bom_is_dropped(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeffdepartment,title,ask,answer\n儿科,发烧,孩子发烧,退烧\n".encode("gb18030"))
    frame, _ = read_csv(p, SCHEMA, "gb18030")
    assert frame["department"].item() == "儿科"


def test_undecodable_bytes_name_the_byte_offset(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"department,title,ask,answer\n" + b"a,b,c,\xff\xff\n")
    with pytest.raises(BadFileError, match=r"cannot be decoded as utf-8 \(byte 34\)"):
        read_csv(p, SCHEMA, "utf-8")


def test_lfs_pointer_raises_git_lfs_pull(tmp_path):
    p = tmp_path / "内科5000-33000.csv"
    p.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "b" * 64 + "\nsize 1\n")
    assert sniff_format(p) == "lfs"
    with pytest.raises(BadFileError, match="git lfs pull"):
        read_records(p, SCHEMA, "gb18030")


def test_jsonl_with_a_first_line_longer_than_the_sniffed_head(tmp_path):
    p = tmp_path / "long.jsonl"
    p.write_text('{"a": "' + "x" * 10_000 + '"}\n{"a": "y"}\n', encoding="utf-8")
    assert sniff_format(p) == "jsonl"
    [(frame, bad)] = list(iter_records(p, {"a": pl.String}))
    assert frame["a"].str.len_chars().to_list() == [10_000, 1] and bad.height == 0


def test_empty_csv_gives_no_rows(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("department,title,ask,answer\n", encoding="utf-8")
    frame, bad = read_csv(p, SCHEMA)
    assert frame.height == 0 and bad.height == 0 and frame.columns == ["source_row", *SCHEMA]
