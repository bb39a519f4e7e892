"""JSON-array reader: a truncated or non-array file is one clear error naming the file and the fix."""

from __future__ import annotations

import json

import pytest

from tasks.core.errors import BadFileError
from tasks.ingest.readers import read_records, sniff_format


def test_truncated_array_names_file_line_and_fix(tmp_path):
    p = tmp_path / "medical_o1_sft.json"
    p.write_text(json.dumps([{"Question": "q", "Response": "r"}] * 3, indent=4)[:-30])
    with pytest.raises(BadFileError) as err:
        read_records(p, {"Question": __import__("polars").String})
    msg = str(err.value)
    assert str(p) in msg and "line" in msg and "re-download" in msg


def test_object_instead_of_array_is_a_clear_error(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{\n  "Question": "q"\n}')
    with pytest.raises(BadFileError, match="expected one JSON array"):
        read_records(p, {"Question": __import__("polars").String})


def test_sniffing_beats_a_lying_extension(tmp_path):
    p = tmp_path / "data.txt"
    p.write_text('[{"a": 1}]')
    assert sniff_format(p) == "json"
    q = tmp_path / "lines.json"
    q.write_text('{"a": 1}\n{"a": 2}\n')
    assert sniff_format(q) == "jsonl"


def test_empty_file_is_one_clear_error(tmp_path):
    p = tmp_path / "medical_o1_sft.json"
    p.write_bytes(b"")
    with pytest.raises(BadFileError, match="is empty"):
        read_records(p, {"Question": __import__("polars").String})


def test_jsonl_source_row_does_not_depend_on_a_bad_line(tmp_path):
    import polars as pl

    from tasks.ingest.readers import read_jsonl

    lines = ['{"q": "a"}', "", '{"q": "b"}', '{"q": "c"}']
    p = tmp_path / "ok.jsonl"
    p.write_text("\n".join(lines) + "\n")
    fast, _ = read_jsonl(p, {"q": pl.String})
    p.write_text("\n".join(lines + ["{broken"]) + "\n")
    slow, bad = read_jsonl(p, {"q": pl.String})
    assert fast["source_row"].to_list() == slow["source_row"].to_list() == [0, 1, 2]
    assert bad["source_row"].to_list() == [3] and bad["reason"].item() == "invalid_json"
