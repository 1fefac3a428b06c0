"""The search space: per hyperparameter a fixed value, a list of choices or a range.

A suggestion comes back as the ``[model]`` and ``[training]`` tables of a run's
config.toml, so a trial, and the retrained best, are built by the same code as
``ldnn train`` (:func:`ldnn.runs.config.network_from_config`).

A search fits its space to the data (:meth:`SearchSpace.for_data`): what a space file
does not name is sized to the table (:mod:`ldnn.tune.sizing`), label smoothing is drawn
only for a cross-entropy loss, and the objective is the validation accuracy of a
classifier or the validation R^2 of a regression.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

from ..errors import ConfigurationError
from ..io.toml import read_toml
from ..runs.config import DEFAULTS
from .sizing import patience, sized_space, sized_starting_points

#: The default search space. Each entry is a fixed value, a list of choices, or a range
#: ``{low, high, log}`` (integers when low and high are integers). Wide enough to reach
#: the recipes that win on real data (dropout to 0.4, wide layers, cosine schedules,
#: batch norm, label smoothing, AdamW). A search on data sizes the units, the batch
#: sizes and the epochs to the table (:mod:`ldnn.tune.sizing`) where a space file does
#: not name them. Any setting of a run's [model] or [training] table may be named in a
#: space file.
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
    "label_smoothing": [0.0, 0.1],  # cross-entropy's only
    "epochs": 150,  # a cap: every trial stops early at its best epoch
}
#: Where a new study starts: measured settings that trials 0, 1, ... try first, so that
#: even a short search begins from good models. Without data, MNIST-1D's: the demo's
#: network (75% test) and the cosine recipe of docs/recipes.md (81%); a search on data
#: starts from ``ldnn train``'s defaults and those two scaled to the table
#: (:func:`ldnn.tune.sizing.sized_starting_points`). A point the space cannot draw (a
#: value outside a range or not among the choices) is left out; fixed entries are the
#: space's.
STARTING_POINTS: tuple[dict, ...] = (
    {
        "layers": [256, 256],
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 0.002,
        "batch_size": 128,
        "keep_prob": 0.5,
        "lambd": 1e-6,
        "batch_norm": False,
        "lr_schedule": "constant",
        "label_smoothing": 0.0,
    },
    {
        "layers": [768, 768, 768],
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 0.003,
        "batch_size": 128,
        "keep_prob": 0.5,
        "lambd": 1e-6,
        "batch_norm": False,
        "lr_schedule": "cosine",
        "label_smoothing": 0.0,
    },
)
#: Settings that only one optimizer takes: drawn only in trials of that optimizer.
_ONLY_WITH = {"weight_decay": "adamw", "nesterov": "momentum"}

#: Settings of the search itself: the [tune] table of a space file.
DEFAULT_SETTINGS: dict = {
    "objective": "auto",  # val_accuracy for classes, val_r2 for regression; or val_cost
    "pruner": "median",  # median, halving or none
    "validation_split": 0.2,  # of the training part, fixed for every trial
    "cv": 0,  # K >= 2: the objective is the mean over K folds of the training part
    "seeds": [],  # several: each trial trains once per seed, the objective their mean
    "startup_trials": 5,  # trials the pruner lets finish before it compares
    "warmup_epochs": 3,  # epochs of each trial before it may be pruned
    "early_stopping": "auto",  # patience of every trial in epochs (0: off); auto: sized
}

#: What a trial may be judged by, and which way is better. val_r2 is the validation
#: part's R^2 (1 - SS_res / SS_tot, over all outputs together) for regression.
OBJECTIVES = {"val_accuracy": "maximize", "val_cost": "minimize", "val_r2": "maximize"}
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
        startup_trials, warmup_epochs, early_stopping.
    given : set of str
        The names a space file (or the command line) set, in either table: a search on
        data sizes the others (:meth:`for_data`).
    points : tuple of dict
        The settings a new study tries first, each with its hidden ``layers``
        (:data:`STARTING_POINTS`, or the data's after :meth:`for_data`).
    """

    space: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_SPACE))
    settings: dict = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    given: set = field(default_factory=set)
    points: tuple = STARTING_POINTS

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
                result.given.add(key)
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
        if objective != "auto" and objective not in OBJECTIVES:
            raise ConfigurationError(
                f"{origin}: objective must be auto or one of {', '.join(OBJECTIVES)}, "
                f"got {objective!r}"
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
        patience = self.settings["early_stopping"]
        if patience != "auto" and (
            isinstance(patience, bool) or not isinstance(patience, int) or patience < 0
        ):
            raise ConfigurationError(
                f"{origin}: early_stopping must be auto or a patience in epochs >= 0 "
                f"(0: off), got {patience!r}"
            )

    @property
    def direction(self) -> str:
        """maximize or minimize: the way the objective improves (once it is resolved from
        auto by :meth:`for_data`)."""
        return OBJECTIVES[self.settings["objective"]]

    def for_data(self, m: int, n0: int, *, scores, cross_entropy: bool) -> SearchSpace:
        """This space fitted to data: what it does not name (:attr:`given`) sized to m
        and n0 (:mod:`ldnn.tune.sizing`), the starting points scaled, early stopping's
        patience and the objective chosen, and label smoothing drawn only for a
        cross-entropy loss.

        Parameters
        ----------
        m : int
            The examples a trial trains on (the training part less the validation part).
        n0 : int
            The features, n[0].
        scores : collection of str
            The objectives the network's output has: val_cost, val_accuracy for classes,
            val_r2 for a regression.
        cross_entropy : bool
            Whether the network's loss is a cross-entropy (label smoothing applies).

        Raises
        ------
        ConfigurationError
            For an objective the output has not, or label smoothing named for another
            loss: refused before any trial trains.
        """
        result = copy.deepcopy(self)
        for name, value in sized_space(m, n0).items():
            if name not in self.given:
                result.space[name] = value
        result.points = sized_starting_points(m, n0)
        settings = result.settings
        if settings["early_stopping"] == "auto":
            settings["early_stopping"] = patience(_largest(result.space["epochs"]))
        if not cross_entropy:
            if "label_smoothing" in self.given and _nonzero(self.space["label_smoothing"]):
                raise ConfigurationError(
                    "search space: label_smoothing is for the cross-entropy losses of "
                    "classes; this data's network has none: remove it from the space",
                    field="label_smoothing",
                )
            result.space.pop("label_smoothing", None)
        objective = settings["objective"]
        if objective == "auto":
            preferred = ("val_accuracy", "val_r2", "val_cost")
            settings["objective"] = next(name for name in preferred if name in scores)
        elif objective not in scores:
            raise ConfigurationError(
                f"objective {objective} needs "
                + ("classes" if objective == "val_accuracy" else "a regression")
                + f"; this data's network has {', '.join(sorted(scores))}",
                field="objective",
            )
        return result

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
        """The :attr:`points` this space can draw, as trial parameters (``hidden_layers``
        and ``n1``, ``n2``, ... for the layers), for a new study to enqueue; what the
        space fixes, or draws only with another optimizer, is left to the trial."""
        points = []
        for point in self.points:
            layers = point["layers"]
            values = {name: value for name, value in point.items() if name != "layers"}
            values["hidden_layers"] = len(layers)
            values.update({f"n{l}": n for l, n in enumerate(layers, 1)})
            params = {}
            for name, value in values.items():
                spec = self.space.get("units" if name[:1] == "n" and name[1:].isdigit() else name)
                if not isinstance(spec, list | dict):
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
        # n1, n2, ... as drawn, or the space's fixed units
        units = [
            values.get(f"n{l}", values.get("units")) for l in range(1, values["hidden_layers"] + 1)
        ]
        config = {"model": {"layers": [int(n) for n in units]}, "training": {}}
        optimizer = values.get("optimizer")
        chosen = {
            name: values[name]
            for name in self._settings()
            if name in values and (name not in _ONLY_WITH or optimizer == _ONLY_WITH[name])
        }
        return _tables(config, chosen)


def _largest(spec) -> int:
    """The most epochs a space entry allows: its value, its largest choice or its high."""
    if isinstance(spec, dict):
        return int(spec["high"])
    return int(max(spec) if isinstance(spec, list) else spec)


def _nonzero(spec) -> bool:
    """Whether a space entry can draw anything but 0."""
    if isinstance(spec, dict):
        return spec["high"] > 0
    return any(spec) if isinstance(spec, list) else bool(spec)


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
