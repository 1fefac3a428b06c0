"""Freed memory handed back to the system between the phases of a run.

glibc's allocator keeps the heap pages that freed arrays leave behind, and arrays below
its mmap threshold (which rises to 32 MiB as large arrays come and go) live on that
heap: after a table was read and prepared a block at a time, the process's resident set
stays near the preparation's peak while it trains. ``malloc_trim(0)`` gives the free
pages of every arena back to the kernel. Other C libraries (musl, macOS) have no such
call, and nothing is done there.
"""

from __future__ import annotations

import ctypes
import functools


@functools.cache
def _trim():
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def give_back_memory() -> bool:
    """Return the heap's free pages to the system; whether any were (False where the C
    library cannot)."""
    trim = _trim()
    return bool(trim(0)) if trim is not None else False
