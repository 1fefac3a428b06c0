"""What continuing a fit needs, as plain data: where the loop stands between two steps
(:class:`LoopState`), a fit that stopped there (:class:`Unfinished`), and what a model
keeps besides its parameters (:class:`TrainingState`): the optimizer and its running
averages, the generator, the epochs trained, the history and the plateau schedule.

The loop (:mod:`ldnn.training.loop`) fills these in; model files
(:mod:`ldnn.model.continuation`) write and read them without importing the loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.hyperparameters import Hyperparameters
from ..core.optimizers import Optimizer, get_optimizer
from ..core.schedules import Plateau
from .history import History


@dataclass
class LoopState:
    """Where the loop stands between two steps.

    Attributes
    ----------
    epoch : int
        The epoch under way, or the next one when ``step`` is 0.
    step : int
        How many of that epoch's mini-batches are done.
    epoch_rng_state : dict or None
        The generator's state as the epoch began: its shuffle is drawn again from it
        (with ``step`` > 0).
    cost_sum, right_sum : float
        The epoch's sums so far (see :meth:`ldnn.training.step.TrainingStep.epoch`).
    clipped : int
        The epoch's steps so far whose gradient ``clip_norm`` shortened.
    epoch_theta : array or None
        theta as the epoch began, what the divergence guard would restore (``step`` > 0).
    best_cost, best_epoch, best_theta
        Early stopping's lowest validation cost so far, its epoch and its theta.
    swa_mean, swa_count
        Stochastic weight averaging's running mean theta_swa of the parameters at the end
        of the epochs it took in so far, and their number n (None and 0: none yet, or
        SWA off); see :mod:`ldnn.training.averaging`.
    """

    epoch: int
    step: int = 0
    epoch_rng_state: dict | None = None
    cost_sum: float = 0.0
    right_sum: float = 0.0
    clipped: int = 0
    epoch_theta: object = None
    best_cost: float = math.inf
    best_epoch: int | None = None
    best_theta: object = None
    swa_mean: object = None
    swa_count: int = 0


@dataclass
class Unfinished:
    """A fit that stopped between two steps, to be continued by a warm start.

    Attributes
    ----------
    position : LoopState
        Where its loop stood.
    history : History
        Its history so far (the continued fit appends to it).
    split_rng_state : dict or None
        The generator's state when the fit began, from which its validation split was
        drawn (drawn again, the same, when the fit continues).
    """

    position: LoopState
    history: History
    split_rng_state: dict | None = None


@dataclass
class TrainingState:
    """What a model keeps of its training besides the parameters, so that a warm start
    (after :meth:`~ldnn.DeepNetwork.save` and :meth:`~ldnn.DeepNetwork.load` too) goes
    on as if it had never stopped.

    Attributes
    ----------
    optimizer : Optimizer or None
        The optimizer and its running averages (None before the first fit, and for L-BFGS).
    generator : numpy.random.Generator or None
        The fit's generator, which a warm start goes on drawing from.
    epochs_trained : int
        Epochs completed since the parameters were initialised (warm starts add up).
    history : History or None
    unfinished : Unfinished or None
        Where a fit stopped by ``stop`` stood.
    plateau : Plateau or None
        The plateau schedule's state (its rate, best cost and count of bad epochs).
    """

    optimizer: Optimizer | None = None
    generator: np.random.Generator | None = None
    epochs_trained: int = 0
    history: History | None = None
    unfinished: Unfinished | None = None
    plateau: Plateau | None = None


def make_optimizer(hp: Hyperparameters) -> Optimizer:
    """A fresh optimizer with the settings in ``hp``."""
    adam = {"beta1": hp.beta1, "beta2": hp.beta2, "epsilon": hp.epsilon}
    settings = {
        "momentum": {"beta": hp.beta, "nesterov": hp.nesterov},
        "rmsprop": {"beta2": hp.beta2, "epsilon": hp.epsilon},
        "adam": adam,
        "adamw": {**adam, "weight_decay": hp.weight_decay},
    }.get(hp.optimizer, {})
    return get_optimizer(hp.optimizer, **settings)


def make_plateau(hp: Hyperparameters) -> Plateau | None:
    """The plateau schedule's fresh state, for ``lr_schedule`` "plateau" (else None)."""
    if hp.lr_schedule != "plateau":
        return None
    return Plateau(hp.learning_rate, hp.decay_rate, hp.lr_patience, hp.min_learning_rate)


def generator_at(state: dict) -> np.random.Generator:
    """A generator of the same kind as ``state``'s, set to that state."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
