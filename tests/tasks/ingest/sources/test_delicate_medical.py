"""delicate-medical parser on the byte-exact val.jsonl split and on tmp files."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tasks.core import schema as S
from tasks.core.errors import BadFileError
from tasks.ingest.detect import find_files
from tasks.ingest.parse import parse_to_frames
from tasks.ingest.sources import REGISTRY
from tests.conftest import real_sample

SPEC = REGISTRY["delicate-medical"]


def _line(q="肚子疼怎么办？", think="先问部位。\n", answer="建议就医。", f1=0.95, **extra):
    return {"instruction": "回答问题", "question": q, "think": think, "answer": answer, "metrics": {"quality_f1": f1}, **extra}


def test_real_val_split_parses_all_65_lines_and_unescapes_literal_backslash_n():
    path = real_sample("delicate-medical-r1/val.jsonl")
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    good, bad = parse_to_frames("delicate-medical", str(path), "val.jsonl")
    assert (good.height, bad.height) == (65, 0)
    assert good.schema == pl.Schema(S.SCHEMA)
    first = good.filter(pl.col(S.SOURCE_ROW) == 0).row(0, named=True)
    assert first[S.QUESTION].startswith("1895年德国物理学教授伦琴的发现对医学影像学的发展有何具体影响")
    assert first[S.QUALITY_SCORE] == pytest.approx(0.9032258064516129)
    assert first[S.REASONING] == lines[0]["think"].strip()
    assert first[S.LANGUAGE] == "zh" and first[S.REFERENCE_ANSWER] is None and first[S.HISTORY] == []
    assert first[S.INSTRUCTION] == lines[0]["instruction"].strip()  # kept for meta.instruction
    # 4 answers (rows 1, 20, 21, 60) carry the two characters "\" "n"; none is left after parsing
    raw_escaped = [i for i, r in enumerate(lines) if "\\n" in r["answer"]]
    assert raw_escaped == [1, 20, 21, 60]
    assert not good[S.ANSWER].str.contains("\\n", literal=True).any()
    row1 = good.filter(pl.col(S.SOURCE_ROW) == 1)[S.ANSWER].item()
    assert row1 == lines[1]["answer"].replace("\\n", "\n").strip()
    assert row1.count("\n") == 4
    assert good[S.QUALITY_SCORE].min() >= 0.9 and good[S.QUALITY_SCORE].null_count() == 0
    assert good[S.ID].n_unique() == 65


def test_real_val_split_is_found_by_content_under_another_name():
    path = real_sample("delicate-medical-r1/val.jsonl")
    found = find_files(SPEC, path.parent)
    assert [f.relpath for f in found] == ["val.jsonl"]
    assert found[0].how == "renamed copy (matched by content)"


def test_bad_jsonl_line_is_quarantined_with_reason_not_dropped(tmp_path):
    p = tmp_path / "r1_data_example.jsonl"
    good_lines = [json.dumps(_line(q=f"问题{i}：头晕乏力怎么办？"), ensure_ascii=False) for i in range(3)]
    p.write_text("\n".join([good_lines[0], '{"question": "断了', good_lines[1], "", good_lines[2]]) + "\n", encoding="utf-8")
    good, bad = parse_to_frames("delicate-medical", str(p), p.name)
    # source_row is the record index (blank lines skipped), the same whether or not a line is bad
    assert good[S.SOURCE_ROW].to_list() == [0, 2, 3]
    assert bad[S.SOURCE_ROW].to_list() == [1]
    assert bad[S.REASON].item() == "invalid_json"
    assert bad[S.SOURCE].item() == "delicate-medical" and '"question": "断了' in bad[S.RAW].item()


def test_bom_missing_metrics_and_literal_newline_in_think(tmp_path):
    recs = [_line(think="第一步\\n第二步"), _line(q="咳嗽两周", f1=None), {**_line(q="发热"), "metrics": None}]
    p = tmp_path / "copy.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(r, ensure_ascii=False) for r in recs).encode())
    good, bad = parse_to_frames("delicate-medical", str(p), p.name)
    assert bad.height == 0
    assert good[S.REASONING].to_list()[0] == "第一步\n第二步"
    assert good[S.QUALITY_SCORE].to_list() == [0.95, None, None]


def test_lfs_pointer_named_like_the_published_file_says_git_lfs_pull(tmp_path):
    p = tmp_path / "r1_data_example.jsonl"
    p.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 909317\n")
    [found] = find_files(SPEC, tmp_path)
    assert found.lfs_pointer
    with pytest.raises(BadFileError, match="git lfs pull"):
        parse_to_frames("delicate-medical", found.path, found.relpath)
