"""How many threads the BLAS library (and pyarrow's reader) may use.

On a shared machine two BLAS threads beside another busy process run several times
slower than one (each waits for the other at every product), so the count is chosen,
not left to the library: ``auto`` takes the cores this process may run on less those
other processes keep busy (:func:`busy_cores`), and an explicit ``OPENBLAS_NUM_THREADS`` (or
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) is respected. The count changes the speed,
and the numbers only within rounding: on some CPUs OpenBLAS's kernels add float32
products in another order with more threads, so results are bit-identical for one
thread count (tests/test_reproducibility.py), and provenance.json records it.
"""

from __future__ import annotations

import contextlib
import os

from ..errors import ConfigurationError

ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def choose_threads(requested=None, processes: int = 1) -> int:
    """The thread count for ``requested``: a whole number >= 1, or None / "auto".

    ``processes`` is how many processes of one job share this machine (MPI ranks): auto
    then gives each its part of the cores, since the siblings starting at the same moment
    do not show in the load yet."""
    if requested in (None, "auto"):
        for name in ENVIRONMENT:
            value = os.environ.get(name, "")
            if value.isdigit() and int(value) >= 1:
                return int(value)
        cores = available_cores()
        if processes > 1:
            return max(1, cores // processes)
        return max(1, min(cores, cores - busy_cores()))
    try:
        count = int(requested)
    except (TypeError, ValueError):
        count = 0
    if count < 1 or str(requested).strip() != str(count):
        raise ConfigurationError(
            f"--threads must be a whole number >= 1 or auto, got {requested!r}"
        )
    return count


_limit: list[int] = []  # the counts of the enclosing limited_threads blocks


def busy_cores() -> int:
    """How many cores other processes keep busy: the larger of the 1-minute load average
    (which lags a neighbour that just started) and the processes running right now, less
    this one (Linux's /proc/loadavg)."""
    try:
        busy = round(os.getloadavg()[0])
    except OSError:  # no load average on this system
        busy = 0
    try:
        with open("/proc/loadavg") as file:
            running = int(file.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        running = 1
    return max(busy, running - 1)


@contextlib.contextmanager
def limited_threads(count: int):
    """BLAS (through threadpoolctl, where installed) and pyarrow's reader limited to
    ``count`` threads inside the ``with`` block."""
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            stack.enter_context(threadpool_limits(limits=count))
        _limit.append(count)
        stack.callback(_limit.pop)
        yield count


def arrow_threads(pyarrow) -> None:
    """Give pyarrow the count of the enclosing :func:`limited_threads`, if any (called
    where pyarrow is imported, so that commands without tables never import it)."""
    if _limit and pyarrow.cpu_count() != _limit[-1]:
        pyarrow.set_cpu_count(_limit[-1])


def current() -> int | None:
    """The thread count in force: the enclosing :func:`limited_threads` block's, else
    the first BLAS library's (None where threadpoolctl cannot say)."""
    if _limit:
        return _limit[-1]
    info = blas_info()
    return info[0].get("num_threads") if info else None


def blas_info() -> list[dict]:
    """The BLAS libraries loaded, their versions and thread counts (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "num_threads", "threading_layer", "architecture")
    return [{k: info.get(k) for k in keys if k in info} for info in threadpool_info()]
