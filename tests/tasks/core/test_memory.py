"""tasks/core/memory.py: the allocator settings apply once per process and can be opted out of.

Each case runs in a fresh interpreter: the settings are process-wide and this test process has
already imported the flow (which applies them)."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = (
    "import pyarrow as pa\n"
    "from tasks.core.memory import bound_allocators\n"
    "before = pa.default_memory_pool().backend_name\n"
    "first, second = bound_allocators(), bound_allocators()\n"
    "print(before, pa.default_memory_pool().backend_name, first, second)\n"
)


def _run(**env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k != "MEDPREP_KEEP_ALLOCATORS"} | env
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True, env=full)
    return out.stdout.split()


def test_applies_once_and_moves_pyarrow_to_the_system_allocator():
    before, after, first, second = _run()
    assert after == "system"
    assert (first, second) == ("True", "True")  # the second call is a no-op that reports the first
    assert before in {"jemalloc", "mimalloc", "system"}


def test_opt_out_keeps_the_defaults():
    before, after, first, second = _run(MEDPREP_KEEP_ALLOCATORS="1")
    assert after == before
    assert (first, second) == ("False", "False")
