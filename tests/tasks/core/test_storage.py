"""Atomic writes: a failed writer leaves the last good file; written files honour the umask."""

from __future__ import annotations

import os

import pytest

from tasks.core.storage import sha256_file, write_atomic, write_text


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path):
    dest = tmp_path / "out" / "train.jsonl"
    write_text(dest, "good\n")

    def boom(p):
        p.write_text("half a fi")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_atomic(dest, boom)
    assert dest.read_text() == "good\n"
    assert [p.name for p in dest.parent.iterdir()] == ["train.jsonl"]


def test_mode_follows_umask_not_mkstemp_0600(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    dest = write_text(tmp_path / "card.md", "x")
    assert dest.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sha256_file(dest) == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
