"""The `prepare` flow end to end on a real (test) Prefect server, real GE and real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.prepare import prepare
from tasks.core.errors import GateFailedError, SourceNotFoundError
from tests.conftest import DEMO_SAMPLES, real_sample

pytestmark = pytest.mark.usefixtures("prefect_harness")

OUT_FILES = ["processed/train.jsonl", "processed/val.jsonl", "DATA_CARD.md"]


def raw_with(tmp_path: Path, *names: str) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for n in names:
        shutil.copy(DEMO_SAMPLES / n, raw / n)
    return raw


def run(raw: Path, out: Path, **kw) -> dict:
    return prepare(sources=kw.pop("sources", "medical-o1"), download=False, raw_dir=str(raw), out_dir=str(out), **kw)


def test_demo_files_end_to_end_and_byte_identical_reruns(tmp_path):
    raw = raw_with(tmp_path, "medical_o1_sft.json", "medical_o1_sft_Chinese.json")
    res = run(raw, tmp_path / "a")
    run(raw, tmp_path / "b")
    rl_files = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a" / "rl").rglob("*") if p.is_file())
    assert {"rl/verl/train.parquet", "rl/openrlhf/train.jsonl", "rl/trl/train.parquet", "rl/reward.py"} <= set(rl_files)
    for name in OUT_FILES + rl_files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name

    lines = (tmp_path / "a" / "processed/train.jsonl").read_text(encoding="utf-8").splitlines()
    val = (tmp_path / "a" / "processed/val.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == res["files"]["processed/train.jsonl"]["rows"] > 0 and val
    recs = [json.loads(l) for l in lines]
    assert set(recs[0]) == {"input", "output", "meta"}
    for r in recs:
        m = r["meta"]
        assert {"id", "source", "language", "specialty", "risk_level", "risk_reasons", "reference_answer", "has_reasoning"} <= set(m)
        assert m["risk_level"] in {"high", "medium", "low"}
        if m["has_reasoning"]:
            head, _, answer = r["output"].partition("\n</think>\n\n")
            assert head.startswith("<think>\n") and answer.strip()
    assert {r["meta"]["language"] for r in recs} == {"en", "zh"}
    assert len({r["meta"]["risk_level"] for r in recs}) >= 2

    card = (tmp_path / "a" / "DATA_CARD.md").read_text(encoding="utf-8")
    import hashlib

    for f in ("medical_o1_sft.json", "medical_o1_sft_Chinese.json"):
        assert hashlib.sha256((raw / f).read_bytes()).hexdigest() in card
    assert "below the recommended 2,000" in card  # the demo pool is small: a warning, not a crash
    assert "seed" in card and "| pass |" in card
    assert "rl/verl/train.parquet" in card and "## RL export" in card
    # copies of the shipped demo files are recognised by their bytes and named for what they are
    assert "synthetic demo data written by bench/synth.py" in card and "Not real data" in card
    assert "not run: no benchmarks folder" in card.split("## Decontamination", 1)[1]  # none next to raw/
    assert "apache-2.0" not in card  # the demo files carry no dataset's licence
    # the card renders: <think> survives as text, short hashes in the table, full ones in the list
    html = pytest.importorskip("markdown_it").MarkdownIt("commonmark").enable("table").render(card)
    assert "<think>" not in html and "&lt;think&gt;" in html
    prov = card.split("## Provenance", 1)[1].split("\n## ", 1)[0]
    table = [line for line in prov.splitlines() if line.startswith("| medical-o1 |")]
    assert len(table) == 2 and all(len(line.rsplit("`", 2)[-2]) == 12 for line in table)

    # the gates' Data Docs: HTML under reports/, linked from the card, never among the training files
    docs = tmp_path / "a" / "reports" / "data_docs"
    assert {"pool", "sample"} <= {p.name for p in docs.iterdir()}
    assert "medprep.pool" in (docs / "pool" / "index.html").read_text(encoding="utf-8")
    assert 'href="sample/index.html"' in (docs / "index.html").read_text(encoding="utf-8")
    assert "[reports/data_docs/index.html](reports/data_docs/index.html)" in card
    assert res["files"]["reports/data_docs/index.html"]["path"] == str(docs / "index.html")
    assert not [p for p in (tmp_path / "a").glob("processed/**/*.html")] + [p for p in (tmp_path / "a").glob("rl/**/*.html")]
    assert "| sample | expect_column_values_to_be_in_set | split | pass |" in card

    # lineage: each output a Prefect asset materialized from the input files, rows + sha256 as metadata
    from tasks.export.lineage import asset_key

    exports = [f for f in rl_files if f.endswith((".parquet", ".jsonl"))]
    events = asset_events(asset_key(tmp_path / "a"), want=len(exports) + 3)  # + processed train/val, the card
    by_key = {e.resource.id: e for e in events if e.event == "prefect.asset.materialization.succeeded"}
    train = by_key[asset_key(tmp_path / "a" / "processed/train.jsonl")]
    assert train.payload == {"rows": res["files"]["processed/train.jsonl"]["rows"],
                             "sha256": res["files"]["processed/train.jsonl"]["sha256"]}
    upstream = {r.id for r in train.related if r.role == "asset"}
    assert upstream == {asset_key(raw / f) for f in ("medical_o1_sft.json", "medical_o1_sft_Chinese.json")}
    assert {"flow-run", "task-run"} <= {r.role for r in train.related}  # the run that wrote it, for the UI
    assert {asset_key(tmp_path / "a" / n) for n in ("DATA_CARD.md", "rl/verl/train.parquet")} <= set(by_key)

    # a different seed draws a different order
    run(raw, tmp_path / "c", seed=7, export_rl=False)
    assert (tmp_path / "c/processed/train.jsonl").read_bytes() != (tmp_path / "a/processed/train.jsonl").read_bytes()


def asset_events(key_prefix: str, want: int, timeout: float = 60.0) -> list:
    """Asset materialization events under ``key_prefix`` recorded by the session's test server
    (events reach it asynchronously: poll until ``want`` outputs are there)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    flt = EventFilter(event=EventNameFilter(prefix=["prefect.asset.materialization."]),
                      resource=EventResourceFilter(id_prefix=[key_prefix + "/"]))
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            events = client.read_events(filter=flt, limit=50).events
            if len({e.resource.id for e in events}) >= want or time.monotonic() > deadline:
                return events
            time.sleep(1.0)


