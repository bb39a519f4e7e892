"""Hostile inputs (issue 12 item 5) — first cases: wrong JSON types on the slow reader path."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tasks.core.schema import RAW, REASON, SOURCE_ROW
from tasks.ingest.readers.common import records_to_frames

SCHEMA = {"Question": pl.String, "Response": pl.String}


def test_nested_object_and_non_object_record_are_quarantined_good_kept(tmp_path: Path):
    path = tmp_path / "bad.json"
    recs = [
        {"Question": "q0", "Response": "a0"},
        {"Question": "q1", "Response": {"nested": "x"}},
        ["not", "an", "object"],
        {"Question": "q3", "Response": "a3"},
    ]
    good, bad = records_to_frames(path, list(enumerate(recs)), SCHEMA)
    assert good[SOURCE_ROW].to_list() == [0, 3]
    assert good["Response"].to_list() == ["a0", "a3"]
    assert bad[SOURCE_ROW].to_list() == [1, 2]
    assert bad[REASON].to_list() == [
        "field 'Response' is a dict, expected text",
        "record is a JSON list, expected an object",
    ]
    # the quarantined raw is the original record, not a rebuilt one
    assert json.loads(bad[RAW][0]) == recs[1]


def test_jsonl_blank_lines_and_no_final_newline_keep_every_record(tmp_path: Path):
    from tasks.ingest.readers import read_records

    p = tmp_path / "x.jsonl"
    p.write_text('{"Question":"q0","Response":"a0"}\n\n\n{"Question":"q1","Response":"a1"}')
    good, bad = read_records(p, SCHEMA)
    assert good["Question"].to_list() == ["q0", "q1"]
    assert good["Response"].to_list() == ["a0", "a1"]
    assert bad.height == 0


def test_trailing_comma_is_one_clear_error_naming_file_line_and_fix(tmp_path: Path):
    import pytest

    from tasks.core.errors import BadFileError
    from tasks.ingest.readers import read_records

    p = tmp_path / "tc.json"
    p.write_text('[{"Question":"q0","Response":"a0"},]')
    with pytest.raises(BadFileError) as err:
        read_records(p, SCHEMA)
    msg = str(err.value)
    assert str(p) in msg and "line 1, column 36" in msg and "Fix:" in msg


def test_utf16_file_is_one_clear_error_naming_file_and_fix(tmp_path: Path):
    import pytest

    from tasks.core.errors import BadFileError
    from tasks.ingest.readers import read_records

    p = tmp_path / "u16.json"
    p.write_bytes('[{"Question":"q0","Response":"a0"}]'.encode("utf-16"))
    with pytest.raises(BadFileError) as err:
        read_records(p, SCHEMA)
    msg = str(err.value)
    assert str(p) in msg and "utf-8" in msg and "iconv" in msg
