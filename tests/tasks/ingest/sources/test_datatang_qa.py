"""datatang-qa: multi-turn records -> history + final question/answer; configurable mapping."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tasks.core import schema as S
from tasks.core.errors import BadFileError, ConfigError
from tasks.ingest.detect import find_files
from tasks.ingest.parse import parse_to_frames
from tasks.ingest.sources import REGISTRY
from tasks.ingest.sources.base import parse_file_frames
from tasks.ingest.sources.datatang_qa import DialogueLayout, layout_from_config, make_spec

SPEC = REGISTRY["datatang-qa"]


def _dlg(*turns):
    return [{"role": r, "content": c} for r, c in turns]


RECORDS = [
    {"id": "a1", "dialogue": _dlg(("patient", "孩子三岁，发烧两天了"), ("doctor", "最高体温多少？"),
                                  ("患者", "39度，还抽了一下"), ("医生", "高热惊厥需要立即去急诊。"), ("patient", "好的谢谢"))},
    {"id": "a2", "dialogue": _dlg(("Patient", "我在吃华法林，可以吃阿司匹林吗？"), ("DOCTOR ", "不要自行合用，出血风险增加。"))},
    {"id": "a3", "dialogue": _dlg(("doctor", "您好"), ("doctor", "请描述症状"))},
    {"id": "a4", "dialogue": []},
]


def _write(path, recs, jsonl=True):
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in recs) if jsonl else json.dumps(recs, ensure_ascii=False, indent=4)
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("jsonl", [True, False])
def test_turns_become_history_and_final_pair(tmp_path, jsonl):
    p = _write(tmp_path / ("qa.jsonl" if jsonl else "qa.json"), RECORDS, jsonl)
    good, bad = parse_to_frames("datatang-qa", str(p), p.name)
    assert good.schema == pl.Schema(S.SCHEMA)
    first = good.row(0, named=True)
    assert first[S.QUESTION] == "39度，还抽了一下"
    assert first[S.ANSWER] == "高热惊厥需要立即去急诊。"
    assert first[S.HISTORY] == [
        {"role": "user", "content": "孩子三岁，发烧两天了"},
        {"role": "assistant", "content": "最高体温多少？"},
    ]
    second = good.row(1, named=True)
    assert (second[S.QUESTION], second[S.HISTORY], second[S.REASONING]) == ("我在吃华法林，可以吃阿司匹林吗？", [], None)
    # no patient->doctor pair / no turns: quarantined with the row, not dropped
    assert bad[S.SOURCE_ROW].to_list() == [2, 3] and set(bad[S.REASON]) == {"empty question"}


def test_found_by_content_under_any_name(tmp_path):
    _write(tmp_path / "export_2024.jsonl", RECORDS)
    (tmp_path / "other.jsonl").write_text('{"messages": [{"from": "human", "value": "hi"}]}\n')
    assert [f.relpath for f in find_files(SPEC, tmp_path)] == ["export_2024.jsonl"]


def test_mapping_from_config_reads_another_layout():
    layout = layout_from_config({"turns": "conv", "role": "speaker", "content": "text", "patient": "病人", "doctor": ["医师"]})
    spec = make_spec(layout, name="dt-alt")
    raw = pl.DataFrame(
        {S.SOURCE_ROW: [0], "conv": [[{"speaker": "病人", "text": "胸痛出汗"}, {"speaker": "医师", "text": "马上拨打120"}]]},
        schema={S.SOURCE_ROW: pl.Int64, **spec.read_schema},
    )
    good, bad = parse_file_frames(spec, raw, pl.DataFrame(schema=S.QUARANTINE_SCHEMA), "f")
    assert good[S.QUESTION].to_list() == ["胸痛出汗"] and good[S.ANSWER].to_list() == ["马上拨打120"]
    assert spec.signature == {"conv", "speaker", "text"}


def test_wrong_layout_fails_saying_what_is_expected(tmp_path):
    p = tmp_path / "dialogues.jsonl"
    p.write_text('{"dialogue": [{"role": "nurse", "content": "x"}, {"role": "pharmacist", "content": "y"}]}\n')
    with pytest.raises(BadFileError, match=r"seen: \['nurse', 'pharmacist'\].*turns, role, content, patient, doctor"):
        parse_to_frames("datatang-qa", str(p), p.name)


def test_bad_config_is_refused():
    with pytest.raises(ConfigError, match="unknown dialogue mapping keys"):
        layout_from_config({"turn": "x"})
    with pytest.raises(ConfigError, match="both patient and doctor"):
        layout_from_config({"patient": ["a"], "doctor": ["A"]})
    assert layout_from_config(None) == DialogueLayout()
