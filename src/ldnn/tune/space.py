"""The search space: per hyperparameter a fixed value, a list of choices or a range.

A suggestion comes back as the ``[model]`` and ``[training]`` tables of a run's
config.toml, so a trial, and the retrained best, are built by the same code as
``ldnn train`` (:func:`ldnn.runs.config.network_from_config`).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

from ..errors import ConfigurationError
from ..io.toml import read_toml
from ..runs.config import DEFAULTS

#: The default search space. Each entry is a fixed value, a list of choices, or a range
#: ``{low, high, log}`` (integers when low and high are integers). Wide enough to reach
#: the recipes that win on real data (dropout to 0.6, wide layers, cosine schedules,
#: batch norm, label smoothing, AdamW), with epochs searched too. Any setting of a run's
#: [model] or [training] table may be named in a space file.
DEFAULT_SPACE: dict = {
    "learning_rate": {"low": 1e-4, "high": 3e-2, "log": True},
    "hidden_layers": {"low": 1, "high": 3},  # L - 1
    "units": {"low": 32, "high": 1024, "log": True},  # n[l] of each hidden layer
    "activation": ["relu", "tanh", "leaky_relu"],
    "optimizer": ["adam", "adamw", "rmsprop", "momentum"],
    "batch_size": [32, 64, 128, 256],
    "lambd": {"low": 1e-6, "high": 0.1, "log": True},
    "weight_decay": {"low": 1e-4, "high": 0.3, "log": True},  # adamw's only
    "keep_prob": {"low": 0.4, "high": 1.0},
    "batch_norm": [False, True],
    "lr_schedule": ["constant", "cosine"],
    "label_smoothing": [0.0, 0.1],
    "epochs": {"low": 30, "high": 150},
}
#: Where a new study starts: measured settings that trials 0, 1, ... try first, so that
#: even a short search begins from good models (MNIST-1D: the demo's network, 75% test,
#: and the cosine recipe of docs/recipes.md, 81%). A point the space cannot draw (a value
#: outside a range or not among the choices) is left out; fixed entries are the space's.
STARTING_POINTS: tuple[dict, ...] = (
    {
        "hidden_layers": 2,
        "units": 256,
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 0.002,
        "batch_size": 128,
        "keep_prob": 0.5,
        "lambd": 1e-6,
        "batch_norm": False,
        "lr_schedule": "constant",
        "label_smoothing": 0.0,
        "epochs": 150,
    },
    {
        "hidden_layers": 3,
        "units": 768,
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 0.003,
        "batch_size": 128,
        "keep_prob": 0.5,
        "lambd": 1e-6,
        "batch_norm": False,
        "lr_schedule": "cosine",
        "label_smoothing": 0.0,
        "epochs": 150,
    },
)
#: Settings that only one optimizer takes: drawn only in trials of that optimizer.
_ONLY_WITH = {"weight_decay": "adamw", "nesterov": "momentum"}

#: Settings of the search itself: the [tune] table of a space file.
DEFAULT_SETTINGS: dict = {
    "objective": "val_accuracy",  # or "val_cost"
    "pruner": "median",  # median, halving or none
    "validation_split": 0.2,  # of the training part, fixed for every trial
    "cv": 0,  # K >= 2: the objective is the mean over K folds of the training part
    "seeds": [],  # several: each trial trains once per seed, the objective their mean
    "startup_trials": 5,  # trials the pruner lets finish before it compares
    "warmup_epochs": 3,  # epochs of each trial before it may be pruned
}

OBJECTIVES = {"val_accuracy": "maximize", "val_cost": "minimize"}
PRUNERS = ("median", "halving", "none")
#: Where each searchable name lands in a run's config.toml: every key of its [model] and
#: [training] tables but the layer sizes (hidden_layers and units draw those) and where
#: training runs.
_TABLE = {
    **{key: "model" for key in DEFAULTS["model"] if key != "layers"},
    **{key: "training" for key in DEFAULTS["training"] if key != "device"},
}
_SHAPE = ("hidden_layers", "units")
_INTEGER = {
    "hidden_layers",
    "units",
    *(
        k
        for k, table in _TABLE.items()
        if isinstance(DEFAULTS[table][k], int) and not isinstance(DEFAULTS[table][k], bool)
    ),
}


@dataclass
class SearchSpace:
    """What each trial may choose, and how the search runs.

    Attributes
    ----------
    space : dict
        name -> fixed value, list of choices, or {"low", "high", "log", "step"}:
        hidden_layers, units, and any key of a run's [model] and [training] tables.
    settings : dict
        The [tune] table: objective, pruner, validation_split, cv, seeds,
        startup_trials, warmup_epochs.
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
            ("space", {*_SHAPE, *_TABLE}, result.space),
            ("tune", DEFAULT_SETTINGS, result.settings),
        ):
            for key, value in data.get(table, {}).items():
                if key not in known:
                    raise ConfigurationError(
                        f"{path}: unknown key {key!r} in [{table}]; keys: "
                        f"{', '.join(sorted(known))}"
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
        seeds = self.settings["seeds"]
        if (
            not isinstance(seeds, list)
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
            or len(set(seeds)) != len(seeds)
        ):
            raise ConfigurationError(
                f"{origin}: seeds must be a list of different whole numbers >= 0, got {seeds!r}"
            )
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
        depth = _suggest(trial, "hidden_layers", self.space["hidden_layers"])
        config = {
            "model": {
                "layers": [
                    _suggest(trial, f"n{l}", self.space["units"]) for l in range(1, depth + 1)
                ]
            },
            "training": {},
        }
        chosen = {}
        for name in self._settings():  # the optimizer first: it decides what else is drawn
            if name in _ONLY_WITH and chosen.get("optimizer", "") != _ONLY_WITH[name]:
                continue
            chosen[name] = _suggest(trial, name, self.space[name])
        return _tables(config, chosen)

    def starting_points(self) -> list[dict]:
        """The :data:`STARTING_POINTS` this space can draw, as trial parameters
        (``n1``, ``n2``, ... for the units), for a new study to enqueue; what the space
        fixes, or draws only with another optimizer, is left to the trial."""
        points = []
        for point in STARTING_POINTS:
            depth = range(1, point["hidden_layers"] + 1)
            values = {**point, **{f"n{l}": point["units"] for l in depth}}
            params = {}
            for name, value in values.items():
                spec = self.space.get("units" if name[:1] == "n" and name[1:].isdigit() else name)
                if name == "units" or not isinstance(spec, list | dict):
                    continue
                if name in _ONLY_WITH and point["optimizer"] != _ONLY_WITH[name]:
                    continue
                if not (
                    value in spec
                    if isinstance(spec, list)
                    else spec["low"] <= value <= spec["high"]
                ):
                    break  # outside this space: the point is left out
                params[name] = value
            else:
                points.append(params)
        return points

    def _settings(self) -> list[str]:
        names = [name for name in self.space if name not in _SHAPE]
        return sorted(names, key=lambda name: name != "optimizer")

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
        optimizer = values.get("optimizer")
        chosen = {
            name: values[name]
            for name in self._settings()
            if name in values and (name not in _ONLY_WITH or optimizer == _ONLY_WITH[name])
        }
        return _tables(config, chosen)


def _tables(config: dict, chosen: dict) -> dict:
    """The chosen values put into their config.toml tables, as config.toml's kinds."""
    for name, value in chosen.items():
        if name == "keep_prob" or isinstance(DEFAULTS[_TABLE[name]][name], float):
            value = float(value)
        config[_TABLE[name]][name] = value
    return config


def _suggest(trial, name: str, spec):
    """One value for ``name``: fixed, categorical or a (log-)uniform range."""
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    if not isinstance(spec, dict):
        return spec
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if name in _INTEGER or name[:1] == "n" and name[1:].isdigit():
        return trial.suggest_int(name, int(low), int(high), log=log)
    step = spec.get("step")
    return trial.suggest_float(name, float(low), float(high), log=log, step=step)
