"""P ranks as P threads of one process: a stand-in for an mpi4py communicator with the
few collectives ldnn.training.mpi calls, for property tests over many random cases (the real
ranks of ``mpiexec`` are tested in test_parallel.py itself).

Reductions add the ranks' values in rank order, as a real MPI may or may not; the
results are compared within rounding, never bit for bit.
"""

from __future__ import annotations

import threading
from functools import reduce

import numpy as np


class ThreadWorld:
    def __init__(self, size: int):
        self.size = size
        self.slots = [None] * size
        self.barrier = threading.Barrier(size, timeout=60)

    def exchange(self, rank: int, value) -> list:
        self.slots[rank] = value
        self.barrier.wait()
        values = list(self.slots)
        self.barrier.wait()  # nobody writes the next slots before everyone has read
        return values


class ThreadComm:
    def __init__(self, world: ThreadWorld, rank: int):
        self.world, self.rank = world, rank

    def Get_size(self) -> int:
        return self.world.size

    def Get_rank(self) -> int:
        return self.rank

    def allgather(self, value) -> list:
        return self.world.exchange(self.rank, value)

    def allreduce(self, value, op):
        return reduce(op, self.allgather(value))

    def Allreduce(self, send, buffer, op):  # only in place, as ldnn calls it
        values = self.allgather(np.array(buffer))
        buffer[...] = reduce(op, values)

    def Iallreduce(self, send, buffer, op):  # as Allreduce, done at once: a done request
        self.Allreduce(send, buffer, op)
        return DoneRequest()

    def barrier(self) -> None:
        self.world.barrier.wait()


class DoneRequest:
    """A non-blocking operation's request, already complete (ThreadComm's are)."""

    def Test(self) -> bool:
        return True

    def Wait(self) -> None:
        return None


def run_ranks(size: int, function) -> list:
    """[function(comm) for each rank], each rank in its own thread."""
    world = ThreadWorld(size)
    results, errors = [None] * size, []

    def rank_main(rank):
        try:
            results[rank] = function(ThreadComm(world, rank))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            world.barrier.abort()

    threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
