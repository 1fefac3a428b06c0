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
from .losses import get_loss
from .metrics import accuracy
from .optimizers import Optimizer, get_optimizer, scheduled_learning_rate
from .propagation import backward, compute_cost, forward, resolve_activations

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
    order = rng.permutation(m)
    return [order[k : k + batch_size] for k in range(0, m, batch_size)]


def _copy(parameters: dict) -> dict:
    return {k: v.copy() for k, v in parameters.items()}


def _all_finite(parameters: dict) -> bool:
    return all(bool(get_xp(v).isfinite(v).all()) for v in parameters.values())


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
    AL, _ = forward(X, parameters, hp.activations)
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
) -> History:
    """Train ``parameters`` in place on X of shape (n[0], m) and Y of shape (n[L], m).

    Parameters
    ----------
    parameters : dict
        W1..WL, b1..bL, updated in place.
    X : ndarray of shape (n[0], m)
    Y : ndarray of shape (n[L], m), already prepared by the loss (one-hot, dtype)
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

    Returns
    -------
    History
    """
    epochs = hp.epochs if epochs is None else epochs
    if hp.optimizer == "lbfgs":
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
    keep_probs = hp.keep_prob if any(k < 1 for k in hp.keep_prob) else None
    m = X.shape[1]
    history = History()
    best = (math.inf, None, None)  # (validation cost, epoch, parameters)
    for epoch in range(epochs):
        lr = scheduled_learning_rate(
            hp.learning_rate, epoch, hp.lr_schedule, hp.decay_rate, hp.time_interval
        )
        last_good = _copy(parameters)
        total_cost, total_right, diverged = 0.0, 0.0, False
        for step, batch in enumerate(minibatches(m, hp.batch_size, rng)):  # noqa: B007 (used below)
            Xb, Yb = X[:, batch], Y[:, batch]
            wb = None if sample_weight is None else sample_weight[batch]
            if wb is not None and not wb.sum() > 0:
                continue  # every example of this batch has weight 0: nothing to learn
            AL, caches = forward(Xb, parameters, activations, keep_probs=keep_probs, rng=rng)
            cost = compute_cost(AL, Yb, loss, parameters, hp.lambd, sample_weight=wb)
            if not math.isfinite(cost):
                diverged = True
                break
            grads = backward(AL, Yb, caches, activations, loss, lambd=hp.lambd, sample_weight=wb)
            optimizer.update(parameters, grads, lr)
            mb = Xb.shape[1]
            total_cost += cost * mb
            right = accuracy(AL, Yb, activations[-1].name)
            total_right += (right or 0.0) * mb
        if diverged or not _all_finite(parameters):
            parameters.update(last_good)
            history.stop_reason = "diverged"
            history.stop_message = (
                f"the cost became NaN or infinite in epoch {epoch} (step {step}) with "
                f"learning_rate {lr:g}; training stopped and the parameters from the end of "
                f"epoch {epoch - 1} (the last finite ones) were kept. Try a smaller "
                "learning_rate."
            )
            warnings.warn(history.stop_message, DivergenceWarning, stacklevel=3)
            break
        record = {
            "epoch": epoch,
            "cost": total_cost / m,
            "accuracy": total_right / m if loss.output_range else None,
            "learning_rate": lr,
        }
        if validation is not None:
            record["val_cost"], record["val_accuracy"] = evaluate_cost(parameters, *validation, hp)
        history.append(record)
        if hp.early_stopping is not None and validation is not None:
            if record["val_cost"] < best[0]:
                best = (record["val_cost"], epoch, _copy(parameters))
            elif epoch - best[1] >= hp.early_stopping:
                history.stop_reason = "early stopping"
                break
        stop_requests = [callback(epoch, record, parameters) for callback in callbacks]
        if any(stop_requests):
            history.stop_reason = "callback"
            break
    if hp.early_stopping is not None and best[2] is not None:
        # Restore the parameters of the epoch with the lowest validation cost.
        parameters.update(best[2])
        history.best_epoch = best[1]
    return history
