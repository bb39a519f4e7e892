"""Detection: published names, git clone folders, the ModelScope cache, renamed copies, nothing found."""

from __future__ import annotations

import json

import pytest

from tasks.core.errors import SourceNotFoundError
from tasks.ingest.detect import detect_files, find_files
from tasks.ingest.sources import REGISTRY

SPEC = REGISTRY["medical-o1"]
REC = [{"Question": "q", "Complex_CoT": "c", "Response": "r"}]


def _write(path, recs=REC):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recs, indent=4))
    return path


def test_published_name(tmp_path):
    _write(tmp_path / "medical_o1_sft.json")
    [f] = find_files(SPEC, tmp_path)
    assert (f.relpath, f.how) == ("medical_o1_sft.json", "published name")
    assert len(f.sha256) == 64 and f.size > 0


def test_git_clone_folder(tmp_path):
    clone = tmp_path / "medical-o1-reasoning-SFT"
    (clone / ".git").mkdir(parents=True)
    _write(clone / "medical_o1_sft_Chinese.json", [{"Question": "问", "Complex_CoT": "想", "Response": "答"}])
    [f] = find_files(SPEC, tmp_path)
    assert (f.relpath, f.how) == ("medical-o1-reasoning-SFT/medical_o1_sft_Chinese.json", "git clone")


def test_modelscope_cache_layout_records_revision(tmp_path):
    snap = tmp_path / "modelscope" / "datasets" / "FreedomIntelligence--medical-o1-reasoning-SFT" / "snapshots" / "abc123"
    _write(snap / "medical_o1_sft_mix.json")
    [f] = find_files(SPEC, tmp_path)
    assert (f.how, f.revision) == ("modelscope cache", "abc123")


def test_renamed_copy_found_by_content_and_other_json_ignored(tmp_path):
    _write(tmp_path / "my download (1).json")
    _write(tmp_path / "unrelated.json", [{"foo": "bar"}])
    [f] = find_files(SPEC, tmp_path)
    assert f.relpath == "my download (1).json"
    assert f.how == "renamed copy (matched by content)"


def test_same_bytes_twice_are_read_once(tmp_path):
    _write(tmp_path / "medical_o1_sft.json")
    _write(tmp_path / "copy" / "medical_o1_sft.json")
    assert len(find_files(SPEC, tmp_path)) == 1


def test_lfs_pointer_is_found_so_the_reader_can_say_git_lfs_pull(tmp_path):
    (tmp_path / "medical_o1_sft.json").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 64814379\n"
    )
    [f] = find_files(SPEC, tmp_path)
    assert f.lfs_pointer


def test_nothing_found_says_which_file_where_and_the_url(tmp_path):
    with pytest.raises(SourceNotFoundError) as err:
        detect_files.fn("medical-o1", str(tmp_path))
    msg = str(err.value)
    assert "medical_o1_sft.json" in msg and str(tmp_path) in msg
    assert "https://modelscope.cn/datasets/FreedomIntelligence/medical-o1-reasoning-SFT" in msg
