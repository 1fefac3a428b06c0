"""The search space: per hyperparameter a fixed value, a list of choices or a range.

A suggestion comes back as the ``[model]`` and ``[training]`` tables of a run's
config.toml, so a trial, and the retrained best, are built by the same code as
``ldnn train`` (:func:`ldnn.config.network_from_config`).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

from ..errors import ConfigurationError
from ..io.toml import read_toml

#: The default search space. Each entry is a fixed value, a list of choices, or a range
#: ``{low, high, log}`` (integers when low and high are integers).
DEFAULT_SPACE: dict = {
    "learning_rate": {"low": 1e-4, "high": 3e-2, "log": True},
    "hidden_layers": {"low": 1, "high": 3},  # L - 1
    "units": {"low": 16, "high": 256, "log": True},  # n[l] of each hidden layer
    "activation": ["relu", "tanh", "leaky_relu"],
    "optimizer": ["adam", "rmsprop", "momentum"],
    "batch_size": [32, 64, 128, 256],
    "lambd": {"low": 1e-5, "high": 1.0, "log": True},
    "keep_prob": {"low": 0.6, "high": 1.0},
    "epochs": 30,
}

#: Settings of the search itself: the [tune] table of a space file.
DEFAULT_SETTINGS: dict = {
    "objective": "val_accuracy",  # or "val_cost"
    "pruner": "median",  # median, halving or none
    "validation_split": 0.2,  # of the training part, fixed for every trial
    "cv": 0,  # K >= 2: the objective is the mean over K folds of the training part
    "startup_trials": 5,  # trials the pruner lets finish before it compares
    "warmup_epochs": 3,  # epochs of each trial before it may be pruned
}

OBJECTIVES = {"val_accuracy": "maximize", "val_cost": "minimize"}
PRUNERS = ("median", "halving", "none")
#: Where each searched name lands in a run's config.toml.
_TABLE = {
    "activation": "model",
    "keep_prob": "model",
    "learning_rate": "training",
    "optimizer": "training",
    "batch_size": "training",
    "lambd": "training",
    "epochs": "training",
}
_INTEGER = {"hidden_layers", "units", "batch_size", "epochs"}


@dataclass
class SearchSpace:
    """What each trial may choose, and how the search runs.

    Attributes
    ----------
    space : dict
        name -> fixed value, list of choices, or {"low", "high", "log", "step"}; the names
        of :data:`DEFAULT_SPACE`.
    settings : dict
        The [tune] table: objective, pruner, validation_split, cv, startup_trials,
        warmup_epochs.
    """

    space: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_SPACE))
    settings: dict = field(default_factory=lambda: dict(DEFAULT_SETTINGS))

    @classmethod
    def from_toml(cls, path: str | os.PathLike | None) -> SearchSpace:
        """The defaults, changed by the [space] and [tune] tables of a TOML file."""
        result = cls()
        if path is None:
            return result
        data = read_toml(path, "search space file")
        unknown = set(data) - {"space", "tune"}
        if unknown:
            raise ConfigurationError(
                f"{path}: unknown table(s) {sorted(unknown)}; tables: space, tune"
            )
        for table, known, target in (
            ("space", DEFAULT_SPACE, result.space),
            ("tune", DEFAULT_SETTINGS, result.settings),
        ):
            for key, value in data.get(table, {}).items():
                if key not in known:
                    raise ConfigurationError(
                        f"{path}: unknown key {key!r} in [{table}]; keys: {', '.join(known)}"
                    )
                target[key] = value
        result.check(str(path))
        return result

    def check(self, origin: str = "search space") -> None:
        """Raise ConfigurationError for a malformed entry, naming it."""
        for name, spec in self.space.items():
            if isinstance(spec, dict):
                if set(spec) - {"low", "high", "log", "step"} or not {"low", "high"} <= set(spec):
                    raise ConfigurationError(
                        f"{origin}: range {name!r} needs low and high (and optionally log, "
                        f"step), got {spec!r}"
                    )
                low, high = spec["low"], spec["high"]
                if not (isinstance(low, int | float) and isinstance(high, int | float)):
                    raise ConfigurationError(f"{origin}: {name!r} low/high must be numbers")
                if low > high or (spec.get("log") and low <= 0):
                    raise ConfigurationError(
                        f"{origin}: range {name!r} must have 0 < low <= high for log, "
                        f"low <= high otherwise; got low={low}, high={high}"
                    )
            elif isinstance(spec, list) and not spec:
                raise ConfigurationError(f"{origin}: the choices for {name!r} are empty")
        objective, pruner = self.settings["objective"], self.settings["pruner"]
        if objective not in OBJECTIVES:
            raise ConfigurationError(
                f"{origin}: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}"
            )
        if pruner not in PRUNERS:
            raise ConfigurationError(
                f"{origin}: pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}"
            )
        split = self.settings["validation_split"]
        if not isinstance(split, int | float) or not 0 < split < 1:
            raise ConfigurationError(f"{origin}: validation_split must lie in (0, 1), got {split}")
        cv = self.settings["cv"]
        if isinstance(cv, bool) or not isinstance(cv, int) or cv == 1 or cv < 0:
            raise ConfigurationError(
                f"{origin}: cv must be 0 (one validation part) or a number of folds >= 2, "
                f"got {cv!r}"
            )

    @property
    def direction(self) -> str:
        return OBJECTIVES[self.settings["objective"]]

    def suggest(self, trial) -> dict:
        """Draw one configuration for ``trial``.

        Returns
        -------
        dict
            ``{"model": {...}, "training": {...}}``: tables to merge into a run's config,
            with ``layers`` = [n1, ..., n[L-1]].
        """
        pick = lambda name: _suggest(trial, name, self.space[name])  # noqa: E731
        depth = pick("hidden_layers")
        config = {"model": {"layers": [_suggest(trial, f"n{l}", self.space["units"])
                                       for l in range(1, depth + 1)]},
                  "training": {}}  # fmt: skip
        for name, table in _TABLE.items():
            value = pick(name)
            config[table][name] = float(value) if name == "keep_prob" else value
        return config

    def config_of(self, params: dict) -> dict:
        """The configuration tables of a finished trial's ``params`` (fixed values added)."""
        values = {
            name: spec for name, spec in self.space.items() if not isinstance(spec, dict | list)
        }
        values.update(params)
        depth = values["hidden_layers"]
        config = {
            "model": {"layers": [int(values[f"n{l}"]) for l in range(1, depth + 1)]},
            "training": {},
        }
        for name, table in _TABLE.items():
            config[table][name] = float(values[name]) if name == "keep_prob" else values[name]
        return config


def _suggest(trial, name: str, spec):
    """One value for ``name``: fixed, categorical or a (log-)uniform range."""
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    if not isinstance(spec, dict):
        return spec
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if name in _INTEGER or name.startswith("n") and name[1:].isdigit():
        return trial.suggest_int(name, int(low), int(high), log=log)
    step = spec.get("step")
    return trial.suggest_float(name, float(low), float(high), log=log, step=step)
