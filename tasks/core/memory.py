"""Allocator settings for a long refresh in one process: return freed memory to the OS.

A refresh runs stage after stage in one process, on a pool of threads. With glibc's defaults
each thread gets its own malloc arena (up to 8 per core) and freed blocks stay mapped, and
pyarrow's own pool keeps what it freed as well, so every stage starts from the level the previous
one reached and the process's resident size only grows. Two arenas, a fixed 64 MiB trim
threshold and pyarrow on the system allocator let a stage's freed memory go back. Polars keeps its
own allocator and is not touched. Figures: docs/memory.md.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_ARENA_MAX = -8
TRIM_THRESHOLD = 64 << 20
ARENA_MAX = 2
OPT_OUT = "MEDPREP_KEEP_ALLOCATORS"  # set to any value to keep the libraries' defaults

_applied = False


def bound_allocators() -> bool:
    """Apply the settings once per process (tasks call it too, for Dask workers); True when applied.

    Idempotent and harmless where it cannot apply (not glibc, pyarrow already allocating elsewhere).
    """
    global _applied
    if _applied or os.environ.get(OPT_OUT):
        return _applied
    _applied = True
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(_M_ARENA_MAX, ARENA_MAX)
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        except (OSError, AttributeError):  # musl or another libc: nothing to tune
            pass
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())
    return True
