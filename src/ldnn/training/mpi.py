"""Data-parallel training on MPI: the notes' sums over examples, split across processes.

dW[l] = (1/m) sum over the m columns of dZ[l] . A[l-1]^T, and db[l] likewise, are sums
over examples. With P processes (MPI ranks) each holding its own columns of X, each
forms the partial sums over its share of a mini-batch, one Allreduce adds them up, and
every rank applies the same update to the same theta:

    dtheta = sum over ranks r of  (1/m) sum over r's columns i of the batch  (dW, db)(i)
             + (lambd / m) W + (l1 / m) sign(W)  (the penalties, added by rank 0 alone)

where m is the whole mini-batch's (or its sum of weights): the example weights of
:func:`ldnn.core.losses.example_weights`. Because theta keeps every gradient in one flat
vector, that is one Allreduce per step; the batch's loss sum, its count of right
predictions and a "stop" flag ride along in three more entries of the same buffer.

What makes the result independent of P:

- Ranks hold consecutive blocks of the examples, in rank order: rank r's columns are
  the examples ``offset_r .. offset_r + m_r - 1`` of the data set all ranks make up.
- Every rank draws the same shuffle of all m examples from the same seeded generator,
  so the mini-batches are the same global sets; each rank computes on the members it
  holds.
- Dropout masks are drawn for the whole mini-batch on every rank, in the same order as
  one process draws them, and each rank keeps its own columns: example i gets the same
  mask whichever rank holds it, and the generators stay in step.
- Batch norm's statistics are the whole mini-batch's: each of its means over the batch
  (mu and sigma^2 forward, the two of dZ backward) is each rank's partial sum, with the
  whole batch's 1/m, added up by :meth:`MPIRanks.reduce` (an Allreduce of n[l] or 2 n[l]
  numbers, three per normalised layer and step; see :mod:`ldnn.core.batchnorm`).

The Allreduce of dtheta need not wait for the whole backward pass: backward reaches
layer L first, and once layer l's gradients are final every entry of dtheta from layer
l's first on is (theta's order is E1, W1, b1, ..., WL, bL). With a bucket size B
(``LDNN_ALLREDUCE_BUCKET``, bytes, as Horovod's fusion threshold and PyTorch DDP's
gradient buckets), each time B bytes or more of final gradients have gathered a
non-blocking Allreduce (``Iallreduce``) of them starts, and later layers' steps of
backward poll it on (MPI moves a request on when it is called); after backward the rest
of dtheta and the three numbers go in one last Allreduce, then the step waits for them
all. Each entry is still the sum of the same P values, each added once, so at P = 2 the
result is bit for bit the single Allreduce's; at P >= 3 an MPI may add them in another
order for another message size (MPICH's did not, tests/test_parallel.py). 0, the default,
sends dtheta in one Allreduce after backward (docs/scale.md says why).

Only the order of the sums changes, so float64 results agree with one process within
rounding (1e-12 and better in the tests; 1e-10 with batch norm, measured below 1e-13).
Validation scores are reduced the same way.

All of that holds only when the ranks were started alike: the same hyperparameters, the
same generator, shares of the same data. Before the first step they compare what they
were given (:meth:`MPIRanks.agree`: one allgather), and on any difference every rank
stops at once with the same one line naming the first rank that differs and what
differs, rather than training on to a silent mixture or to a raw MPI error.

:class:`MPIRanks` is all the training step and loop see of it (the protocol of
:mod:`ldnn.training.ranks`). The communicator is an ``mpi4py`` communicator
(``MPI.COMM_WORLD``): mpi4py is imported only here and only when a communicator is used.
With CuPy arrays the buffer travels through the host; a CUDA-aware MPI (or CuPy's NCCL
communicator, which has the same Allreduce) could take the device buffer directly: see
docs/scale.md.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from ..base.backend import get_xp, to_numpy
from ..core.batchnorm import Batch
from ..errors import (
    ConfigurationError,
    InvalidValueError,
    LdnnError,
    MissingPackageError,
    RanksDisagreeError,
)


def share(m: int, size: int, rank: int) -> slice:
    """Rank ``rank``'s block of m examples among ``size`` ranks: consecutive, in rank
    order, the first m % size ranks one example more (so the blocks differ by at most 1).

    >>> [share(10, 3, r) for r in range(3)]
    [slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
    """
    base, extra = divmod(m, size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


def _mpi():
    from mpi4py import MPI  # the [mpi] extra; only a communicator's user gets here

    return MPI


def check_supported(hp, comm, validation_given: bool = True) -> None:
    """Refuse, with one line, what data-parallel training does not do on several ranks."""
    if comm is None or comm.Get_size() == 1:
        return
    if hp.optimizer == "lbfgs":
        raise ConfigurationError(
            "optimizer 'lbfgs' does not train data-parallel: use one process, or another "
            "optimizer with MPI ranks"
        )
    if hp.validation_split > 0 and not validation_given:
        raise ConfigurationError(
            "validation_split does not split data held by several ranks: pass each rank's "
            "share of validation_data instead (ldnn.training.mpi.share gives the shares)"
        )


class MPIRanks:
    """The ranks of ``comm``, each holding a consecutive block of the examples in rank
    order: :mod:`ldnn.training.ranks`'s protocol over MPI collectives.

    Attributes
    ----------
    first, m : int
        The index of this rank's first example among all of them, and their number (set
        by :meth:`examples`).
    """

    def __init__(self, comm, bucket: int | None = None):
        self.comm, self.rank = comm, comm.Get_rank()
        self.lead = self.rank == 0  # rank 0 adds the L2 term, once for all
        self.sums_on_host = True  # each step's sums are read: the ranks must agree on them
        self.buffer = None
        self.bucket = bucket_bytes() if bucket is None else bucket
        self.overlap = False  # set by gradient_vector: a bucket, and dtheta on the host
        self.pending, self.sent = [], 0
        self.waiting = 0.0  # seconds spent in the reductions of dtheta (and of batch norm)

    def agree(self, values: dict, hint: str = "") -> None:
        """Go on only if every rank holds the same ``values`` ({what: value}, compared in
        their order; a value is shown as is when it is text, else as its repr).

        Raises
        ------
        RanksDisagreeError
            On every rank at once, naming the first rank that differs from rank 0 and the
            first thing that differs, then ``hint``; ``field`` names the setting that
            differs, where it is one ("learning_rate" of "[training] learning_rate").
        """
        everyone = self.comm.allgather(values)
        ours = everyone[0]
        for rank, theirs in enumerate(everyone[1:], 1):
            for what in [*ours, *(w for w in theirs if w not in ours)]:
                mine, other = ours.get(what, _NOTHING), theirs.get(what, _NOTHING)
                if not _same(mine, other):
                    raise RanksDisagreeError(
                        f"rank {rank} of {len(everyone)} has {what} {_shown(other)} where "
                        f"rank 0 has {_shown(mine)}{hint}",
                        field=_field(what),
                    )

    def examples(self, m_here: int) -> tuple[int, int]:
        counts = self.comm.allgather(int(m_here))
        self.first, self.m = sum(counts[: self.rank]), sum(counts)
        self.last = self.first + m_here
        if self.m == 0:
            raise InvalidValueError("X has no examples on any of the ranks (m = 0)")
        return self.first, self.m

    def share_of(self, batch):
        if isinstance(batch, slice):  # the whole data set, in order
            return slice(None), np.arange(self.first, self.last)
        mine = np.flatnonzero((batch >= self.first) & (batch < self.last))
        return batch[mine] - self.first, mine

    def gather(self, values):
        return np.concatenate(self.comm.allgather(to_numpy(values)))

    def gradient_vector(self, size: int, like):
        # The batch's loss sum, its right count and the stop flag, then dtheta: one buffer,
        # one Allreduce per step, its tail (the last layers) perhaps sent ahead in buckets.
        # (In float32 training the ranks' loss sums are added in float32 too: the
        # history's cost agrees with one process's to about 1e-7.)
        xp = get_xp(like)
        # dtheta starts 64 bytes in: at the buffer's own alignment, as it always has (BLAS
        # writes dW[l] into it), the numbers in the first entries of the 64 bytes.
        self.front = max(NUMBERS, 64 // like.dtype.itemsize)
        self.buffer = xp.zeros(size + self.front, dtype=like.dtype)
        self.sent = self.buffer.size
        self.overlap = bool(self.bucket) and xp is np
        return self.buffer[self.front :]

    def layer_done(self, start: int) -> None:
        """dtheta[start:] is final (backward has done the layer whose first entry is
        ``start``): send what is final and not yet sent once it fills a bucket, else move
        the requests under way on."""
        low = self.front + start
        if (self.sent - low) * self.buffer.itemsize >= self.bucket:
            tail = self.buffer[low : self.sent]
            self.pending.append(self.comm.Iallreduce(_mpi().IN_PLACE, tail, op=_mpi().SUM))
            self.sent = low
        else:
            for request in self.pending:  # (a test moves it on)
                request.Test()

    def add_up(self, dtheta, numbers: tuple) -> tuple:
        """dtheta summed over the ranks in place, and up to three numbers with it (None
        travels as 0 and comes back None); buckets sent during backward are waited for."""
        buffer = self.buffer
        for k, value in enumerate(numbers):
            buffer[k] = 0.0 if value is None else float(value)
        start = time.perf_counter()
        self._allreduce(buffer if self.sent == buffer.size else buffer[: self.sent])
        for request in self.pending:
            request.Wait()
        self.pending = []
        self.waiting += time.perf_counter() - start
        self.sent = buffer.size
        return tuple(None if value is None else float(buffer[k]) for k, value in enumerate(numbers))

    def batch(self, m: int) -> Batch:
        """Batch norm's statistics over every rank's share of a mini-batch of m examples."""
        return Batch(m, self.reduce)

    def reduce(self, sums):
        """A batch's partial sums (an array of this rank's share) summed over the ranks,
        in place: every rank calls it at the same point of its step, an empty share too."""
        start = time.perf_counter()
        self._allreduce(sums)
        self.waiting += time.perf_counter() - start
        return sums

    def seconds_waiting(self) -> float:
        """The seconds this rank has spent waiting for the reductions of its steps so far
        (the Allreduce of dtheta and of batch norm's sums), from the first step on."""
        return self.waiting

    def mean(self, values: tuple, n: int) -> tuple:
        sums = np.array([*(0.0 if v is None else v * n for v in values), n], dtype=np.float64)
        self.comm.Allreduce(_mpi().IN_PLACE, sums, op=_mpi().SUM)
        means = (sums[:-1] / sums[-1]).tolist()
        return tuple(None if v is None else mean for v, mean in zip(values, means, strict=True))

    def any(self, flag) -> bool:
        return bool(self.comm.allreduce(bool(flag), op=_mpi().LOR))

    def all(self, flag) -> bool:
        return bool(self.comm.allreduce(bool(flag), op=_mpi().LAND))

    def maximum(self, value: float) -> float:
        return float(self.comm.allreduce(float(value), op=_mpi().MAX))

    def _allreduce(self, buffer) -> None:
        MPI = _mpi()
        if get_xp(buffer) is np:
            self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        else:  # through the host: works with any MPI (see the module docstring)
            host = get_xp(buffer).asnumpy(buffer)
            self.comm.Allreduce(MPI.IN_PLACE, host, op=MPI.SUM)
            buffer.set(host)


#: The numbers each step's buffer carries before dtheta: the loss sum, the right count,
#: the stop flag.
NUMBERS = 3
#: The environment variable of the bucket size in bytes (0: one Allreduce after backward).
BUCKET_VARIABLE = "LDNN_ALLREDUCE_BUCKET"
#: Its default: off. On the project's 2-core machine (benchmarks/mpi_scaling.py,
#: docs/scale.md) the buckets made the step slower, not faster: with every core
#: computing, nothing moves an MPI request on between MPI's own calls.
DEFAULT_BUCKET = 0


def bucket_bytes() -> int:
    """The bucket size of ``LDNN_ALLREDUCE_BUCKET`` (bytes; a suffix K, M or G allowed),
    or :data:`DEFAULT_BUCKET`.

    Raises
    ------
    ConfigurationError
        If the variable holds something else (one line naming it).
    """
    text = os.environ.get(BUCKET_VARIABLE, "").strip()
    if not text:
        return DEFAULT_BUCKET
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit():
        raise ConfigurationError(
            f"{BUCKET_VARIABLE} must be a size in bytes (e.g. 262144, 256K or 0 for none), "
            f"got {text!r}"
        )
    return int(digits) * scale


class _Nothing:
    """What a rank holds of a thing only another rank was given."""

    def __repr__(self) -> str:
        return "none"


_NOTHING = _Nothing()


def _same(a, b) -> bool:
    if a is _NOTHING or b is _NOTHING:
        return a is b
    return a == b or repr(a) == repr(b)  # repr: a NaN is the same NaN


def _field(what: str) -> str | None:
    """The setting a difference is about: "learning_rate" of "[training] learning_rate"."""
    name = what.rsplit("] ", 1)[-1]
    return name if name.isidentifier() else None


def _shown(value) -> str:
    return value if isinstance(value, str) else repr(value)


def on_every_rank(comm, check):
    """``check()`` on every rank of ``comm``, and its result; when it raises an ldnn error
    on any rank, every rank raises, naming the first rank that failed and why: no rank is
    left waiting in a collective for one that stopped alone (its data's own checks, say)."""
    try:
        result, failure = check(), None
    except LdnnError as error:
        result, failure = None, str(error)
    failures = comm.allgather(failure)
    for rank, failed in enumerate(failures):
        if failed is not None:
            raise RanksDisagreeError(f"rank {rank} of {len(failures)}: {failed}")
    return result


#: Where MPI launchers say how many ranks they started: MPICH's and Intel's Hydra (and
#: SLURM's srun with PMI), Open MPI, PMIx.
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")


def launched_ranks() -> int:
    """How many ranks an MPI launcher (mpiexec, srun) started this process among; 1 when
    none did. Read from the launcher's environment, so mpi4py is imported only when > 1."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def world():
    """MPI's COMM_WORLD when a launcher started several ranks, else None."""
    if launched_ranks() <= 1:
        return None
    try:
        MPI = _mpi()
    except ImportError:
        raise MissingPackageError(
            f"{launched_ranks()} MPI ranks were started, but mpi4py is missing: "
            "pip install 'ldnn[mpi]'"
        ) from None
    return MPI.COMM_WORLD


def mpi_description(comm) -> dict:
    """What provenance.json records of the ranks: how many, and the MPI library."""
    library = _mpi().Get_library_version().strip().splitlines()[0]
    return {"ranks": comm.Get_size(), "library": library}


def ranks_on_this_machine(comm) -> int:
    """How many ranks of ``comm`` share this machine's cores (1 without MPI)."""
    if comm is None:
        return 1
    return comm.Split_type(_mpi().COMM_TYPE_SHARED).Get_size()


def abort(comm, message: str, status: int) -> None:
    """Stop every rank of ``comm``: a rank that fails must not leave the others waiting
    in their next Allreduce forever. The message names the rank; MPI_Abort ends the job
    (mpiexec exits with an error status)."""
    stream = sys.__stderr__ or sys.stderr
    stream.write(f"{message} [rank {comm.Get_rank()} of {comm.Get_size()}; stopping all ranks]\n")
    stream.flush()
    comm.Abort(status)
