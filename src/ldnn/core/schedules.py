"""Learning-rate schedules: alpha for each epoch, the course's decays (Improving Deep
Neural Networks, week 2) and the recipes peers ship (step, cosine with warmup, reduce on
plateau). Every step of an epoch takes that epoch's rate; the history records it."""

from __future__ import annotations

import math

from ..errors import ConfigurationError

SCHEDULES = ("constant", "inverse_time", "exponential", "step", "cosine", "plateau")


def scheduled_learning_rate(
    learning_rate0: float,
    epoch: int,
    schedule: str = "constant",
    decay_rate: float = 0.0,
    time_interval: int = 1,
    *,
    epochs: int = 1,
    warmup_epochs: int = 0,
    min_learning_rate: float = 0.0,
    plateau: Plateau | None = None,
) -> float:
    """alpha for a 0-based ``epoch`` (the rate of every step of that epoch).

    constant      alpha = alpha0
    inverse_time  alpha = alpha0 / (1 + decay_rate * floor(epoch / time_interval))
                  (the course's ``schedule_lr_decay``; time_interval = 1 is ``update_lr``)
    exponential,  alpha = alpha0 * decay_rate ** floor(epoch / time_interval)
    step          (PyTorch's StepLR; exponential decay when time_interval = 1)
    cosine        alpha = a_min + (alpha0 - a_min) (1 + cos(pi t / T)) / 2, t = epoch - W
                  over T = epochs - W epochs (a_min = min_learning_rate; then a_min)
    plateau       alpha0, times decay_rate each time the validation cost has not improved
                  for more than ``lr_patience`` epochs (``plateau`` keeps that count)

    With ``warmup_epochs`` W > 0, the first W epochs ramp up linearly first:
    alpha = alpha0 (epoch + 1) / W for epoch < W.
    """
    if epoch < warmup_epochs:
        return learning_rate0 * (epoch + 1) / warmup_epochs
    if schedule == "constant":
        return learning_rate0
    steps = math.floor(epoch / time_interval)
    if schedule == "inverse_time":
        return learning_rate0 / (1 + decay_rate * steps)
    if schedule in ("exponential", "step"):
        return learning_rate0 * decay_rate**steps
    if schedule == "cosine":
        T = max(1, epochs - warmup_epochs)
        t = min(epoch - warmup_epochs, T)
        return (
            min_learning_rate
            + (learning_rate0 - min_learning_rate) * (1 + math.cos(math.pi * t / T)) / 2
        )
    if schedule == "plateau":
        return learning_rate0 if plateau is None else plateau.learning_rate
    raise ConfigurationError(
        f"unknown lr schedule {schedule!r}; valid names: {', '.join(SCHEDULES)}"
    )


class Plateau:
    """The state of the ``plateau`` schedule (PyTorch's ReduceLROnPlateau, threshold 0):
    after an epoch whose validation cost is not below the best so far, a count of such
    epochs grows; once it exceeds ``patience``, alpha = max(decay_rate alpha, a_min) and
    the count starts again.
    """

    def __init__(
        self, learning_rate: float, decay_rate: float, patience: int, min_learning_rate: float = 0.0
    ):
        self.learning_rate, self.decay_rate = learning_rate, decay_rate
        self.patience, self.min_learning_rate = patience, min_learning_rate
        self.best, self.bad_epochs = math.inf, 0

    def observe(self, val_cost: float) -> None:
        """Take an epoch's validation cost."""
        if val_cost < self.best:
            self.best, self.bad_epochs = val_cost, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.learning_rate = max(self.learning_rate * self.decay_rate, self.min_learning_rate)
            self.bad_epochs = 0

    def state(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
        }

    def set_state(self, state: dict) -> None:
        self.learning_rate, self.best = float(state["learning_rate"]), float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
