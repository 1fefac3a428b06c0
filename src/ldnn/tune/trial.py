"""One trial: train a network, report the validation value after every epoch, and stop
when Optuna's pruner judges the trial unpromising."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import TuneError
from .study import need_optuna


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
) -> float:
    """Train ``network`` for ``trial`` and return the last epoch's validation value.

    After every epoch the value of ``objective`` ("val_accuracy" or "val_cost") is
    reported to Optuna; when the pruner judges the trial unpromising against the other
    trials at the same epoch, training stops and :class:`optuna.TrialPruned` is raised.
    With ``prune=False`` nothing is reported (the later folds of a cross-validation).

    Parameters
    ----------
    trial : optuna.Trial
    network : DeepNetwork
    X : ndarray of shape (n[0], m), Y : ndarray of shape (n[L], m)
    validation : (X_val, Y_val)
    objective : str
    sample_weight : ndarray of shape (m,), optional

    Returns
    -------
    float
        The objective at the last epoch (the retrained model runs the same epochs).
    """
    optuna = need_optuna()
    pruned = []

    def report(epoch: int, record: dict, parameters: dict) -> bool:
        if not prune:
            return False
        value = record[objective]
        trial.report(float(value), epoch)
        if trial.should_prune():
            pruned.append(epoch)
            return True  # stops training; raised below, outside the training loop
        return False

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # divergence is reported as a failed trial below
        history = network.fit(
            X, Y, validation_data=validation, callbacks=[report], sample_weight=sample_weight
        )
    trial.set_user_attr("epochs_run", len(history))
    if pruned:
        raise optuna.TrialPruned(f"pruned after epoch {pruned[0]}")
    if history.stop_reason == "diverged" or not len(history):
        raise TuneError(f"trial {trial.number} diverged: {history.stop_message}")
    last = history.rows()[-1]
    for key in ("val_cost", "val_accuracy"):
        if last.get(key) is not None:
            trial.set_user_attr(key, float(last[key]))
    value = float(last[objective])
    if not math.isfinite(value):
        raise TuneError(f"trial {trial.number}: the validation value is {value}")
    return value
