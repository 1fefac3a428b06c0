"""Data-parallel training on MPI: the notes' sums over examples, split across processes.

dW[l] = (1/m) sum over the m columns of dZ[l] . A[l-1]^T, and db[l] likewise, are sums
over examples. With P processes (MPI ranks) each holding its own columns of X, each
forms the partial sums over its share of a mini-batch, one Allreduce adds them up, and
every rank applies the same update to the same theta:

    dtheta = sum over ranks r of  (1/m) sum over r's columns i of the batch  (dW, db)(i)
             + (lambd / m) W                     (the L2 term, added by rank 0 alone)

where m is the whole mini-batch's (or its sum of weights). Because theta keeps every
gradient in one flat vector, that is one Allreduce per step; the batch's cost, its count
of right predictions and a "stop" flag ride along in three more entries of the same
buffer.

What makes the result independent of P:

- Ranks hold consecutive blocks of the examples, in rank order: rank r's columns are
  the examples ``offset_r .. offset_r + m_r - 1`` of the data set all ranks make up.
- Every rank draws the same shuffle of all m examples from the same seeded generator,
  so the mini-batches are the same global sets; each rank computes on the members it
  holds.
- Dropout masks are drawn for the whole mini-batch on every rank, in the same order as
  one process draws them, and each rank keeps its own columns: example i gets the same
  mask whichever rank holds it, and the generators stay in step.

Only the order of the sums changes, so float64 results agree with one process within
rounding (1e-12 and better in the tests). Validation scores are reduced the same way.

The communicator is an ``mpi4py`` communicator (``MPI.COMM_WORLD``): mpi4py is imported
only here and only when a communicator is used. With CuPy arrays the buffer travels
through the host; a CUDA-aware MPI (or CuPy's NCCL communicator, which has the same
Allreduce) could take the device buffer directly: see docs/scale.md.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from .backend import get_xp, to_numpy
from .errors import ConfigurationError, InvalidValueError, MissingPackageError
from .metrics import accuracy, cost_and_accuracy
from .propagation import backward, forward
from .regularization import dropout_mask, l2_cost
from .step import TrainingStep


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
    if any(hp.batch_norm):
        raise ConfigurationError(
            "batch_norm does not train data-parallel yet (its batch statistics would need "
            "their own Allreduce): use one process, or batch_norm off with MPI ranks"
        )
    if hp.validation_split > 0 and not validation_given:
        raise ConfigurationError(
            "validation_split does not split data held by several ranks: pass each rank's "
            "share of validation_data instead (ldnn.parallel.share gives the shares)"
        )


class DataParallelStep(TrainingStep):
    """A :class:`~ldnn.step.TrainingStep` for this rank's share of the data set.

    Parameters
    ----------
    X, Y, activations, loss, hp, optimizer, rng, sample_weight
        As for TrainingStep, X of shape (n[0], m_r): this rank's columns only.
    comm : mpi4py communicator
        The ranks that hold the rest of the data set, consecutively in rank order.

    Attributes
    ----------
    m : int
        The number of examples of all ranks together (what an epoch's means divide by).
    offset : int
        The index of this rank's first example in the whole data set.
    """

    def __init__(self, X, Y, activations, loss, hp, optimizer, rng, sample_weight, comm):
        super().__init__(X, Y, activations, loss, hp, optimizer, rng, sample_weight)
        self.comm, self.rank = comm, comm.Get_rank()
        self.on_device = False  # each step reads its reduced cost: the ranks must agree
        counts = comm.allgather(int(X.shape[1]))
        self.offset, self.m = sum(counts[: self.rank]), sum(counts)
        if self.m == 0:
            raise InvalidValueError("X has no examples on any of the ranks (m = 0)")
        self.all_weights = None  # every example's weight: each batch's sum(w) without talk
        if sample_weight is not None:
            self.all_weights = np.concatenate(comm.allgather(to_numpy(sample_weight)))
        self.output = activations[-1].name

    def _gradient_vector(self, size: int, like):
        # dtheta, then the batch's loss sum, its right count and the stop flag: one buffer,
        # one Allreduce per step. (In float32 training the ranks' loss sums are added in
        # float32 too: the history's cost agrees with one process's to about 1e-7.)
        self.buffer = get_xp(like).zeros(size + 3, dtype=like.dtype)
        return self.buffer[:size]

    # -- agreement between ranks -------------------------------------------------------
    def any(self, flag) -> bool:
        return bool(self.comm.allreduce(bool(flag), op=_mpi().LOR))

    def all(self, flag) -> bool:
        return bool(self.comm.allreduce(bool(flag), op=_mpi().LAND))

    def maximum(self, value: float) -> float:
        return float(self.comm.allreduce(float(value), op=_mpi().MAX))

    def scores(self, parameters, validation, activations, loss):
        """The validation cost and accuracy of all ranks' shares together."""
        X_val, Y_val = validation
        n = X_val.shape[1]
        cost, right = (0.0, 0.0)
        if n:
            cost, right = cost_and_accuracy(parameters, X_val, Y_val, activations, loss)
        sums = np.array([cost * n, (right or 0.0) * n, n], dtype=np.float64)
        self.comm.Allreduce(_mpi().IN_PLACE, sums, op=_mpi().SUM)
        total = sums[2]
        return sums[0] / total, (sums[1] / total if loss.output_range else None)

    # -- the epoch and its steps -------------------------------------------------------
    def epoch(self, parameters, batches, lr, *, start=0, sums=(0.0, 0.0, 0), stop=None):
        """As :meth:`TrainingStep.epoch`, with ``batches`` indices into all ranks'
        examples; ``stop`` is polled on every rank and any rank's True stops all."""
        cost_sum, right_sum, self.clipped = sums
        first, last = self.offset, self.offset + self.X.shape[1]
        for index in range(start, len(batches)):
            batch = batches[index]
            if isinstance(batch, slice):  # the whole data set, in order
                batch = np.arange(self.m)
            batch_weight = None
            if self.all_weights is not None:
                batch_weight = float(self.all_weights[batch].sum())
            stopping = stop is not None and index + 1 < len(batches) and bool(stop())
            if batch_weight is None or batch_weight > 0:
                mine = np.flatnonzero((batch >= first) & (batch < last))
                rows = batch[mine] - first
                cost, right, stopping = self.shared_step(
                    parameters, rows, mine, len(batch), batch_weight, lr, stopping
                )
                if not math.isfinite(cost):
                    return cost_sum, right_sum, self.clipped, index, index
                cost_sum += cost * len(batch)
                right_sum += (right or 0.0) * len(batch)
            elif stop is not None:
                stopping = self.any(stopping)
            if stopping:
                return cost_sum, right_sum, self.clipped, None, index + 1
        return cost_sum, right_sum, self.clipped, None, len(batches)

    def _masks(self, batch_m: int, mine, like) -> dict | None:
        """Each hidden layer's dropout mask D[l] for the whole batch (n[l], batch_m),
        drawn in layer order as one process draws them; this rank's columns of it."""
        if self.keep_probs is None:
            return None
        masks = {}
        xp = get_xp(like)
        for l, keep in enumerate(self.keep_probs, start=1):
            if keep < 1:
                D = dropout_mask((self.hp.layer_dims[l], batch_m), keep, self.rng, like)
                masks[l] = D[:, xp.asarray(mine)] if len(mine) < batch_m else D
        return masks

    def shared_step(self, parameters, rows, mine, batch_m, batch_weight, lr, stopping):
        """One step on the batch of which this rank holds ``rows`` (its own indices;
        ``mine``: their places in the batch): (cost J, accuracy, stop) of the whole batch."""
        hp, activations, ws, loss = self.hp, self.activations, self.workspace, self.loss
        xp = get_xp(self.X)
        if xp is not np:
            rows = xp.asarray(rows)  # the shuffle is drawn on the host
        Xb, Yb = self.batch(rows)
        wb = None if self.sample_weight is None else self.sample_weight[rows]
        targets = Yb
        if hp.label_smoothing:
            targets = loss.smoothed(Yb, hp.label_smoothing, out=ws.get("Y_smoothed", Yb.shape, Yb))
        AL, caches = forward(
            Xb, parameters, activations, masks=self._masks(batch_m, mine, Xb), workspace=ws,
            check=False, batch_statistics="update", momentum=hp.batch_norm_momentum,
        )  # fmt: skip
        n, size, buffer = Xb.shape[1], self.learned.size, self.buffer
        backward(
            AL, targets, caches, activations, loss, lambd=hp.lambd if self.rank == 0 else 0.0,
            sample_weight=wb, input_gradient=False, workspace=ws, training=True,
            batch_m=batch_m, batch_weight=batch_weight,
        )  # fmt: skip
        # this rank's sum of losses (weighted) and count of right predictions
        losses = loss.per_example(AL, targets)
        buffer[size] = float(losses.sum() if wb is None else (wb * losses).sum())
        buffer[size + 1] = (accuracy(AL, Yb, self.output) or 0.0) * n if n else 0
        buffer[size + 2] = float(stopping)
        self._allreduce()
        total = batch_m if batch_weight is None else batch_weight
        cost = float(buffer[size]) / total + l2_cost(parameters, hp.lambd, batch_m)
        stopping = float(buffer[size + 2]) > 0
        if not math.isfinite(cost):
            return cost, None, stopping
        right = float(buffer[size + 1]) / batch_m if loss.output_range else None
        if hp.clip_norm is not None:
            self.clip(hp.clip_norm)
        flat = (self.learned, self.dtheta)
        self.optimizer.update(parameters, self.workspace.gradients, lr, flat=flat)
        return cost, right, stopping

    def _allreduce(self) -> None:
        MPI, buffer = _mpi(), self.buffer
        if get_xp(buffer) is np:
            self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        else:  # through the host: works with any MPI (see the module docstring)
            host = get_xp(buffer).asnumpy(buffer)
            self.comm.Allreduce(MPI.IN_PLACE, host, op=MPI.SUM)
            buffer.set(host)


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
