"""Each epoch's mini-batches: the columns of X that each step of the epoch trains on."""

from __future__ import annotations

import numpy as np


def minibatches(m: int, batch_size: int | None, rng: np.random.Generator, window: int = 0):
    """Column index arrays for one epoch: shuffled, the last partial batch kept.

    With batch_size None (or >= m) the one batch is all m examples in order. With
    ``window`` w (0 < w < m), the shuffle is local: the examples are cut into windows of
    w consecutive columns (the last one shorter), the windows are taken in a shuffled
    order and the columns within each are shuffled, so a batch's columns lie in one
    window or two neighbours in that order; it is drawn from ``rng`` alone, so the same
    generator state gives the same batches (a resumed epoch draws its own again).
    """
    if batch_size is None or batch_size >= m:
        return [slice(None)]
    # rng.permutation(m) draws this same order; shuffling a 32-bit arange in place
    # holds it in half the memory.
    order = np.arange(m, dtype=np.int32 if m < 2**31 else np.int64)
    if 0 < window < m:
        starts = np.arange(0, m, window)
        rng.shuffle(starts)  # the windows' order, then each window's own
        pieces = [order[s : s + window] for s in starts]
        for piece in pieces:
            rng.shuffle(piece)
        order = np.concatenate(pieces)
    else:
        rng.shuffle(order)
    return [order[k : k + batch_size] for k in range(0, m, batch_size)]
