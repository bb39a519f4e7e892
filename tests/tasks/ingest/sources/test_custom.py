"""User-defined sources: config validation, the per-run registry, and the same pipeline end to end."""

from __future__ import annotations

import csv
import json

import polars as pl
import pytest

from tasks.core import schema as S
from tasks.core.errors import ConfigError
from tasks.ingest.detect import find_files
from tasks.ingest.parse import parse_to_frames
from tasks.ingest.sources import REGISTRY, build_registry
from tasks.ingest.sources.custom import custom_specs, spec_from_config


def test_jsonl_source_end_to_end_with_nested_field(tmp_path):
    cfg = {
        "name": "my-qa",
        "files": ["my_qa/*.jsonl"],
        "fields": {"prompt": "question", "cot": "reasoning", "response": "answer", "scores.f1": "quality_score", "dept": "specialty"},
        "license": "cc-by-4.0",
    }
    registry = build_registry([cfg])
    assert registry.names()[-1] == "my-qa" and "my-qa" not in REGISTRY
    spec = registry["my-qa"]
    assert spec.signature == {"prompt", "cot", "response", "scores", "dept"} and spec.has_reasoning
    d = tmp_path / "my_qa"  # the config's glob selects the file (any name under my_qa/)
    d.mkdir()
    recs = [
        {"prompt": "What is the max daily dose of paracetamol for adults?", "cot": "Think about hepatotoxicity.", "response": "4 g per day.", "scores": {"f1": 0.8}, "dept": "pharmacy", "junk": 1},
        {"prompt": "", "cot": "", "response": "x"},
        "not an object",
    ]
    (d / "renamed.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n{broken\n")
    [found] = find_files(spec, tmp_path)
    assert found.relpath == "my_qa/renamed.jsonl"
    good, bad = parse_to_frames(spec, found.path, found.relpath)
    row = good.row(0, named=True)
    assert (row[S.QUESTION], row[S.REASONING], row[S.ANSWER], row[S.QUALITY_SCORE], row[S.SPECIALTY], row[S.SOURCE]) == (
        "What is the max daily dose of paracetamol for adults?", "Think about hepatotoxicity.", "4 g per day.", 0.8, "pharmacy", "my-qa")
    reasons = dict(zip(bad[S.SOURCE_ROW], bad[S.REASON]))
    assert reasons[1] == "empty question"
    assert reasons[2] == "not_an_object:text"
    assert reasons[3] == "invalid_json"
    # every quarantined record keeps its line as written in the file
    assert dict(zip(bad[S.SOURCE_ROW], bad[S.RAW]))[3] == "{broken"
    assert json.loads(dict(zip(bad[S.SOURCE_ROW], bad[S.RAW]))[1]) == recs[1]


