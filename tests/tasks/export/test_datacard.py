"""The data card renders from its template: every block in place, optional blocks only when the
run has them, and the template is part of the write-outputs task's cache key."""

from __future__ import annotations

import polars as pl

from tasks.core import schema as S
from tasks.core.results import FileRef, OutputFile, ParsedFile, Pool, Sample
from tasks.export import datacard
from tasks.sample import SPLIT


def _frames():
    rows = {S.ID: ["a", "b"], S.SOURCE: ["medical-o1"] * 2, S.LANGUAGE: ["en", "zh"], S.RISK_LEVEL: ["high", "low"],
            S.SPECIALTY: ["cardiology", "other"], S.QUESTION: ["q <think> one?", "问题"], S.REASONING: ["r", None],
            S.ANSWER: ["a1", "a2"], S.REFERENCE_ANSWER: ["x", None], SPLIT: ["train", "val"]}
    sample = pl.DataFrame(rows)
    return sample, sample.select(S.SOURCE, S.LANGUAGE, S.RISK_LEVEL)


def _ctx(downloads=None, rl=None):
    ref = FileRef("/nowhere/x.parquet", "0" * 64)
    found = {"source": "medical-o1", "path": "/raw/m.json", "relpath": "m.json", "how": "published name",
             "sha256": "f" * 64, "size": 10, "revision": None}
    report = {"splits": {"train": 1, "val": 1}, "warnings": ["asked <5>"], "shortfalls": [], "requested": 2000,
              "drawn": 2, "pool": 2, "by_source": {"medical-o1": {"requested_share": 1.0, "achieved_share": 1.0,
                                                                   "drawn": 2, "risk": {"high": 1, "medium": 0, "low": 1}}}}
    return {
        "version": "9.9", "sources": ["medical-o1"], "files": [found], "downloads": downloads or {},
        "modelscope_ids": {"medical-o1": "X/y"}, "licenses": {"medical-o1": "apache-2.0"},
        "parsed": [ParsedFile(found, ref, ref, ("question",), 2, 1)],
        "pool": Pool(ref, ref, 3, 2, {"exact": 1}), "gate": [],
        "sample_config": {"size": 2000, "seed": 7, "weights": None, "min_high": 0.2, "min_low": 0.2, "val_fraction": 0.05},
        "sample": Sample(ref, report),
        "outputs": {"files": {"processed/train.jsonl": OutputFile("/o/t", "1" * 64, 1)}, "quarantine_by_reason": {}},
        "rl": rl, "labeller": None,
    }


def test_card_blocks_in_order_and_escaped():
    sample, pool = _frames()
    card = datacard.render(_ctx(), sample, pool)
    heads = [line for line in card.splitlines() if line.startswith("## ")]
    assert heads == ["## Summary", "## Warnings", "## Provenance", "## Parsing and quarantine", "## Dedup", "## Decontamination",
                     "## Gate (Great Expectations)", "## Sampling", "## Counts in the sample", "## Lengths in the sample",
                     "## Risk labeller", "## Output files"]
    assert "- asked &lt;5&gt;" in card and "prepared by medprep 9.9." in card
    assert "Download step" not in card and "## RL export" not in card and card.endswith("|\n")
    assert f"- `m.json`: `{'f' * 64}`, 10 bytes, published name\n" in card and "revision" not in card
    assert "| medical-o1 | m.json | apache-2.0 | manual file | `ffffffffffff` |" in card


def test_optional_blocks_render_when_present():
    sample, pool = _frames()
    rl = {"rows": 5, "dropped_too_long": 1, "dropped_no_ground_truth": 0, "max_prompt_tokens": 64,
          "ground_truth_kind": {"reference_answer": 5}, "splits": {},
          "exports": {"verl": {"train": {"path": "verl/train.parquet", "rows": 5, "sha256": "2" * 64}}}}
    ctx = _ctx({"medical-o1": {"status": "downloaded", "message": "ok"}}, rl)
    ctx["files"] = [{**ctx["files"][0], "how": "modelscope cache", "revision": "a" * 40}]
    card = datacard.render(ctx, sample, pool)
    assert "| ModelScope, revision aaaaaaaaaaaa |" in card and f"10 bytes, revision `{'a' * 40}`, modelscope cache" in card
    assert "sha256, bytes, ModelScope revision and how it was found:" in card
    assert "Download step:\n\n| source | status | message |" in card
    assert card.endswith("TRL reward functions)\n") and "\n## RL export\n\n- 5 prompts" in card
    assert "| rl/verl/train.parquet | 5 |" in card


def test_template_is_keyed_by_the_write_task():
    from tasks.core import caching

    files = {p.name for m in caching.module_closure("tasks.export.outputs")
             for p in caching._data_files(caching._module_file(m))}
    assert "data_card.md.j2" in files
