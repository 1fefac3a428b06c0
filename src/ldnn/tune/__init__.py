"""Hyperparameter search on Optuna: the search space, one trial's training, the study.

The notes separate the parameters W, b (learned by gradient descent) from the
hyperparameters (alpha, the number of layers L, the units n[l], the optimizer, ...),
which are chosen by trying. This module runs those tries on Optuna, an existing engine:

- a :class:`SearchSpace` says, per hyperparameter, a fixed value, a list of choices or a
  range; the defaults are in :data:`DEFAULT_SPACE` and a TOML file changes them; on
  data, what the file does not name is sized to the table (:mod:`ldnn.tune.sizing`)
  and the objective and label smoothing fit the data's loss;
- :func:`train_trial` trains one network for a trial, reports the validation value
  after every epoch, raises :class:`optuna.TrialPruned` when the pruner says so, stops
  early at the best epoch and at a deadline;
- :func:`open_study` opens (or joins) a study in an SQLite or PostgreSQL storage with
  heartbeats, so that a worker that dies loses only its running trial, which is failed
  and queued again by the next worker that asks for a trial;
- :func:`summary_rows` and :func:`write_plots` report a study;
- a :class:`Search` is one worker: it runs trials on the data of a configuration, for a
  number of trials or a time budget, writes the study's summary and best configuration,
  and retrains the best as a run folder for the epochs it kept.

A suggestion comes back as the ``[model]`` and ``[training]`` tables of a run's
config.toml, so the best trial is retrained by the same code as ``ldnn train``.
Optuna is imported lazily: ``import ldnn`` does not need it.
"""

from ..errors import TuneError
from .report import format_table, summary_rows, write_plots
from .search import Search
from .space import DEFAULT_SETTINGS, DEFAULT_SPACE, OBJECTIVES, PRUNERS, SearchSpace
from .study import (
    counted_trials,
    make_pruner,
    make_storage,
    need_optuna,
    open_study,
    redact,
    storage_url,
    worker_name,
)
from .trial import train_trial

__all__ = [
    "DEFAULT_SETTINGS",
    "DEFAULT_SPACE",
    "OBJECTIVES",
    "PRUNERS",
    "Search",
    "SearchSpace",
    "TuneError",
    "counted_trials",
    "format_table",
    "make_pruner",
    "make_storage",
    "need_optuna",
    "open_study",
    "redact",
    "storage_url",
    "summary_rows",
    "train_trial",
    "worker_name",
    "write_plots",
]
