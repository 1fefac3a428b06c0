"""Parameter updates and learning-rate schedules, as in the course (Improving Deep
Neural Networks, week 2).

For each parameter P in W1, b1, ..., WL, bL with gradient dP and learning rate alpha:

gd        P = P - alpha dP
momentum  v = beta v + (1 - beta) dP;                      P = P - alpha v
rmsprop   s = beta2 s + (1 - beta2) dP^2;                  P = P - alpha dP / (sqrt(s) + eps)
adam      v = beta1 v + (1 - beta1) dP;  v_hat = v / (1 - beta1^t)
          s = beta2 s + (1 - beta2) dP^2; s_hat = s / (1 - beta2^t)
          P = P - alpha v_hat / (sqrt(s_hat) + eps)

State is named per parameter like the course's dicts: ``state["v"]["dW1"]``.
Updates happen in place, so the parameter arrays keep their identity and dtype.
Mini-batch SGD is ``gd`` with a batch size: batching is the training loop's job.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigurationError


class Optimizer:
    """Base class: ``update`` applies one step to ``parameters`` in place."""

    name = ""

    def __init__(self):
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def _buffer(self, kind: str, key: str, like):
        slot = self.state.setdefault(kind, {})
        if key not in slot:
            slot[key] = like * 0
        return slot[key]

    def update(self, parameters: dict, grads: dict, learning_rate: float) -> None:
        """One step: parameters[P] -= learning_rate * (direction from grads["dP"])."""
        self.t += 1
        for key, P in parameters.items():
            self.step(key, P, grads["d" + key], learning_rate)

    def step(self, key: str, P, dP, learning_rate: float) -> None:
        raise NotImplementedError

    def config(self) -> dict:
        """The settings that rebuild this optimizer with :func:`get_optimizer`."""
        return {"name": self.name}


class GradientDescent(Optimizer):
    name = "gd"

    def step(self, key, P, dP, learning_rate):
        P -= learning_rate * dP


class Momentum(Optimizer):
    name = "momentum"

    def __init__(self, beta: float = 0.9):
        super().__init__()
        self.beta = beta

    def step(self, key, P, dP, learning_rate):
        v = self._buffer("v", "d" + key, P)
        v *= self.beta
        v += (1 - self.beta) * dP
        P -= learning_rate * v

    def config(self):
        return {"name": self.name, "beta": self.beta}


class RMSprop(Optimizer):
    name = "rmsprop"

    def __init__(self, beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__()
        self.beta2, self.epsilon = beta2, epsilon

    def step(self, key, P, dP, learning_rate):
        s = self._buffer("s", "d" + key, P)
        s *= self.beta2
        s += (1 - self.beta2) * (dP * dP)
        P -= learning_rate * dP / (s**0.5 + self.epsilon)

    def config(self):
        return {"name": self.name, "beta2": self.beta2, "epsilon": self.epsilon}


class Adam(Optimizer):
    name = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8):
        super().__init__()
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def step(self, key, P, dP, learning_rate):
        v = self._buffer("v", "d" + key, P)
        s = self._buffer("s", "d" + key, P)
        v *= self.beta1
        v += (1 - self.beta1) * dP
        s *= self.beta2
        s += (1 - self.beta2) * (dP * dP)
        # Bias correction: v and s start at 0, so early averages are too small by the
        # factor (1 - beta^t).
        v_hat = v / (1 - self.beta1**self.t)
        s_hat = s / (1 - self.beta2**self.t)
        P -= learning_rate * v_hat / (s_hat**0.5 + self.epsilon)

    def config(self):
        return {
            "name": self.name,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "epsilon": self.epsilon,
        }


_OPTIMIZERS = {
    "gd": GradientDescent,
    "sgd": GradientDescent,
    "momentum": Momentum,
    "rmsprop": RMSprop,
    "adam": Adam,
}
#: Optimizers that need SciPy and do their own loop over the whole batch.
EXTERNAL_OPTIMIZERS = ("lbfgs",)


def available_optimizers() -> list[str]:
    return sorted([*_OPTIMIZERS, *EXTERNAL_OPTIMIZERS])


def get_optimizer(name: str | Optimizer, **settings) -> Optimizer:
    """An optimizer by name, e.g. ``get_optimizer("adam", beta1=0.9)``."""
    if isinstance(name, Optimizer):
        return name
    cls = _OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise ConfigurationError(
            f"unknown optimizer {name!r}; valid names: {', '.join(available_optimizers())}"
        )
    try:
        return cls(**settings)
    except TypeError as error:
        raise ConfigurationError(f"optimizer {name!r}: {error}") from None


SCHEDULES = ("constant", "inverse_time", "exponential")


def scheduled_learning_rate(
    learning_rate0: float,
    epoch: int,
    schedule: str = "constant",
    decay_rate: float = 0.0,
    time_interval: int = 1,
) -> float:
    """alpha for a 0-based ``epoch``.

    constant      alpha = alpha0
    inverse_time  alpha = alpha0 / (1 + decay_rate * floor(epoch / time_interval))
                  (the course's ``schedule_lr_decay``; time_interval = 1 is ``update_lr``)
    exponential   alpha = alpha0 * decay_rate ** floor(epoch / time_interval)
    """
    if schedule == "constant":
        return learning_rate0
    steps = math.floor(epoch / time_interval)
    if schedule == "inverse_time":
        return learning_rate0 / (1 + decay_rate * steps)
    if schedule == "exponential":
        return learning_rate0 * decay_rate**steps
    raise ConfigurationError(
        f"unknown lr schedule {schedule!r}; valid names: {', '.join(SCHEDULES)}"
    )
