"""The training loop: epochs of mini-batches, a history, callbacks, early stopping and a
divergence guard. It works on a parameters dict in place and knows nothing of files.

Each epoch is the same short sequence of named steps (:func:`train`): the learning rate
of the epoch, a snapshot for the divergence guard, the shuffled mini-batches, one
:class:`~ldnn.step.TrainingStep` per batch, the epoch's record, the callbacks, and the
early-stopping rule.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from .backend import get_xp
from .errors import DivergenceWarning
from .history import Callback, History, run_callbacks
from .hyperparameters import Hyperparameters
from .losses import get_loss
from .metrics import cost_and_accuracy
from .optimizers import Optimizer, get_optimizer, scheduled_learning_rate
from .propagation import resolve_activations
from .step import TrainingStep


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


def make_optimizer(hp: Hyperparameters) -> Optimizer:
    """A fresh optimizer with the settings in ``hp``."""
    settings = {
        "momentum": {"beta": hp.beta},
        "rmsprop": {"beta2": hp.beta2, "epsilon": hp.epsilon},
        "adam": {"beta1": hp.beta1, "beta2": hp.beta2, "epsilon": hp.epsilon},
    }.get(hp.optimizer, {})
    return get_optimizer(hp.optimizer, **settings)


class DivergenceGuard:
    """Keeps theta as it was at the start of the epoch, and puts it back when the epoch
    ends with a NaN or infinite cost or parameters."""

    def __init__(self, theta):
        self.theta = theta
        self.last_good = get_xp(theta).empty_like(theta)

    def remember(self) -> None:
        get_xp(self.theta).copyto(self.last_good, self.theta)

    def diverged(self, failed_step: int | None) -> bool:
        """Whether the epoch diverged; if so theta is restored."""
        theta = self.theta
        # min and max are NaN if any entry is NaN and +-inf if any is infinite.
        finite = math.isfinite(float(theta.min())) and math.isfinite(float(theta.max()))
        if failed_step is None and finite:
            return False
        get_xp(theta).copyto(theta, self.last_good)
        return True


def divergence_message(epoch: int, start_epoch: int, step: int, lr: float) -> str:
    kept = f"the end of epoch {epoch - 1}" if epoch > start_epoch else "the start"
    return (
        f"the cost became NaN or infinite in epoch {epoch} (step {step}) with "
        f"learning_rate {lr:g}; training stopped and the parameters from {kept} "
        "(the last finite ones) were kept. Try a smaller learning_rate."
    )


class EarlyStopping:
    """Stop once ``patience`` epochs pass without a lower validation cost, and restore
    the parameters of the epoch with the lowest one."""

    def __init__(self, patience: int, theta):
        self.patience, self.theta = patience, theta
        self.best_cost, self.best_epoch, self.best_theta = math.inf, None, None

    def should_stop(self, epoch: int, val_cost: float) -> bool:
        if val_cost < self.best_cost:
            self.best_cost, self.best_epoch = val_cost, epoch
            if self.best_theta is None:
                self.best_theta = self.theta.copy()
            else:
                get_xp(self.theta).copyto(self.best_theta, self.theta)
            return False
        return self.best_epoch is None or epoch - self.best_epoch >= self.patience

    def restore(self) -> int | None:
        """Put the best epoch's parameters back; return that epoch (None if none)."""
        if self.best_theta is not None:
            get_xp(self.theta).copyto(self.theta, self.best_theta)
        return self.best_epoch


def epoch_record(epoch, cost_sum, right_sum, m, lr, loss, parameters, validation, activations):
    """The History's row for an epoch: the mean batch cost and accuracy, the learning rate,
    and the validation cost and accuracy (no dropout, no L2 term) when there is one."""
    record = {
        "epoch": epoch,
        "cost": cost_sum / m,
        "accuracy": right_sum / m if loss.output_range else None,
        "learning_rate": lr,
    }
    if validation is not None:
        record["val_cost"], record["val_accuracy"] = cost_and_accuracy(
            parameters, *validation, activations, loss
        )
    return record


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
    """Train ``parameters`` in place on X of shape (n[0], m) and Y of shape (n[L], m)
    with gradient descent or one of its variants (every optimizer but L-BFGS).

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
        Prepared like X and Y (Y_val of shape (n[L], m_val)); scored after every epoch.
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
    activations = resolve_activations(hp.activations, hp.L)
    loss = get_loss(hp.loss)
    optimizer = make_optimizer(hp) if optimizer is None else optimizer
    step = TrainingStep(X, Y, activations, loss, hp, optimizer, rng, sample_weight)
    step.pack(parameters)
    guard = DivergenceGuard(step.theta)
    stopper = None
    if hp.early_stopping is not None and validation is not None:
        stopper = EarlyStopping(hp.early_stopping, step.theta)
    history = History()
    m = X.shape[1]
    # Overflow to inf/NaN is detected by the divergence guard; NumPy's own warnings about
    # it would only bury that one clear message.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(start_epoch, start_epoch + epochs):
            lr = scheduled_learning_rate(
                hp.learning_rate, epoch, hp.lr_schedule, hp.decay_rate, hp.time_interval
            )
            guard.remember()
            batches = minibatches(m, hp.batch_size, rng)
            cost_sum, right_sum, failed_step = step.epoch(parameters, batches, lr)
            if guard.diverged(failed_step):
                last_step = len(batches) - 1 if failed_step is None else failed_step
                history.stop_reason = "diverged"
                history.stop_message = divergence_message(epoch, start_epoch, last_step, lr)
                # stacklevel: the warning points at the caller of DeepNetwork.fit.
                warnings.warn(history.stop_message, DivergenceWarning, stacklevel=4)
                break
            record = epoch_record(
                epoch, cost_sum, right_sum, m, lr, loss, parameters, validation, activations
            )
            history.append(record)
            if run_callbacks(callbacks, epoch, record, parameters):
                history.stop_reason = "callback"
                break
            if stopper is not None and stopper.should_stop(epoch, record["val_cost"]):
                history.stop_reason = "early stopping"
                break
    if stopper is not None:
        history.best_epoch = stopper.restore()
    return history