def test_gb18030_csv_source(tmp_path):
    p = tmp_path / "qa.csv"
    with open(p, "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["问题", "回答", "科室"])
        w.writerow(["孕妇可以服用布洛芬吗？", "孕晚期禁用，\n请咨询产科医生。", "妇产科"])
    [spec] = custom_specs([{"name": "zh-csv", "files": "qa.csv", "format": "csv", "encoding": "gb18030",
                            "fields": {"问题": "question", "回答": "answer", "科室": "specialty"}}])
    good, bad = parse_to_frames(spec, str(p), p.name)
    assert good[S.ANSWER].to_list() == ["孕晚期禁用，\n请咨询产科医生。"] and good[S.SPECIALTY].item() == "妇产科"
    assert spec.has_reasoning is False and bad.height == 0


def test_parquet_source(tmp_path):
    p = tmp_path / "x.parquet"
    pl.DataFrame({"q": ["Is it safe to stop metoprolol suddenly?"], "a": ["No; taper it."], "gt": ["taper"]}).write_parquet(p)
    [spec] = custom_specs([{"name": "pq", "files": ["*.parquet"], "fields": {"q": "question", "a": "answer", "gt": "reference_answer"}}])
    good, _ = parse_to_frames(spec, str(p), p.name)
    assert good[S.REFERENCE_ANSWER].to_list() == ["taper"]


def test_dialogue_source_from_a_toml_file(tmp_path):
    cfg = tmp_path / "sources.toml"
    cfg.write_text(
        '[[sources]]\nname = "sharegpt-med"\nfiles = ["*.json"]\n'
        '[sources.dialogue]\nturns = "conversations"\nrole = "from"\ncontent = "value"\npatient = ["human"]\ndoctor = ["gpt"]\n'
        '[sources.fields]\ndept = "specialty"\n',
        encoding="utf-8",
    )
    data = tmp_path / "chat.json"
    data.write_text(json.dumps([{"dept": "儿科", "conversations": [
        {"from": "human", "value": "宝宝吐奶"}, {"from": "gpt", "value": "多久了？"},
        {"from": "human", "value": "三天，喷射状"}, {"from": "gpt", "value": "请尽快就诊排除幽门狭窄。"}]}]))
    [spec] = custom_specs(str(cfg))
    assert spec.name == "sharegpt-med"
    good, bad = parse_to_frames(spec, str(data), data.name)
    row = good.row(0, named=True)
    assert row[S.QUESTION] == "三天，喷射状" and row[S.SPECIALTY] == "儿科" and len(row[S.HISTORY]) == 2


def test_json_config_file_with_sources_key(tmp_path):
    cfg = tmp_path / "s.json"
    cfg.write_text(json.dumps({"sources": [{"name": "a1", "files": ["a.jsonl"], "fields": {"q": "question", "a": "answer"}}]}))
    assert "a1" in build_registry(str(cfg)) and "a1" not in REGISTRY


def test_duplicates_and_bad_configs_are_refused():
    ok = {"name": "fresh", "files": ["f.json"], "fields": {"q": "question", "a": "answer"}}
    with pytest.raises(ConfigError, match="already taken"):
        custom_specs([ok, {**ok, "name": "medical-o1"}])
    with pytest.raises(ConfigError, match="already taken"):
        build_registry([ok, ok])
    assert [s.name for s in custom_specs([ok])] == ["fresh"]
    assert "fresh" not in REGISTRY  # building a run's registry changes nothing global
    for bad, msg in [
        ({**ok, "fields": {"q": "question"}}, "'answer'"),
        ({**ok, "fields": {"q": "question", "a": "response"}}, "unknown columns"),
        ({**ok, "format": "xlsx"}, "'format'"),
        ({**ok, "name": "a,b"}, "'name'"),
        ({**ok, "files": []}, "'files'"),
        ({**ok, "colour": 1}, "unknown keys"),
        ({**ok, "encoding": "klingon"}, "unknown encoding"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            spec_from_config(bad)
    assert custom_specs(None) == [] and build_registry(None).names() == REGISTRY.names()


def test_files_globs_select_the_files_and_format_forces_the_reader(tmp_path):
    """A user's `files` globs decide which files are read (any extension), and `format` the reader;
    a look-alike file elsewhere is not picked up by content."""
    from tasks.ingest.detect import find_files
    from tasks.ingest.parse import parse_to_frames
    from tasks.ingest.sources.custom import spec_from_config

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.txt").write_text('{"p": "q1?", "r": "a1"}\n{"p": "q2?", "r": "a2"}\n')
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "unrelated.jsonl").write_text('{"p": "x?", "r": "y"}\n')
    spec = spec_from_config({"name": "globbed", "files": ["mine/*.txt"], "format": "jsonl", "fields": {"p": "question", "r": "answer"}})
    found = find_files(spec, tmp_path)
    assert [(f.relpath, f.how) for f in found] == [("mine/a.txt", "matched the source's file pattern")]
    good, bad = parse_to_frames(spec, found[0].path, found[0].relpath)
    assert good["question"].to_list() == ["q1?", "q2?"] and bad.is_empty()


def test_parse_task_builds_the_runs_registry_itself(tmp_path):
    """On a distributed runner the parse task runs in another process: it builds the run's
    registry from its own parameter and changes nothing global."""
    from tasks.ingest.detect import find_files
    from tasks.ingest.parse import parse_file
    from tasks.ingest.sources.custom import spec_from_config

    (tmp_path / "w.jsonl").write_text('{"p": "q?", "r": "a"}\n')
    cfg = [{"name": "worker-side", "files": ["*.jsonl"], "fields": {"p": "question", "r": "answer"}}]
    [found] = find_files(spec_from_config(cfg[0]), tmp_path)
    assert "worker-side" not in REGISTRY
    res = parse_file.fn(found.to_dict(), str(tmp_path / "work"), custom_sources=cfg)
    assert res.records == 1 and res.quarantined == 0 and "worker-side" not in REGISTRY


def test_same_name_different_mappings_in_one_process_give_different_records(tmp_path):
    """Two runs in one long-lived process (a Dask worker) with the same user-defined source name
    and different field mappings: each parse uses its own run's definition, never a stale one."""
    from tasks.ingest.parse import parse_file
    from tasks.ingest.sources.custom import spec_from_config

    (tmp_path / "d.jsonl").write_text('{"a": "Is aspirin safe?", "b": "Usually.", "c": "Ask first."}\n')
    first = [{"name": "same", "files": ["*.jsonl"], "fields": {"a": "question", "b": "answer"}}]
    second = [{"name": "same", "files": ["*.jsonl"], "fields": {"a": "question", "c": "answer"}}]
    [found] = find_files(spec_from_config(first[0]), tmp_path)
    answers = []
    for i, cfg in enumerate((first, second, first)):
        res = parse_file.fn(found.to_dict(), str(tmp_path / f"work{i}"), custom_sources=cfg)
        answers.append(pl.read_parquet(res.records_file.path)[S.ANSWER].to_list())
    assert answers == [["Usually."], ["Ask first."], ["Usually."]]


def test_medqa_style_choices_mapping(tmp_path):
    cfg = {"name": "medqa-train", "files": ["medqa/*.jsonl"], "fields": {"question": "question", "answer": "answer"},
           "choices": {"options": "options", "answer": "answer_idx"}, "license": "mit"}
    spec = build_registry([cfg])["medqa-train"]
    assert {"options", "answer_idx"} <= spec.signature
    d = tmp_path / "medqa"
    d.mkdir()
    recs = [{"question": "A 4-week-old has projectile vomiting. Diagnosis?", "answer": "Pyloric stenosis",
             "options": {"A": "Gastroenteritis", "B": "Pyloric stenosis", "C": "Reflux", "D": "Volvulus"}, "answer_idx": "B",
             "meta_info": "step1"}]
    (d / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    [found] = find_files(spec, tmp_path)
    good, bad = parse_to_frames(spec, found.path, found.relpath)
    assert bad.height == 0
    row = good.row(0, named=True)
    assert row[S.ANSWER] == "Pyloric stenosis"
    assert row[S.CHOICES] == {"question": recs[0]["question"], "options": list(recs[0]["options"].values()), "answer": 1}
    for bad_choices in ({"options": "options"}, {"options": "options", "answer": "answer_idx", "extra": "x"}, "options"):
        with pytest.raises(ConfigError, match="choices"):
            spec_from_config({**cfg, "choices": bad_choices})