def test_real_huatuo_sample_runs(tmp_path):
    src = real_sample("huatuogpt-o1/demo_data.json")
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(src, raw / "demo_data.json")  # a renamed file: found by content
    res = run(raw, tmp_path / "out", export_rl=False)
    rows = res["files"]["processed/train.jsonl"]["rows"] + res["files"]["processed/val.jsonl"]["rows"]
    assert rows == res["sample"]["drawn"] and 50 <= rows <= 58
    rec = json.loads((tmp_path / "out/processed/train.jsonl").read_text().splitlines()[0])
    assert rec["meta"]["reference_answer"]  # Ground-True Answer kept for RL rewards
    card = (tmp_path / "out/DATA_CARD.md").read_text(encoding="utf-8")
    assert "manual file" in card and "synthetic" not in card  # real data is not called synthetic


def test_failed_gate_writes_nothing_and_keeps_last_good_outputs(tmp_path):
    raw = raw_with(tmp_path, "medical_o1_sft.json")
    out = tmp_path / "out"
    run(raw, out, export_rl=False)
    before = {n: (out / n).read_bytes() for n in OUT_FILES}
    # every record the same low-risk general question set: the risk-coverage expectation fails
    bad = tmp_path / "bad"
    bad.mkdir()
    recs = [{"Question": f"What is the history of the stethoscope, part {i}?", "Complex_CoT": "History.", "Response": "Laennec, 1816."} for i in range(20)]
    (bad / "medical_o1_sft.json").write_text(json.dumps(recs))
    with pytest.raises(GateFailedError, match="risk-label coverage"):
        run(bad, out, export_rl=False)
    assert {n: (out / n).read_bytes() for n in OUT_FILES} == before
    assert not list(out.rglob("*.tmp"))


