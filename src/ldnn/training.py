"""The training loop: epochs of mini-batches, a history, callbacks, early stopping and
a divergence guard. It works on a parameters dict in place and knows nothing of files."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .backend import get_xp
from .errors import DivergenceWarning
from .hyperparameters import Hyperparameters
from .losses import get_loss, one_hot
from .metrics import accuracy
from .optimizers import Optimizer, get_optimizer, scheduled_learning_rate
from .propagation import backward, compute_cost, forward, forward_in_blocks, resolve_activations
from .vectorize import pack, split_views
from .workspace import Workspace

#: A callback gets (epoch, record, parameters) after each epoch; returning True stops.
Callback = Callable[[int, dict, dict], bool | None]


@dataclass
class History:
    """Per-epoch record of training.

    Attributes
    ----------
    epoch, cost, accuracy, val_cost, val_accuracy, learning_rate : lists
        One entry per completed epoch. ``cost`` is the regularised training cost J
        (mean over the epoch's mini-batches, weighted by their sizes; with full-batch
        gradient descent, J before that iteration's update, as the course prints it).
        Accuracies are None for regression; validation entries None without validation.
    stop_reason : str
        "completed", "early stopping", "diverged" or "callback".
    best_epoch : int or None
        With early stopping, the epoch whose parameters were restored.
    """

    epoch: list = field(default_factory=list)
    cost: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_cost: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    learning_rate: list = field(default_factory=list)
    stop_reason: str = "completed"
    stop_message: str = ""
    best_epoch: int | None = None

    COLUMNS = ("epoch", "cost", "accuracy", "val_cost", "val_accuracy", "learning_rate")

    def append(self, record: dict) -> None:
        for name in self.COLUMNS:
            getattr(self, name).append(record.get(name))

    def rows(self) -> list[dict]:
        return [
            dict(zip(self.COLUMNS, values, strict=True))
            for values in zip(*self.columns(), strict=True)
        ]

    def columns(self) -> list[list]:
        return [getattr(self, name) for name in self.COLUMNS]

    def __len__(self) -> int:
        return len(self.epoch)


class PrintCost:
    """Callback printing "Cost after epoch i: J" every ``every`` epochs and at the last."""

    def __init__(self, every: int = 100, total: int | None = None, print_fn=print):
        self.every, self.total, self.print_fn = every, total, print_fn

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        last = self.total is not None and epoch == self.total - 1
        if epoch % self.every == 0 or last:
            line = f"Cost after epoch {epoch}: {record['cost']:.6f}"
            if record.get("val_cost") is not None:
                line += f"  (validation {record['val_cost']:.6f})"
            self.print_fn(line)


def minibatches(m: int, batch_size: int | None, rng: np.random.Generator):
    """Column index arrays for one epoch: shuffled, the last partial batch kept.

    With batch_size None (or >= m) the one batch is all m examples in order.
    """
    if batch_size is None or batch_size >= m:
        return [slice(None)]
    # rng.permutation(m) draws this same order; shuffling a 32-bit arange in place
    # holds it in half the memory.
    order = np.arange(m, dtype=np.int32 if m < 2**31 else np.int64)
    rng.shuffle(order)
    return [order[k : k + batch_size] for k in range(0, m, batch_size)]


def _finite(theta) -> bool:
    # min and max are NaN if any entry is NaN and +-inf if any is infinite.
    return math.isfinite(float(theta.min())) and math.isfinite(float(theta.max()))


def make_optimizer(hp: Hyperparameters) -> Optimizer:
    """A fresh optimizer with the settings in ``hp``."""
    settings = {
        "momentum": {"beta": hp.beta},
        "rmsprop": {"beta2": hp.beta2, "epsilon": hp.epsilon},
        "adam": {"beta1": hp.beta1, "beta2": hp.beta2, "epsilon": hp.epsilon},
    }.get(hp.optimizer, {})
    return get_optimizer(hp.optimizer, **settings)


def evaluate_cost(parameters, X, Y, hp: Hyperparameters) -> tuple[float, float | None]:
    """(data cost, accuracy) of the parameters on (X, Y), no dropout, no L2 term."""
    AL = forward_in_blocks(X, parameters, hp.activations)
    return compute_cost(AL, Y, hp.loss), accuracy(AL, Y, hp.activations[-1])


def train(
    parameters: dict,
    X,
    Y,
    hp: Hyperparameters,
    *,
    rng: np.random.Generator,
    validation: tuple | None = None,
    callbacks: Sequence[Callback] = (),
    sample_weight=None,
    optimizer: Optimizer | None = None,
    epochs: int | None = None,
    start_epoch: int = 0,
) -> History:
    """Train ``parameters`` in place on X of shape (n[0], m) and Y of shape (n[L], m).

    Parameters
    ----------
    parameters : dict
        W1..WL, b1..bL, updated in place.
    X : ndarray of shape (n[0], m)
    Y : ndarray of shape (n[L], m), already prepared by the loss (one-hot, dtype), or for
        categorical cross-entropy integer class labels of shape (m,), from which each
        mini-batch's one-hot Y is made when it is needed
    hp : Hyperparameters
    rng : numpy.random.Generator
        Shuffles the mini-batches and draws the dropout masks.
    validation : (X_val, Y_val), optional
    callbacks : sequence of Callback
    sample_weight : ndarray of shape (m,), optional
        Each mini-batch's cost is sum_i w_i L_i / sum_i w_i over its examples.
    optimizer : Optimizer, optional
        Continue with this optimizer's state (warm start); default a new one from ``hp``.
    epochs : int, optional
        Overrides ``hp.epochs``.
    start_epoch : int
        The number of the first epoch (a warm start continues the count and the
        learning-rate schedule).

    Returns
    -------
    History
    """
    epochs = hp.epochs if epochs is None else epochs
    n_out = hp.layer_dims[-1]
    if validation is not None and validation[1].ndim == 1:
        validation = (validation[0], one_hot(validation[1], n_out, validation[0].dtype))
    if hp.optimizer == "lbfgs":
        if Y.ndim == 1:
            Y = one_hot(Y, n_out, X.dtype)
        from .lbfgs import train_lbfgs

        return train_lbfgs(
            parameters,
            X,
            Y,
            hp,
            validation=validation,
            callbacks=callbacks,
            epochs=epochs,
            sample_weight=sample_weight,
        )
    activations = resolve_activations(hp.activations, hp.L)
    loss = get_loss(hp.loss)
    if optimizer is None:
        optimizer = make_optimizer(hp)
    step = _Step(X, Y, activations, loss, hp, optimizer, rng, sample_weight)
    step.pack(parameters)
    m = X.shape[1]
    history = History()
    xp = get_xp(step.theta)
    last_good = xp.empty_like(step.theta)  # theta at the end of the last finite epoch
    best_cost, best_epoch, best_theta = math.inf, None, None  # for early stopping
    # Overflow to inf/NaN is detected below and handled by the divergence guard; NumPy's
    # own warnings about it would only bury that one clear message.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(start_epoch, start_epoch + epochs):
            lr = scheduled_learning_rate(
                hp.learning_rate, epoch, hp.lr_schedule, hp.decay_rate, hp.time_interval
            )
            xp.copyto(last_good, step.theta)
            batches = minibatches(m, hp.batch_size, rng)
            cost_sum, right_sum, failed_step = step.epoch(parameters, batches, lr)
            if failed_step is not None or not _finite(step.theta):
                xp.copyto(step.theta, last_good)
                history.stop_reason = "diverged"
                kept = f"the end of epoch {epoch - 1}" if epoch > start_epoch else "the start"
                history.stop_message = (
                    f"the cost became NaN or infinite in epoch {epoch} (step "
                    f"{failed_step if failed_step is not None else len(batches) - 1}) with "
                    f"learning_rate {lr:g}; training stopped and the parameters from {kept} "
                    "(the last finite ones) were kept. Try a smaller learning_rate."
                )
                warnings.warn(history.stop_message, DivergenceWarning, stacklevel=3)
                break
            record = {
                "epoch": epoch,
                "cost": cost_sum / m,
                "accuracy": right_sum / m if loss.output_range else None,
                "learning_rate": lr,
            }
            if validation is not None:
                record["val_cost"], record["val_accuracy"] = evaluate_cost(
                    parameters, *validation, hp
                )
            history.append(record)
            stop_requests = [callback(epoch, record, parameters) for callback in callbacks]
            if any(stop_requests):
                history.stop_reason = "callback"
                break
            if hp.early_stopping is not None and validation is not None:
                if record["val_cost"] < best_cost:
                    best_cost, best_epoch = record["val_cost"], epoch
                    if best_theta is None:
                        best_theta = step.theta.copy()
                    else:
                        xp.copyto(best_theta, step.theta)
                elif best_epoch is None or epoch - best_epoch >= hp.early_stopping:
                    history.stop_reason = "early stopping"
                    break
    if best_theta is not None:
        # Early stopping: restore the parameters of the epoch with the lowest validation cost.
        xp.copyto(step.theta, best_theta)
        history.best_epoch = best_epoch
    return history


class _Step:
    """One optimisation step per mini-batch: forward, cost, backward, update.

    It keeps a :class:`Workspace` so that Z[l], A[l], dZ[l], dW[l], ... are written into
    the same arrays at every step, and gathers each mini-batch into a reused array.
    """

    def __init__(self, X, Y, activations, loss, hp, optimizer, rng, sample_weight):
        self.activations, self.loss, self.hp = activations, loss, hp
        self.optimizer, self.rng, self.sample_weight = optimizer, rng, sample_weight
        self.keep_probs = hp.keep_prob if any(k < 1 for k in hp.keep_prob) else None
        self.X, self.Y = X, Y
        self.n_out = hp.layer_dims[-1]
        # A mini-batch is a set of examples, i.e. columns of X (n[0], m). Gathering
        # columns is fast when each is contiguous in memory: X.T C-contiguous, which is
        # what X = rows.T gives for data stored one example per row. Otherwise copy once.
        # Class labels (m,) are gathered as they are.
        self.XT = _example_major(X)
        self.YT = Y if Y.ndim == 1 else _example_major(Y)

    def pack(self, parameters: dict) -> None:
        """Make the parameters views into one vector theta and give backward a vector
        dtheta to write the gradients into, so the update is one call per formula."""
        self.theta = pack(parameters)
        self.dtheta = get_xp(self.theta).empty_like(self.theta)
        shapes = {"d" + key: P.shape for key, P in parameters.items()}
        self.workspace = Workspace(gradients=split_views(self.dtheta, shapes))

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

    def epoch(self, parameters, batches, lr) -> tuple[float, float, int | None]:
        """Train on each batch in turn.

        Returns (sum of batch cost times batch size, number predicted right, the index
        of the step whose cost was not finite or None).
        """
        cost_sum = right_sum = 0.0
        xp = get_xp(self.X)
        for index, batch in enumerate(batches):
            if xp is not np and not isinstance(batch, slice):
                batch = xp.asarray(batch)  # the shuffle is drawn on the host
            wb = None if self.sample_weight is None else self.sample_weight[batch]
            if wb is not None and not wb.sum() > 0:
                continue  # every example of this batch has weight 0: nothing to learn
            Xb, Yb = self.batch(batch)
            cost, right = self(parameters, Xb, Yb, wb, lr)
            if not math.isfinite(cost):
                return cost_sum, right_sum, index
            cost_sum += cost * Xb.shape[1]
            right_sum += (right or 0.0) * Xb.shape[1]
        return cost_sum, right_sum, None

    def __call__(self, parameters, Xb, Yb, wb, lr) -> tuple[float, float | None]:
        hp, activations, ws = self.hp, self.activations, self.workspace
        AL, caches = forward(
            Xb,
            parameters,
            activations,
            keep_probs=self.keep_probs,
            rng=self.rng,
            workspace=ws,
            check=False,
        )
        cost = compute_cost(AL, Yb, self.loss, parameters, hp.lambd, sample_weight=wb)
        if not math.isfinite(cost):
            return cost, None
        right = accuracy(AL, Yb, activations[-1].name)
        grads = backward(
            AL,
            Yb,
            caches,
            activations,
            self.loss,
            lambd=hp.lambd,
            sample_weight=wb,
            input_gradient=False,
            workspace=ws,
        )
        self.optimizer.update(parameters, grads, lr, flat=(self.theta, self.dtheta))
        return cost, right


def _example_major(A):
    """A.T as a C-contiguous (m, n) array: a view when A is Fortran-ordered, else a copy."""
    return A.T if A.T.flags.c_contiguous else get_xp(A).ascontiguousarray(A.T)
