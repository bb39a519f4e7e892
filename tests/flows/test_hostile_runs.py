"""Hostile runs (issue 12 item 5) that need the real flow: SIGKILL at each stage of a run and in
the middle of its final swap (a real child process, paused there by tasks/core/pause.py), a
second run on an output folder another run holds, a ModelScope token in the environment, a
read-only output folder and a full disk. Every case checks that the previous
outputs are intact byte for byte. Task-level cases: tests/tasks/ingest/test_hostile.py.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import DEMO_SAMPLES, REPO

TOKEN = "ms-hostile-token-5f0c9e1d"


def outputs(out: Path) -> dict[str, bytes]:
    """Every published file under ``out`` (processed/, quarantine/, rl/, DATA_CARD.md) -> its bytes."""
    files = [p for d in ("processed", "quarantine", "rl") if (out / d).is_dir() for p in (out / d).rglob("*")]
    files += [out / "DATA_CARD.md"] if (out / "DATA_CARD.md").is_file() else []
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(files) if p.is_file()}


class Run:
    """`medprep prepare` in its own process group, on the session's test server, output read live."""

    def __init__(self, api_url: str, raw: Path, out: Path, *extra: str, env: dict | None = None) -> None:
        env = {**os.environ, "PREFECT_API_URL": api_url, "MODELSCOPE_API_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1",
               **(env or {})}
        cmd = [sys.executable, "-m", "flows.cli", "prepare", "medical-o1", "--offline", "--raw-dir", str(raw),
               "--out-dir", str(out), "--sample-size", "60", "--allow-out-of-range", "--no-rl", "-v", *extra]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, text: str, timeout: float = 240) -> None:
        """Read output until a line holds ``text``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self._q.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"run ended before {text!r}:\n{''.join(self.lines)[-3000:]}")
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} within {timeout}s:\n{''.join(self.lines)[-3000:]}")

    def finish(self, timeout: float = 300) -> int:
        rc = self.proc.wait(timeout=timeout)
        while (line := self._q.get(timeout=10)) is not None:
            self.lines.append(line)
        return rc

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def test_a_run_queued_on_the_lock_keeps_outputs_whole(api_url, tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft.json", raw)
    first = Run(api_url, raw, out)
    assert first.finish() == 0, first.text[-3000:]
    before = outputs(out)
    assert "processed/train.jsonl" in before and "DATA_CARD.md" in before

    # new input, so a completed run would change the outputs (SIGKILL at each stage: the test below)
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft_Chinese.json", raw)

    # a second run while another holds the output folder waits for it
    from filelock import FileLock

    holder = FileLock(str(out / ".medprep.lock"))
    holder.acquire(timeout=10)
    try:
        queued = Run(api_url, raw, out)
        queued.wait_for("another run is writing")
        time.sleep(1)
        assert outputs(out) == before and queued.proc.poll() is None
    finally:
        holder.release()
    assert queued.finish() == 0, queued.text[-3000:]
    after = outputs(out)
    assert after != before and set(after) == set(before)
    import hashlib

    card = after["DATA_CARD.md"].decode()
    for name in ("medical_o1_sft.json", "medical_o1_sft_Chinese.json"):
        assert hashlib.sha256((raw / name).read_bytes()).hexdigest() in card
    assert not (out / ".staging").exists()

    # the token in the environment appears in no output, work file or log of the two runs
    texts = [first.text, queued.text] + [p.read_bytes().decode("utf-8", "replace")
                                         for p in out.rglob("*") if p.is_file()]
    assert not [t for t in texts if TOKEN in t]


ARGS = ("--offline", "--sample-size", "60", "--allow-out-of-range", "--no-rl")
# every place a run can be killed: each stage as it starts (offline, so detect is the first), and
# the final swap with one item new and the others old (tasks/core/pause.py)
KILL_POINTS = ("detect", "parse", "label", "pool", "decontaminate", "gate", "sample", "write", "swap")


def _run(raw: Path, out: Path) -> None:
    """A normal run in this process, on the session's test server."""
    from flows.cli import main

    assert main(["prepare", "medical-o1", "--raw-dir", str(raw), "--out-dir", str(out), *ARGS]) == 0


