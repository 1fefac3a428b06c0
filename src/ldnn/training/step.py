"""One optimisation step per mini-batch (forward, backward, the update), and one epoch of
them: the one step body and the one epoch loop, on a CPU or a GPU, in one process or on
MPI ranks.

What varies is given to the step as two small objects: the ranks (:mod:`ldnn.training.ranks`:
which examples of a batch this process holds, and how the processes add up), and how an
epoch's sums are kept (:mod:`ldnn.training.tally`: host floats, or device accumulators
read once an epoch). The formulas are those of :mod:`ldnn.core.propagation` and
:mod:`ldnn.core.optimizers`; a :class:`~ldnn.core.workspace.Workspace` lends them the same
arrays at every step, and the parameters and gradients are views into two flat vectors,
so that each update formula is one call.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..base.backend import get_xp, to_numpy
from ..core.flat import pack, split_views
from ..core.losses import example_weights, one_hot
from ..core.metrics import cost_and_accuracy, right_predictions
from ..core.optimizers import clip_by_global_norm
from ..core.parameters import layer_of, names_of
from ..core.propagation import backward, forward
from ..core.regularization import dropout_masks, penalty_cost
from ..core.workspace import Workspace
from ..data.compact import CompactX
from .ranks import ONE_PROCESS
from .tally import DeviceTally, HostTally


@runtime_checkable
class RowSource(Protocol):
    """Examples that read their own rows (one example per row), such as a file streamed
    from disk (:mod:`ldnn.data.stream`): a mini-batch is gathered by asking for it."""

    def gather_rows(self, index, out): ...


class TrainingStep:
    """The step for X (n[0], m_r) and Y (n[L], m_r), or class labels Y (m_r,): this
    process's m_r examples of the m that all ranks hold together.

    Parameters
    ----------
    X, Y : the training data, already prepared by the loss
    activations : tuple of L resolved Activation
    loss : Loss
    hp : Hyperparameters
    optimizer : Optimizer
    rng : numpy.random.Generator
        Draws the dropout masks.
    sample_weight : array of shape (m_r,), optional
    ranks : Ranks
        The processes training together (default: this one alone).

    Attributes
    ----------
    m : int
        The number of examples of all ranks together (what an epoch's means divide by).
    device_sums : bool
        Whether an epoch's sums stay on a device until its end (:mod:`ldnn.training.tally`).
    """

    def __init__(
        self, X, Y, activations, loss, hp, optimizer, rng, sample_weight=None, ranks=ONE_PROCESS
    ):
        self.activations, self.loss, self.hp = activations, loss, hp
        self.optimizer, self.rng, self.ranks = optimizer, rng, ranks
        self.keep_probs = hp.keep_prob if any(k < 1 for k in hp.keep_prob) else None
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.m = ranks.examples(X.shape[1])[1]
        # Every example's weight on the host, so that a batch's sum needs no talk.
        self.all_weights = None if sample_weight is None else ranks.gather(to_numpy(sample_weight))
        # A mini-batch is a set of examples, i.e. columns of X (n[0], m). Gathering
        # columns is fast when each is contiguous in memory: X.T C-contiguous, which is
        # what X = rows.T gives for data stored one example per row. Otherwise copy once.
        # Class labels (m,) are gathered as they are.
        # A table's categories (a CompactX) keep their examples as rows already.
        self.categories = isinstance(X, CompactX)
        self.XT = X if self.categories else _example_major(X)
        self.YT = Y if Y.ndim == 1 else _example_major(Y)
        # Asked once: a protocol's isinstance costs tens of microseconds.
        self.streamed = isinstance(self.XT, RowSource), isinstance(self.YT, RowSource)
        # A GPU's steps keep the epoch's sums on the device, unless the ranks read each
        # step's sums on the host anyway.
        self.device_sums = get_xp(X) is not np and not ranks.sums_on_host

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
        self.dtheta = self.ranks.gradient_vector(size, self.theta)
        shapes = {"d" + key: parameters[key].shape for key in names}
        self.workspace = Workspace(gradients=split_views(self.dtheta, shapes))
        # Where each layer's gradients start in dtheta (E1, W1, b1, ..., WL, bL): on MPI
        # ranks, backward says when a layer is done and its part of the sum may start.
        starts, offset = {}, 0
        for key in names:
            starts.setdefault(layer_of(key), offset)
            offset += parameters[key].size
        self.on_layer = (lambda l: self.ranks.layer_done(starts[l])) if self.ranks.overlap else None

    def scores(self, parameters, validation, activations, loss):
        """The validation part's (cost, accuracy), of all ranks' shares together: no
        dropout, no L2 term."""
        X_val, Y_val = validation
        n = X_val.shape[1]
        found = (0.0, 0.0 if loss.output_range else None)
        if n:
            found = cost_and_accuracy(parameters, X_val, Y_val, activations, loss)
        return self.ranks.mean(found, n)

    # -- the epoch -------------------------------------------------------------------------
    def epoch(self, parameters, batches, lr, *, start=0, sums=(0.0, 0.0, 0), stop=None):
        """Train on each batch in turn, from batch ``start`` on.

        ``batches`` index the examples of all ranks; ``sums`` carries an interrupted
        epoch's sums on; ``stop``, polled before every step but the last, ends the epoch
        after that step when it returns True (on any rank: every rank stops).

        Returns
        -------
        (cost_sum, right_sum, clipped, failed, done)
            The sum of batch cost times batch size, the number predicted right, the steps
            whose gradient was clipped, the index of the step whose cost was not finite
            (or None), and the steps done so far.
        """
        xp = get_xp(self.X)
        tally = DeviceTally(sums, start, len(batches), xp) if self.device_sums else HostTally(sums)
        shares = [self.ranks.share_of(batch) for batch in batches[start:]]
        rows = _on_device([rows for rows, _ in shares], xp)
        done = len(batches)
        for index in range(start, len(batches)):
            stopping = stop is not None and index + 1 < len(batches) and bool(stop())
            weights = self.example_weights(batches[index], rows[index - start])
            if weights is None:  # a batch whose weights are all 0 teaches nothing
                stopping = stop is not None and self.ranks.any(stopping)
            else:
                places = shares[index - start][1]
                cost, accuracy, stopping = self.gradient(
                    parameters, rows[index - start], places, weights, stopping
                )
                if not tally.add(index, cost, accuracy, weights.m):
                    break  # a host tally read a cost that is not finite: no update
                tally.count_clip(self.update(parameters, lr))
            if stopping:
                done = index + 1
                break
        return tally.result(done)

    def example_weights(self, batch, rows):
        """Each example's weight in the batch's sums (None when they are all 0)."""
        batch_m = self.m if isinstance(batch, slice) else len(batch)
        if self.sample_weight is None:
            return example_weights(batch_m)
        total = float(self.all_weights[batch].sum())
        if not total > 0:
            return None
        w = self.sample_weight[rows]
        return example_weights(batch_m, w, total=total, dtype=self.X.dtype)

    # -- the step ------------------------------------------------------------------------
    def gradient(self, parameters, rows, places, weights, stopping):
        """dtheta for the mini-batch of which this process holds ``rows`` (its own
        indices; ``places``: theirs in the batch), added up over the ranks; returns the
        batch's cost J and accuracy before the update, and whether any rank stops."""
        hp, activations, ws = self.hp, self.activations, self.workspace
        Xb, Yb = self.batch(rows)
        targets = Yb
        if hp.label_smoothing:  # the cost and the gradients see the smoothed Y
            out = ws.get("Y_smoothed", Yb.shape, Yb)
            targets = self.loss.smoothed(Yb, hp.label_smoothing, out=out)
        masks = None
        if self.keep_probs is not None:
            masks = dropout_masks(
                hp.layer_dims,
                weights.m,
                self.keep_probs,
                self.rng,
                Xb,
                workspace=ws,
                columns=places,
            )
        AL, caches = forward(
            Xb,
            parameters,
            activations,
            masks=masks,
            workspace=ws,
            in_place=True,
            check=False,
            batch_statistics="update",
            momentum=hp.batch_norm_momentum,
            batch=self.ranks.batch(weights.m),  # on MPI ranks: every rank's share
        )
        backward(
            AL,
            targets,
            caches,
            activations,
            self.loss,
            weights=weights,
            lambd=hp.lambd if self.ranks.lead else 0.0,  # the penalties: added once
            l1=hp.l1 if self.ranks.lead else 0.0,
            input_gradient=False,
            workspace=ws,
            in_place=True,
            on_layer=self.on_layer,
        )
        w = None if self.sample_weight is None else self.sample_weight[rows]
        loss_sum, right, stopping = self.ranks.add_up(
            self.dtheta,
            (
                self.loss.loss_sum(AL, targets, w),
                right_predictions(AL, Yb, activations[-1].name),
                stopping,
            ),
        )
        # J = (1/m) sum_i L_i (or sum_i w_i L_i / sum_i w_i) + (lambd / 2m) sum_l ||W[l]||^2
        #     + (l1 / m) sum_l ||W[l]||_1
        cost = loss_sum / weights.total + penalty_cost(parameters, hp.lambd, hp.l1, weights.m)
        return cost, None if right is None else right / weights.m, bool(stopping)

    def update(self, parameters, lr):
        """Clip dtheta if asked, then the optimizer's step on theta; returns whether the
        clip shortened dtheta (a 0-d array on a device: nothing waits for it)."""
        clipped = False
        if self.hp.clip_norm is not None:
            clipped = clip_by_global_norm(self.dtheta, self.hp.clip_norm)
        grads = self.workspace.gradients
        self.optimizer.update(parameters, grads, lr, flat=(self.learned, self.dtheta))
        return clipped

    def batch(self, rows):
        """X[:, rows] and Y[:, rows], gathered into reused (n, batch) arrays."""
        if isinstance(rows, slice):
            Xb, Yb = self.X[:, rows], self.Y[..., rows]
        else:
            if self.categories:
                Xb = self._gather_categories(rows)
            else:
                Xb = self._gather("X_batch", self.XT, rows, self.streamed[0]).T
            Yb = self._gather("Y_batch", self.YT, rows, self.streamed[1]).T
        if Yb.ndim == 1:  # class labels: their one-hot (n[L], batch), made in place
            out = self.workspace.get("Y_one_hot", (self.hp.layer_dims[-1], Yb.size), Xb)
            Yb = one_hot(Yb, self.hp.layer_dims[-1], Xb.dtype, out=out)
        return Xb, Yb

    def _gather_categories(self, rows):
        """X[:, rows] of a table's categories (a CompactX): its numbers and codes gathered
        into reused arrays."""
        X, ws = self.X, self.workspace
        numbers = ws.get("X_numbers", (len(rows), X.numbers.shape[1]), X.numbers)
        codes = ws.get("X_codes", (len(rows), X.codes.shape[1]), X.codes)
        return X.take(rows, out=(numbers, codes))

    def _gather(self, name, data, rows, streamed: bool):
        """data[rows] (rows: examples) in a reused array; ``streamed`` data read their own."""
        out = self.workspace.get(name, (len(rows), *data.shape[1:]), data)
        if streamed:
            data.gather_rows(rows, out=out)
        elif get_xp(data) is np:
            # NumPy's take with mode="raise" (its default) first writes into a temporary
            # copy of the batch; the indices are valid, so "clip" changes nothing else.
            np.take(data, rows, axis=0, out=out, mode="clip")
        else:  # CuPy's take has no mode and writes straight into out
            get_xp(data).take(data, rows, axis=0, out=out)
        return out


def _on_device(rows: list, xp) -> list:
    """The epoch's index arrays on ``xp``'s device, copied in one go: one transfer of the
    shuffle instead of one per batch (slices and NumPy's arrays stay as they are)."""
    if xp is np or not rows or isinstance(rows[0], slice):
        return rows
    order = xp.asarray(np.concatenate(rows))
    ends = np.cumsum([len(r) for r in rows])
    return [order[end - len(r) : end] for r, end in zip(rows, ends, strict=True)]


def _example_major(A):
    """A.T as a C-contiguous (m, n) array: a view when A is Fortran-ordered (or rows
    streamed from a file), else a copy."""
    return A.T if A.T.flags.c_contiguous else get_xp(A).ascontiguousarray(A.T)
