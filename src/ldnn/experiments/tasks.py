"""An experiment's independent runs, shared among MPI ranks when it runs on several.

``mpiexec -n P ldnn experiment NAME`` runs the experiment on every rank; each loop over
independent, seeded runs (a grid of settings) goes through :func:`spread`, which gives
rank r the items r, r + P, r + 2P, ... and hands every rank all the results, in the
items' order. Each run draws from its own seed, so the results are those of one process;
rank 0 alone writes the run folder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

_comm = None  # the ranks of the experiment under way (None: one process)


@contextlib.contextmanager
def ranks(comm):
    """Within this block, :func:`spread` shares its items among the ranks of ``comm``."""
    global _comm
    before, _comm = _comm, comm
    try:
        yield
    finally:
        _comm = before


def spread(function: Callable, items: Iterable) -> list:
    """``[function(item) for item in items]``, each item computed by one rank."""
    items = list(items)
    if _comm is None or _comm.Get_size() == 1:
        return [function(item) for item in items]
    size, rank = _comm.Get_size(), _comm.Get_rank()
    mine = {k: function(item) for k, item in enumerate(items) if k % size == rank}
    results = {}
    for part in _comm.allgather(mine):
        results.update(part)
    return [results[k] for k in range(len(items))]
