"""How an epoch's sums are kept: the costs, right predictions and clipped steps of its
mini-batches, added up for the history's row.

On the CPU (and on MPI ranks, which read each step's reduced sums anyway) a
:class:`HostTally` reads every step's cost at once, and a cost that is not finite ends
the epoch before its update. On a GPU a :class:`DeviceTally` keeps the sums on the
device and reads them once, at the end of the epoch: the steps never wait for the
device, and the first step whose cost was not finite is found then (the steps after it
ran on NaN parameters; the divergence guard puts back those of the epoch's start, and
the optimizer's state with them).

Either way :meth:`result` gives (cost_sum, right_sum, clipped, failed, done): the sum of
batch cost times batch size, the number predicted right, the steps whose gradient was
clipped, the index of the first step whose cost was not finite (or None), and the steps
done.
"""

from __future__ import annotations

import math

import numpy as np

from ..base.backend import to_numpy


class HostTally:
    """An epoch's sums as Python floats, each step's read as it comes."""

    def __init__(self, sums):
        self.cost_sum, self.right_sum, self.clipped = sums
        self.failed = None

    def add(self, index: int, cost, accuracy, m: int) -> bool:
        """Add a step's cost J and accuracy over m examples; False (and nothing added)
        when J is not finite: the epoch ends there."""
        cost = float(cost)
        if not math.isfinite(cost):
            self.failed = index
            return False
        self.cost_sum += cost * m
        self.right_sum += (0.0 if accuracy is None else float(accuracy)) * m
        return True

    def count_clip(self, clipped) -> None:
        self.clipped += int(clipped)

    def result(self, done: int) -> tuple:
        if self.failed is not None:
            return self.cost_sum, self.right_sum, self.clipped, self.failed, self.failed
        return self.cost_sum, self.right_sum, self.clipped, None, done


class DeviceTally:
    """An epoch's sums as device arrays, read once by :meth:`result`."""

    def __init__(self, sums, start: int, steps: int, xp):
        self.host, self.start, self.xp = sums, start, xp
        self.totals = xp.zeros(3, dtype=np.float64)  # the epoch's cost sum, right sum, clips
        self.costs = xp.zeros(steps, dtype=np.float64)
        self.clips = self.totals[2:3]

    def add(self, index: int, cost, accuracy, m: int) -> bool:
        self.costs[index] = cost
        self.totals[0] += cost * m
        if accuracy is not None:
            self.totals[1] += accuracy * m
        return True

    def count_clip(self, clipped) -> None:
        self.clips += clipped

    def result(self, done: int) -> tuple:
        xp, start = self.xp, self.start
        host_cost, host_right, host_clipped = self.host
        bad = ~xp.isfinite(self.costs[start:done])
        first_bad = xp.argmax(bad) if done > start else xp.zeros((), dtype=np.int64)
        read = to_numpy(xp.concatenate([self.totals, xp.stack([bad.any(), first_bad])]))
        clipped = host_clipped + int(read[2])
        if read[3]:
            failed = start + int(read[4])
            return host_cost, host_right, clipped, failed, failed
        return host_cost + float(read[0]), host_right + float(read[1]), clipped, None, done