@pytest.fixture(scope="module")
def kill_inputs(api_url, tmp_path_factory):
    """(raw folder with two files, published outputs of a run on the first file only, outputs of a
    clean run on both): built once for every kill point."""
    from tasks.export.outputs import ITEMS

    base = tmp_path_factory.mktemp("kill")
    raw = base / "raw"
    raw.mkdir()
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft.json", raw)
    _run(raw, base / "work")
    previous = base / "previous"
    previous.mkdir()
    for name in ITEMS:  # the published outputs only, not the work folder with its caches
        src = base / "work" / name
        if src.exists():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, previous / name)
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft_Chinese.json", raw)  # new input: a whole run changes outputs
    _run(raw, base / "clean")
    return raw, previous, outputs(base / "clean")


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_at_each_stage_keeps_outputs_and_the_next_run_is_clean(api_url, kill_inputs, tmp_path, point):
    from tasks.core.locking import output_lock

    raw, previous, clean = kill_inputs
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    before = outputs(out)
    assert before != clean

    killed = Run(api_url, raw, out, env={"MEDPREP_TEST_PAUSE_AT": point})
    killed.wait_for(f"paused at {point}")
    killed.kill()
    assert TOKEN not in killed.text
    after_kill = outputs(out)
    if point == "swap":  # killed mid-swap: processed/ is new, the card still the previous one
        assert after_kill["processed/train.jsonl"] == clean["processed/train.jsonl"]
        assert after_kill["DATA_CARD.md"] == before["DATA_CARD.md"]
    else:
        assert after_kill == before  # SIGKILL: the previous outputs, byte for byte

    # no stale lock: taking it succeeds at once, and finishes (swap) or clears what the kill left
    with output_lock(str(out), timeout=5):
        assert outputs(out) == (clean if point == "swap" else before)
        assert not (out / ".staging").exists()
        assert not list(out.glob(".old-*"))

    _run(raw, out)  # the next normal run: the same outputs as a clean run
    assert outputs(out) == clean
    assert not (out / ".staging").exists()


def _mount_tmpfs(where: Path, opts: str) -> None:
    """Mount a tmpfs at ``where`` (root only), or skip the test saying why."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a tmpfs mount needs root (and `mount`); not available here")
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")


def _umount(where: Path) -> None:
    subprocess.run(["umount", str(where)], capture_output=True)


def _previous(out: Path) -> dict[str, bytes]:
    (out / "processed").mkdir(parents=True, exist_ok=True)
    (out / "processed" / "train.jsonl").write_text('{"input": "previous run", "output": "kept"}\n')
    (out / "DATA_CARD.md").write_text("# previous card\n")
    return outputs(out)


def test_read_only_output_folder_is_one_line_and_changes_nothing(api_url, tmp_path, capsys):
    from flows.cli import main

    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft.json", raw)
    _mount_tmpfs(out, "size=1m")
    try:
        before = _previous(out)
        subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
        rc = main(["prepare", "medical-o1", "--offline", "--raw-dir", str(raw), "--out-dir", str(out)])
        err = capsys.readouterr().err
        assert rc == 1
        line = [x for x in err.splitlines() if x.startswith("medprep: error:")]
        assert len(line) == 1 and "Read-only file system" in line[0] and str(out) in line[0]
        assert "Traceback" not in err
        assert outputs(out) == before
    finally:
        _umount(out)


def test_full_disk_during_the_run_is_one_line_and_keeps_previous_outputs(api_url, tmp_path, capsys):
    from flows.cli import main

    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    shutil.copy(DEMO_SAMPLES / "medical_o1_sft.json", raw)
    _mount_tmpfs(out, "size=256k")
    try:
        before = _previous(out)
        st = os.statvfs(out)  # leave 16 KiB: the run's first writes (lock, work files) fill the disk
        (out / "filler").write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - 16 * 1024))
        rc = main(["prepare", "medical-o1", "--offline", "--raw-dir", str(raw), "--out-dir", str(out)])
        err = capsys.readouterr().err
        assert rc == 1
        line = [x for x in err.splitlines() if x.startswith("medprep: error:")]
        assert len(line) == 1 and "No space left on device" in line[0]
        assert "Traceback" not in err
        assert outputs(out) == before
    finally:
        _umount(out)
