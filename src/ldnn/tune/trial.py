"""One trial: train a network, report the validation value after every epoch, stop when
Optuna's pruner judges the trial unpromising or the search's time is up, and keep the
best epoch."""

from __future__ import annotations

import math
import time
import warnings
from typing import NamedTuple

import numpy as np

from ..errors import TuneError
from .study import need_optuna


class Trained(NamedTuple):
    """What one training of a trial gave: the objective at the kept epoch (the best
    one, with early stopping), the epochs up to and including it, the epochs run, the
    seconds an epoch took, and whether the search's time ran out before the end."""

    value: float
    kept_epochs: int
    epochs_run: int
    seconds_per_epoch: float
    out_of_time: bool


def objective_value(record: dict, objective: str, spread: float | None = None) -> float:
    """The value of ``objective`` in an epoch's ``record``.

    val_r2 is 1 - SS_res / SS_tot over every output together, from the validation cost
    of mean squared error, J = SS_res / 2m: R^2 = 1 - 2 J / ``spread``, where
    ``spread`` = SS_tot / m is the sum over the outputs of the validation targets'
    variances (:func:`target_spread`).
    """
    if objective == "val_r2":
        return 1.0 - 2.0 * float(record["val_cost"]) / spread
    value = record[objective]
    if value is None:
        raise TuneError(f"this network's epochs record no {objective}")
    return float(value)


def target_spread(Y_val) -> float:
    """SS_tot / m of the validation targets Y_val (n[L], m): the sum of the outputs'
    variances (the smallest positive float when they are all constant)."""
    Y = np.asarray(Y_val, dtype=np.float64).reshape(-1, np.shape(Y_val)[-1])
    return max(float(Y.var(axis=1).sum()), np.finfo(np.float64).tiny)


def train_trial(
    trial,
    network,
    X,
    Y,
    validation: tuple,
    objective: str,
    *,
    sample_weight=None,
    prune: bool = True,
    deadline: float | None = None,
) -> Trained:
    """Train ``network`` for ``trial``; return the objective at the kept epoch.

    After every epoch the value of ``objective`` (val_accuracy, val_cost or val_r2) is
    reported to Optuna as the trial's intermediate value at that epoch; when the pruner
    judges the trial unpromising against the other trials at the same epoch, training
    stops and :class:`optuna.TrialPruned` is raised. With ``prune=False`` nothing is
    reported (the later folds of a cross-validation). With early stopping in the
    network's hyperparameters, training stops once the validation cost has not improved
    for that many epochs, and the epoch with the lowest one is restored: its value is
    the trial's. At ``deadline`` (a :func:`time.monotonic` time) training stops after
    the epoch under way, and the best epoch so far is kept.

    Parameters
    ----------
    trial : optuna.Trial
    network : DeepNetwork
    X : ndarray of shape (n[0], m), Y : ndarray of shape (n[L], m)
    validation : (X_val, Y_val)
    objective : str
    sample_weight : ndarray of shape (m,), optional
    deadline : float, optional

    Returns
    -------
    Trained
    """
    optuna = need_optuna()
    pruned, cut = [], []
    spread = target_spread(validation[1]) if objective == "val_r2" else None

    def report(epoch: int, record: dict, parameters: dict) -> bool:
        if prune:
            trial.report(objective_value(record, objective, spread), epoch)
            if trial.should_prune():
                pruned.append(epoch)
                return True  # stops training; raised below, outside the training loop
        if deadline is not None and time.monotonic() >= deadline:
            cut.append(epoch)
            return True
        return False

    started = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # divergence is reported as a failed trial below
        history = network.fit(
            X, Y, validation_data=validation, callbacks=[report], sample_weight=sample_weight
        )
    seconds = time.perf_counter() - started
    trial.set_user_attr("epochs_run", len(history))
    if pruned:
        raise optuna.TrialPruned(f"pruned after epoch {pruned[0]}")
    if history.stop_reason == "diverged" or not len(history):
        raise TuneError(f"trial {trial.number} diverged: {history.stop_message}")
    rows = history.rows()
    kept = len(rows) if history.best_epoch is None else history.best_epoch - rows[0]["epoch"] + 1
    record = rows[kept - 1]
    for key in ("val_cost", "val_accuracy"):
        if record.get(key) is not None:
            trial.set_user_attr(key, float(record[key]))
    value = objective_value(record, objective, spread)
    if not math.isfinite(value):
        raise TuneError(f"trial {trial.number}: the validation value is {value}")
    return Trained(value, kept, len(rows), seconds / len(rows), bool(cut))
