"""Freed heap memory handed back to the system (glibc's malloc_trim), as a streamed
table's preparation does before training."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from ldnn.base.memory import give_back_memory


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_the_pages_freed_arrays_left_on_the_heap_go_back_to_the_system():
    if not give_back_memory():
        pytest.skip("this C library has no malloc_trim (not glibc)")
    arrays = [np.ones(2000) for _ in range(10_000)]  # 160 MB in 16 KB arrays: on the heap
    pin = np.ones(2000)  # (allocated after them: the heap's top is not free)
    held = resident_mb()
    del arrays
    freed = resident_mb()
    give_back_memory()
    trimmed = resident_mb()
    assert held - trimmed > 100, (held, freed, trimmed)
    assert pin.sum() == 2000
