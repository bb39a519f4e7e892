"""One writer per output folder: two runs of a deployment at once queue instead of corrupting files."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tasks.core.logs import log

LOCK_NAME = ".medprep.lock"


@contextmanager
def output_lock(out_dir: str, timeout: float = 6 * 3600):
    """Hold an exclusive cross-process lock on ``out_dir`` for the whole run; on taking it, finish
    (or clear) what a killed run left in ``out_dir/.staging`` (tasks/export/outputs.py)."""
    from filelock import FileLock, Timeout

    from tasks.core.errors import MedprepError

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(Path(out_dir) / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log().warning("another run is writing to %s; waiting for it to finish", out_dir)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise MedprepError(f"{out_dir} stayed locked by another run for {timeout:.0f}s; use another --out-dir") from None
    try:
        from tasks.export.outputs import recover

        recover(out_dir)  # a run killed during its final swap: finish it before anything else
        yield
    finally:
        lock.release()
