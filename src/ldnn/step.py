"""One optimisation step per mini-batch: forward, cost, backward, update.

A :class:`TrainingStep` keeps a :class:`~ldnn.workspace.Workspace` so that Z[l], A[l],
dZ[l], dW[l], ... are written into the same arrays at every step, makes the parameters
and gradients views into two flat vectors so that each update formula is one call, and
gathers each mini-batch into a reused array. The formulas are those of
:mod:`ldnn.propagation` (``backward(..., training=True)``) and :mod:`ldnn.optimizers`.
"""

from __future__ import annotations

import math

import numpy as np

from .backend import get_xp, to_numpy
from .flat import pack, split_views
from .losses import one_hot
from .metrics import accuracy, cost_and_accuracy
from .parameters import names_of
from .propagation import backward, compute_cost, forward
from .workspace import Workspace


class TrainingStep:
    """The step for X (n[0], m) and Y (n[L], m), or class labels Y (m,).

    Parameters
    ----------
    X, Y : the training data, already prepared by the loss
    activations : tuple of L resolved Activation
    loss : Loss
    hp : Hyperparameters
    optimizer : Optimizer
    rng : numpy.random.Generator
        Draws the dropout masks.
    sample_weight : ndarray of shape (m,), optional
    """

    def __init__(self, X, Y, activations, loss, hp, optimizer, rng, sample_weight):
        self.activations, self.loss, self.hp = activations, loss, hp
        self.optimizer, self.rng, self.sample_weight = optimizer, rng, sample_weight
        self.keep_probs = hp.keep_prob if any(k < 1 for k in hp.keep_prob) else None
        self.clipped = 0  # steps whose gradient clip_norm shortened
        self.X, self.Y = X, Y
        self.m = X.shape[1]  # the examples an epoch's means divide by
        self.n_out = hp.layer_dims[-1]
        # A mini-batch is a set of examples, i.e. columns of X (n[0], m). Gathering
        # columns is fast when each is contiguous in memory: X.T C-contiguous, which is
        # what X = rows.T gives for data stored one example per row. Otherwise copy once.
        # Class labels (m,) are gathered as they are.
        self.XT = _example_major(X)
        self.YT = Y if Y.ndim == 1 else _example_major(Y)
        # On a GPU the step never waits for the device: costs, accuracies and clip
        # counts stay device arrays, read once an epoch (see _epoch_on_device).
        self.on_device = get_xp(X) is not np
        self.host_weights = None if sample_weight is None else to_numpy(sample_weight)

    def pack(self, parameters: dict) -> None:
        """Make the parameters views into one vector theta and give backward a vector
        dtheta to write the gradients into, so the update is one call per formula.

        theta holds the learned parameters, then batch norm's running statistics (which
        training updates too, and snapshots with the rest); the optimizer steps along
        ``learned``, its first entries, where dtheta lies.
        """
        self.theta = pack(parameters)
        names = names_of(parameters)[0]
        size = sum(parameters[k].size for k in names)
        self.learned = self.theta[:size]
        self.dtheta = self._gradient_vector(size, self.theta)
        shapes = {"d" + key: parameters[key].shape for key in names}
        self.workspace = Workspace(gradients=split_views(self.dtheta, shapes))

    def _gradient_vector(self, size: int, like):
        """The vector dtheta (size,) that backward writes the gradients into."""
        return get_xp(like).empty(size, dtype=like.dtype)

    # What the ranks of data-parallel training (ldnn.parallel) agree on; one process
    # agrees with itself.
    def any(self, flag) -> bool:
        return bool(flag)

    def all(self, flag) -> bool:
        return bool(flag)

    def maximum(self, value: float) -> float:
        return value

    def scores(self, parameters, validation, activations, loss):
        """The validation part's (cost, accuracy): no dropout, no L2 term."""
        return cost_and_accuracy(parameters, *validation, activations, loss)

    def batch(self, index):
        """X[:, index] and Y[:, index], gathered into reused (n, batch) arrays."""
        if isinstance(index, slice):
            Xb, Yb = self.X[:, index], self.Y[..., index]
        else:
            xp = get_xp(self.XT)
            Xb = self._gather("X_batch", self.XT, index, xp).T
            Yb = self._gather("Y_batch", self.YT, index, xp).T
        if Yb.ndim == 1:  # class labels: their one-hot (n[L], batch), made in place
            out = self.workspace.get("Y_one_hot", (self.n_out, Yb.size), Xb)
            Yb = one_hot(Yb, self.n_out, Xb.dtype, out=out)
        return Xb, Yb

    def _gather(self, name, data, index, xp):
        """data[index] (rows: examples) in a reused array."""
        rows = self.workspace.get(name, (len(index), *data.shape[1:]), data)
        if hasattr(data, "gather_rows"):  # a data source that reads its own batches
            data.gather_rows(index, out=rows)
        else:
            # NumPy's take with mode="raise" (its default) first writes into a temporary
            # copy of the batch; the indices are valid, so "clip" changes nothing else.
            # (CuPy's take has no mode and writes straight into out.)
            clip = {"mode": "clip"} if xp is np else {}
            xp.take(data, index, axis=0, out=rows, **clip)
        return rows

    def epoch(self, parameters, batches, lr, *, start=0, sums=(0.0, 0.0, 0), stop=None):
        """Train on each batch in turn, from batch ``start`` on.

        ``sums`` carries an interrupted epoch's sums on; ``stop``, polled after every
        step, ends the epoch early when it returns True (the step under way finishes).

        Returns
        -------
        (cost_sum, right_sum, clipped, failed, done)
            The sum of batch cost times batch size, the number predicted right, the steps
            whose gradient was clipped, the index of the step whose cost was not finite
            (or None), and the steps done so far.
        """
        if self.on_device:
            return self._epoch_on_device(parameters, batches, lr, start, sums, stop)
        cost_sum, right_sum, self.clipped = sums
        for index in range(start, len(batches)):
            batch = batches[index]
            wb = None if self.sample_weight is None else self.sample_weight[batch]
            if wb is None or wb.sum() > 0:  # a batch whose weights are all 0 teaches nothing
                Xb, Yb = self.batch(batch)
                cost, right = self(parameters, Xb, Yb, wb, lr)
                if not math.isfinite(cost):
                    return cost_sum, right_sum, self.clipped, index, index
                cost_sum += cost * Xb.shape[1]
                right_sum += (right or 0.0) * Xb.shape[1]
            if stop is not None and index + 1 < len(batches) and stop():
                return cost_sum, right_sum, self.clipped, None, index + 1
        return cost_sum, right_sum, self.clipped, None, len(batches)

    def _epoch_on_device(self, parameters, batches, lr, start, sums, stop):
        """:meth:`epoch` on a GPU, with one host read at its end instead of several per
        step: the shuffle goes to the device once, each step's cost and accuracy are
        added up there, and the first step whose cost is not finite is found at the end
        (the steps after it ran on NaN parameters; the divergence guard puts back those
        of the epoch's start, and the optimizer's state with them)."""
        xp = get_xp(self.X)
        host_cost, host_right, host_clipped = sums
        totals = xp.zeros(3, dtype=np.float64)  # the epoch's cost sum, right sum, clips
        costs = xp.zeros(len(batches), dtype=np.float64)
        self.clip_count = totals[2:3]
        device = _batches_on_device(batches, start, xp)
        done = len(batches)
        for index in range(start, len(batches)):
            batch, host_batch = device[index - start], batches[index]
            wb = None if self.sample_weight is None else self.sample_weight[batch]
            if wb is None or self.host_weights[host_batch].sum() > 0:
                Xb, Yb = self.batch(batch)
                cost, right = self(parameters, Xb, Yb, wb, lr)
                costs[index] = cost
                totals[0] += cost * Xb.shape[1]
                if right is not None:
                    totals[1] += right * Xb.shape[1]
            if stop is not None and index + 1 < len(batches) and stop():
                done = index + 1
                break
        bad = ~xp.isfinite(costs[start:done])
        first_bad = xp.argmax(bad) if done > start else xp.zeros((), dtype=np.int64)
        read = to_numpy(xp.concatenate([totals, xp.stack([bad.any(), first_bad])]))  # the read
        self.clipped = host_clipped + int(read[2])
        if read[3]:
            failed = start + int(read[4])
            return host_cost, host_right, self.clipped, failed, failed
        return host_cost + float(read[0]), host_right + float(read[1]), self.clipped, None, done

    def __call__(self, parameters, Xb, Yb, wb, lr) -> tuple[float, float | None]:
        """One step on the batch (Xb, Yb): returns its cost J and accuracy before the update."""
        hp, activations, ws = self.hp, self.activations, self.workspace
        targets = Yb
        if hp.label_smoothing:  # the cost and the gradients see the smoothed Y
            out = ws.get("Y_smoothed", Yb.shape, Yb)
            targets = self.loss.smoothed(Yb, hp.label_smoothing, out=out)
        AL, caches = forward(
            Xb,
            parameters,
            activations,
            keep_probs=self.keep_probs,
            rng=self.rng,
            workspace=ws,
            check=False,
            batch_statistics="update",
            momentum=hp.batch_norm_momentum,
        )
        host = not self.on_device
        cost = compute_cost(AL, targets, self.loss, parameters, hp.lambd, sample_weight=wb,
                            host=host)  # fmt: skip
        if host and not math.isfinite(cost):
            return cost, None
        right = accuracy(AL, Yb, activations[-1].name, host=host)
        grads = backward(
            AL,
            targets,
            caches,
            activations,
            self.loss,
            lambd=hp.lambd,
            sample_weight=wb,
            input_gradient=False,
            workspace=ws,
            training=True,
        )
        if hp.clip_norm is not None:
            self.clip(hp.clip_norm)
        self.optimizer.update(parameters, grads, lr, flat=(self.learned, self.dtheta))
        return cost, right

    def clip(self, clip_norm: float) -> None:
        """g = g clip_norm / ||g|| when ||g|| > clip_norm, for the whole gradient vector g
        (every dW[l] and db[l]): one norm of the flat dtheta, its direction kept."""
        dtheta, xp = self.dtheta, get_xp(self.dtheta)
        if self.on_device:  # the same, without reading the norm: a factor of 1 or less
            norm = xp.sqrt(xp.dot(dtheta, dtheta).astype(np.float64))
            dtheta *= xp.minimum(1.0, clip_norm / norm).astype(dtheta.dtype)
            self.clip_count += norm > clip_norm
            return
        norm = math.sqrt(float(xp.dot(dtheta, dtheta)))
        if norm > clip_norm:
            dtheta *= clip_norm / norm
            self.clipped += 1


def _batches_on_device(batches, start: int, xp) -> list:
    """The epoch's batches from ``start`` on as device index arrays, copied in one go:
    one transfer of the shuffle instead of one per batch."""
    if isinstance(batches[start], slice):
        return batches[start:]
    order = xp.asarray(np.concatenate(batches[start:]))
    ends = np.cumsum([len(b) for b in batches[start:]])
    return [order[end - len(b) : end] for b, end in zip(batches[start:], ends, strict=True)]


def _example_major(A):
    """A.T as a C-contiguous (m, n) array: a view when A is Fortran-ordered, else a copy."""
    return A.T if A.T.flags.c_contiguous else get_xp(A).ascontiguousarray(A.T)