def test_missing_source_fails_with_instructions(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(SourceNotFoundError, match="medical_o1_sft.json"):
        run(tmp_path / "raw", tmp_path / "out")


def _sample_sources(out: Path) -> list[str]:
    lines = (out / "processed/train.jsonl").read_text(encoding="utf-8").splitlines()
    lines += (out / "processed/val.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(l)["meta"]["source"] for l in lines]


def test_mixed_run_with_weights_meets_requested_shares(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    shutil.copytree(DEMO_SAMPLES, raw)
    weights = {"medical-o1": 0.5, "delicate-medical": 0.25, "chinese-dialogue": 0.25}
    size = 80  # every source of the demo has more than its share of 80
    res = run(raw, tmp_path / "out", sources=",".join(f"{k}:{v}" for k, v in weights.items()),
              sample_size=size, allow_out_of_range=True, export_rl=False)
    got = _sample_sources(tmp_path / "out")
    assert len(got) == size
    assert {s: got.count(s) for s in set(got)} == {k: round(size * v) for k, v in weights.items()}
    by = res["sample"]["by_source"]
    assert by["medical-o1"]["requested_share"] == 0.5 and by["medical-o1"]["achieved_share"] == 0.5
    card = (tmp_path / "out/DATA_CARD.md").read_text(encoding="utf-8")
    assert f"| delicate-medical | 0.25 | 0.25 | {round(size * 0.25)} |" in card
    assert "outside the recommended" in card  # the explicit size override is flagged


def test_priority_fallback_takes_the_first_source_with_files(tmp_path, monkeypatch):
    monkeypatch.delenv("DATASET_CHOICE", raising=False)
    raw = raw_with(tmp_path, "r1_data_example.jsonl")  # no medical-o1, no datatang-qa
    res = prepare(download=False, raw_dir=str(raw), out_dir=str(tmp_path / "out"), export_rl=False)
    assert set(_sample_sources(tmp_path / "out")) == {"delicate-medical"}
    assert res["sample"]["drawn"] > 0


def test_user_defined_source_gets_the_same_pipeline(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    recs = [{"prompt": f"My {i}-year-old child swallowed a button battery, what now?" if i % 2 else f"What is the history of vaccine number {i}?",
             "cot": "Think it through.", "reply": f"Answer {i}."} for i in range(30)]
    (raw / "mine.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    cfg = [{"name": "my-qa", "files": ["mine.jsonl"], "fields": {"prompt": "question", "cot": "reasoning", "reply": "answer"}}]
    prepare(sources="my-qa", custom_sources=cfg, download=False, raw_dir=str(raw), out_dir=str(tmp_path / "out"), export_rl=False)
    assert set(_sample_sources(tmp_path / "out")) == {"my-qa"}
    from tasks.ingest.sources import REGISTRY

    assert "my-qa" not in REGISTRY  # registered for that run only


def test_two_runs_same_custom_name_different_mappings_use_their_own_definition(tmp_path):
    """One process, two runs, one user-defined source name, two field mappings: each run's
    outputs follow its own mapping (nothing global keeps the first definition)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    recs = [{"q": f"My {i}-year-old child swallowed a button battery, what now?" if i % 2 else f"What is the history of vaccine number {i}?",
             "short": f"Short {i}.", "long": f"A longer answer {i}."} for i in range(30)]
    (raw / "mine.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    answers = []
    for field in ("short", "long"):
        cfg = [{"name": "same", "files": ["mine.jsonl"], "fields": {"q": "question", field: "answer"}}]
        out = tmp_path / field
        prepare(sources="same", custom_sources=cfg, download=False, raw_dir=str(raw), out_dir=str(out), export_rl=False)
        lines = (out / "processed/train.jsonl").read_text(encoding="utf-8").splitlines()
        answers.append({json.loads(x)["output"].split()[0] for x in lines})
    assert answers == [{"Short"}, {"A"}]


def test_real_samples_of_three_sources_make_one_dataset(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for rel in ("huatuogpt-o1/demo_data.json", "delicate-medical-r1/val.jsonl", "chinese-medical-dialogue/样例_内科5000-6000.csv"):
        shutil.copy(real_sample(rel), raw / Path(rel).name)
    res = run(raw, tmp_path / "out", sources="medical-o1,delicate-medical,chinese-dialogue", export_rl=False)
    got = _sample_sources(tmp_path / "out")
    counts = {s: got.count(s) for s in set(got)}
    assert set(counts) == {"medical-o1", "delicate-medical", "chinese-dialogue"}
    card = (tmp_path / "out/DATA_CARD.md").read_text(encoding="utf-8")
    for src, n in counts.items():
        assert f"| {src} |" in card
        assert res["sample"]["by_source"][src]["drawn"] == n
    assert "| chinese-dialogue | 样例_内科5000-6000.csv | 1,016 | 0 |" in card


def test_failure_while_writing_leaves_every_previous_output(tmp_path, monkeypatch):
    raw = raw_with(tmp_path, "medical_o1_sft.json")
    out = tmp_path / "out"
    run(raw, out)
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".work" not in p.parts}
    assert "rl/verl/train.parquet" in before and "DATA_CARD.md" in before

    import tasks.export.rl.export as export

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(export, "run_export", broken)
    with pytest.raises(OSError, match="disk full"):
        run(raw, out, seed=7)  # new data would be written first, then the RL export fails
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".work" not in p.parts and ".staging" not in p.parts}
    assert after == before  # processed/, quarantine/, rl/ and the card: all from the last good run

    # a source whose file is mostly garbage fails the run before anything is written
    from tasks.core.errors import QuarantineShareError

    good = json.loads((raw / "medical_o1_sft.json").read_text(encoding="utf-8"))[:4]
    (raw / "medical_o1_sft_Chinese.json").write_text(json.dumps(good + [{"Question": "q", "Complex_CoT": "c", "Response": ""}] * 2), encoding="utf-8")
    with pytest.raises(QuarantineShareError) as err:
        run(raw, out, seed=8, max_quarantine_share=0.02)  # 2 of 44 records
    assert "source medical-o1: 4.5% of its records quarantined (2 of 44" in str(err.value)
    assert "--max-quarantine-share 0.02" in str(err.value)
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".work" not in p.parts and ".staging" not in p.parts}
    assert after == before


@pytest.mark.parametrize("content", [b"", b"[]", b'[{"Question": "q", "Complex_CoT": "c", "Response": ""}]'])
def test_empty_or_unusable_published_file_is_reported_not_missing(tmp_path, content):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "medical_o1_sft.json").write_bytes(content)
    from tasks.core.errors import BadFileError

    with pytest.raises(BadFileError) as err:
        run(raw, tmp_path / "out")
    msg = str(err.value)
    assert "medical_o1_sft.json" in msg and "no data file found" not in msg
    if content.endswith(b"]") and content != b"[]":
        assert "empty answer: 1" in msg


def test_decontamination_quarantines_exactly_the_planted_record(tmp_path):
    """Benchmarks in `benchmarks/` next to the raw folder (the default): the record whose question
    shares a 13-word run with a benchmark item is quarantined with its reason and content; the near
    miss and every other record go on; the card has the section. (Without the folder the step
    says it did not run: checked in the demo end-to-end test.)"""
    raw = raw_with(tmp_path, "medical_o1_sft.json")
    recs = json.loads((raw / "medical_o1_sft.json").read_text(encoding="utf-8"))
    planted = recs[3].get("Question") or recs[3]["question"]
    words = planted.split()
    bench = tmp_path / "benchmarks" / "mybench"
    bench.mkdir(parents=True)
    items = [{"id": "q7", "question": "Exam item: " + " ".join(words[2:18]) + " - what next?"},
             {"id": "q8", "question": " ".join(words[:8] + ["zebra"] + words[9:18])}]  # runs of 10 and 9 words
    (bench / "test.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    out = tmp_path / "out"
    res = run(raw, out, export_rl=False)
    quarantined = [json.loads(line) for line in (out / "quarantine/medical-o1.jsonl").read_text(encoding="utf-8").splitlines()]
    contaminated = [q for q in quarantined if q["reason"].startswith("contaminated:")]
    assert [q["reason"] for q in contaminated] == ["contaminated:mybench:q7"]
    assert json.loads(contaminated[0]["raw"])["question"] == planted
    kept = [json.loads(line)["input"] for f in ("train", "val")
            for line in (out / f"processed/{f}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert not any(planted in k for k in kept)
    card = (out / "DATA_CARD.md").read_text(encoding="utf-8").split("## Decontamination", 1)[1].split("\n## ", 1)[0]
    # every other record goes on: the pool after dedup minus the one (the small pool is drawn whole)
    n_in = int(card.split("`: ", 1)[1].split(" in,", 1)[0])
    assert f"{n_in:,} in, {n_in - 1:,} kept, 1 quarantined" in card and len(kept) == res["sample"]["drawn"] == n_in - 1
    assert "| mybench | mybench/test.jsonl | 2 |" in card and "13-word n-grams" in card
    assert "| mybench | 2 | 0 | 1 | 1 |" in card  # items, too short, items matched, records quarantined
