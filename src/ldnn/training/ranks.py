"""The processes that train one network together, as the step and the loop see them.

Data-parallel training splits every sum over examples among processes (ranks): each
holds a block of the examples, forms its part of dW[l] and db[l] for a mini-batch, and
the parts are added up before the one update. The step and the loop never ask how many
ranks there are; they ask a ranks object:

    lead                          whether this process adds the L2 term (one must, once)
    sums_on_host                  whether each step's sums come back through the host
    examples(m_here)              (offset, m): where this process's examples start among
                                  all of them, and how many there are
    share_of(batch)               (rows, places): this process's examples of a mini-batch,
                                  as its own indices and as places in the batch (None:
                                  it holds the whole batch)
    gather(values)                every example's value (sample weights, say)
    gradient_vector(size, like)   the vector dtheta that backward writes into
    overlap                       whether backward tells layer_done as it goes
    layer_done(start)             dtheta[start:] is final: its sum may start
    add_up(dtheta, numbers)       dtheta and a few numbers summed over the ranks
    batch(m)                      what batch norm's statistics of a mini-batch of m
                                  examples are taken over (None: this process's columns)
    mean(values, n)               values of n examples each, averaged by their n
    any, all, maximum             agreement on a flag or a number

One process is the identity below; MPI's ranks are :class:`ldnn.training.mpi.MPIRanks`.
"""

from __future__ import annotations

from typing import Protocol

from ..base.backend import get_xp


class Ranks(Protocol):
    lead: bool
    sums_on_host: bool
    overlap: bool

    def examples(self, m_here: int) -> tuple[int, int]: ...
    def share_of(self, batch) -> tuple[object, object]: ...
    def gather(self, values): ...
    def gradient_vector(self, size: int, like): ...
    def layer_done(self, start: int) -> None: ...
    def add_up(self, dtheta, numbers: tuple) -> tuple: ...
    def batch(self, m: int): ...
    def mean(self, values: tuple, n: int) -> tuple: ...
    def any(self, flag) -> bool: ...
    def all(self, flag) -> bool: ...
    def maximum(self, value: float) -> float: ...


class OneProcess:
    """One process holds every example: each answer is the question itself."""

    lead = True
    sums_on_host = False
    overlap = False

    def examples(self, m_here: int) -> tuple[int, int]:
        return 0, m_here

    def share_of(self, batch):
        return batch, None

    def gather(self, values):
        return values

    def gradient_vector(self, size: int, like):
        return get_xp(like).empty(size, dtype=like.dtype)

    def layer_done(self, start: int) -> None:
        return None

    def add_up(self, dtheta, numbers: tuple) -> tuple:
        return numbers

    def batch(self, m: int):
        return None

    def mean(self, values: tuple, n: int) -> tuple:
        return values

    def any(self, flag) -> bool:
        return bool(flag)

    def all(self, flag) -> bool:
        return bool(flag)

    def maximum(self, value: float) -> float:
        return value


ONE_PROCESS = OneProcess()
