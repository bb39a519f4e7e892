"""`medprep sources`: every source with where its files are and how many records parse."""

from __future__ import annotations

from tasks.ingest.sources import REGISTRY
from tasks.ingest.status import print_sources, source_status
from tests.conftest import DEMO_SAMPLES


def test_every_source_is_found_in_the_demo_files_with_counts():
    rows = {r["source"]: r for r in source_status(str(DEMO_SAMPLES))}
    assert set(rows) == set(REGISTRY.names())
    for name, row in rows.items():
        assert row["files"], name
        assert all(f["records"] > 0 and "error" not in f for f in row["files"]), name
        assert row["hint"] is None
    assert len(rows["chinese-dialogue"]["files"]) == 4


def test_empty_folder_says_what_to_put_where(tmp_path, capsys):
    print_sources(str(tmp_path), probe_network=False)
    out = capsys.readouterr().out
    assert "medical-o1" in out and "medical_o1_sft.json" in out and "r1_data_example.jsonl" in out
    assert "not found" in out


def test_bad_file_is_reported_not_raised(tmp_path):
    (tmp_path / "medical_o1_sft.json").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n")
    row = next(r for r in source_status(str(tmp_path)) if r["source"] == "medical-o1")
    assert "git lfs pull" in row["files"][0]["error"]
