"""What the page may set, checked: each setting's kind and range, and which changes
train on (the learning rate, λ, λ₁, keep_prob, when to stop) and which start a new network.

Batch norm, the learning-rate schedule (:data:`SCHEDULE_DEFAULTS`: the schedules of
:mod:`ldnn.core.schedules` and their parameters), the validation part and early stopping
are those of ldnn's own Hyperparameters, and start a new network. Early stopping and the
plateau schedule watch the cost of the validation part that ``validation_split`` holds
out of the training part, as ``ldnn train``'s do; turning either on with no validation
part holds out :data:`VALIDATION` of it. A cosine schedule anneals α over the run's
epochs, so it needs "stop after N epochs".

An uploaded table (dataset "upload") is named by its number (``upload``) and its
``target`` column; ``drop`` lists the columns left out of its features (every other
column is one), and ``task`` is "auto" (the target's values decide, as ``ldnn train``'s
auto does), "classification" or "regression"; the output follows the task (:mod:`.upload`).
``na_values`` (markers of missing cells, such as "?") and ``decimal`` ("." or ",") say how
an upload is read, as ``ldnn train``'s ``--na-values`` and ``--decimal`` do.

A control's value that is out of range or of the wrong kind raises
:class:`~ldnn.errors.ConfigurationError` with its ``field``, which the server answers as
a 400 naming it. Settings are plain JSON values; nothing in them is ever evaluated or
used as a path.
"""

from __future__ import annotations

import math

from ..core.schedules import SCHEDULES
from ..errors import ConfigurationError
from .datasets import FEATURES, SETS, UPLOAD

HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")
OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam", "adamw")
OUTPUTS = ("sigmoid", "softmax", "linear")
#: The most layers and units a network may have: far beyond what the page draws in
#: full (it draws the first units of a wide layer and summarises the rest).
MAX_LAYERS, MAX_UNITS = 32, 4096

DEFAULTS = {
    "dataset": "xor",
    "noise": 0.1,
    "points": 400,
    "seed": 0,
    "test_split": 0.3,
    "features": ["x1", "x2"],
    "layers": [4, 4],
    "activations": ["tanh", "tanh"],
    "output": "sigmoid",
    "batch_size": 16,
    "learning_rate": 0.03,
    "lambd": 0.0,
    "l1": 0.0,
    "keep_prob": 1.0,
    "optimizer": "gd",
    "stop_after": 0,
    "batch_norm": False,
    "lr_schedule": "constant",
    "decay_rate": 0.0,
    "time_interval": 1,
    "warmup_epochs": 0,
    "min_learning_rate": 0.0,
    "lr_patience": 10,
    "validation_split": 0.0,
    "early_stopping": 0,
    "target": "",
    "upload": 0,
    "drop": [],
    "task": "auto",
    "na_values": [],
    "decimal": ".",
}
_CONSTANT = {
    "decay_rate": 0.0,
    "time_interval": 1,
    "warmup_epochs": 0,
    "min_learning_rate": 0.0,
    "lr_patience": 10,
}
#: Each schedule's parameters as choosing it sets them (those the change does not set
#: itself): a decay to notice within a few hundred epochs, cosine with a warmup.
SCHEDULE_DEFAULTS = {
    "constant": _CONSTANT,
    "inverse_time": {**_CONSTANT, "decay_rate": 1.0, "time_interval": 100},
    "exponential": {**_CONSTANT, "decay_rate": 0.99},
    "step": {**_CONSTANT, "decay_rate": 0.5, "time_interval": 100},
    "cosine": {**_CONSTANT, "warmup_epochs": 10},
    "plateau": {**_CONSTANT, "decay_rate": 0.5},
}
#: The validation part held out when early stopping or the plateau schedule is turned on
#: without one (ldnn train's default for tables).
VALIDATION = 0.2
#: An upload's tasks (``ldnn train --task``) and the most columns ``drop`` may name.
TASKS = ("auto", "classification", "regression")
MAX_COLUMNS, MAX_MARKERS = 10_000, 20
#: The settings that change training as it goes; any other change starts a new network.
LIVE = ("learning_rate", "lambd", "l1", "keep_prob", "stop_after")


def _number(field: str, value, low: float, high: float, *, low_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{field} must be a number, got {value!r}", field=field)
    if value > high or value < low or (low_open and value == low):
        bound = f"({low:g}, {high:g}]" if low_open else f"[{low:g}, {high:g}]"
        raise ConfigurationError(f"{field} must lie in {bound}, got {value!r}", field=field)
    return float(value)


def _whole(field: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(
            f"{field} must be a whole number from {low:,} to {high:,}, got {value!r}", field=field
        )
    return value


def _name(field: str, value, names) -> str:
    if value not in names:
        raise ConfigurationError(
            f"{field} must be one of {', '.join(names)}, got {value!r}", field=field
        )
    return value


def _check_one(key: str, value):
    """``value`` checked for setting ``key`` (a ConfigurationError naming it if not)."""
    if key == "dataset":
        return _name(key, value, (*SETS, UPLOAD))
    if key == "noise":
        return _number(key, value, 0.0, 1.0)
    if key == "points":
        return _whole(key, value, 20, 20_000)
    if key == "seed":
        return _whole(key, value, 0, 2**32 - 1)
    if key == "test_split":
        return _number(key, value, 0.0, 0.9)
    if key == "features":
        if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
            raise ConfigurationError(
                f"features must be a list of distinct inputs, got {value!r}", field=key
            )
        return [_name(key, v, tuple(FEATURES)) for v in value]
    if key == "layers":
        if not isinstance(value, list) or len(value) > MAX_LAYERS:
            raise ConfigurationError(
                f"layers must be a list of at most {MAX_LAYERS} unit counts, got {value!r}",
                field=key,
            )
        return [_whole(key, n, 1, MAX_UNITS) for n in value]
    if key == "activations":
        if not isinstance(value, list):
            raise ConfigurationError(f"activations must be a list, got {value!r}", field=key)
        return [_name(key, a, HIDDEN_ACTIVATIONS) for a in value]
    if key == "output":
        return _name(key, value, OUTPUTS)
    if key == "batch_size":
        return _whole(key, value, 0, 100_000)
    if key == "learning_rate":
        return _number(key, value, 0.0, 10.0, low_open=True)
    if key in ("lambd", "l1"):  # L2's lambda, L1's lambda_1
        return _number(key, value, 0.0, 100.0)
    if key == "keep_prob":
        return _number(key, value, 0.0, 1.0, low_open=True)
    if key == "optimizer":
        return _name(key, value, OPTIMIZERS)
    if key == "stop_after":
        return _whole(key, value, 0, 10_000_000)
    return _check_training(key, value)


def _check_training(key: str, value):
    """The settings of batch norm, the schedule, the validation part, early stopping and
    the upload (checked for themselves; :func:`_consistent` checks them together)."""
    if key == "batch_norm":
        if not isinstance(value, bool):
            raise ConfigurationError(f"batch_norm must be true or false, got {value!r}", field=key)
        return value
    if key == "lr_schedule":
        return _name(key, value, SCHEDULES)
    if key in ("decay_rate", "min_learning_rate"):
        return _number(key, value, 0.0, 100.0 if key == "decay_rate" else 10.0)
    if key == "time_interval":
        return _whole(key, value, 1, 1_000_000)
    if key in ("warmup_epochs", "lr_patience", "early_stopping"):
        return _whole(key, value, 0, 1_000_000)
    if key == "validation_split":
        return _number(key, value, 0.0, 0.5)
    if key == "target":  # a column of the upload (checked against it: upload.check_choice)
        if not isinstance(value, str) or len(value) > 1000:
            raise ConfigurationError(f"target must be a column's name, got {value!r}", field=key)
        return value
    if key == "upload":
        return _whole(key, value, 0, 2**31 - 1)
    if key == "drop":  # columns of the upload (checked against it: upload.check_choice)
        names_ok = isinstance(value, list) and len(value) <= MAX_COLUMNS
        if not names_ok or not all(isinstance(v, str) and len(v) <= 1000 for v in value):
            raise ConfigurationError(
                f"drop must be a list of at most {MAX_COLUMNS:,} column names, got "
                f"{str(value)[:80]}",
                field=key,
            )
        return list(dict.fromkeys(value))
    if key == "task":
        return _name(key, value, TASKS)
    if key == "na_values":  # an upload's markers of missing cells (ldnn train --na-values)
        marks_ok = isinstance(value, list) and len(value) <= MAX_MARKERS
        if not marks_ok or not all(isinstance(v, str) and 0 < len(v) <= 40 for v in value):
            raise ConfigurationError(
                f"na_values must be a list of at most {MAX_MARKERS} markers of 1 to 40 "
                f"characters, got {str(value)[:80]}",
                field=key,
            )
        return list(dict.fromkeys(value))
    if key == "decimal":  # an upload's decimal point (ldnn train --decimal)
        return _name(key, value, (".", ","))
    raise ConfigurationError(
        f"unknown setting {key!r}; settings: {', '.join(DEFAULTS)}", field=str(key)[:60]
    )


def checked(settings: dict, changes: dict) -> dict:
    """``settings`` with ``changes`` applied, each checked, and the whole made
    consistent: one activation per hidden layer (a new layer takes the last one's), and
    an output that suits the data set's task (a ConfigurationError naming "output" if
    not)."""
    if not isinstance(changes, dict):
        raise ConfigurationError("settings must be a JSON object", field="settings")
    result = dict(settings)
    for key, value in changes.items():
        result[key] = _check_one(key, value)
    if "lr_schedule" in changes:  # the schedule's own parameters, unless set with it
        defaults = SCHEDULE_DEFAULTS[result["lr_schedule"]]
        result.update({k: v for k, v in defaults.items() if k not in changes})
    _consistent(result, changes)
    hidden = result["activations"][: len(result["layers"])]
    fill = hidden[-1] if hidden else "tanh"
    result["activations"] = hidden + [fill] * (len(result["layers"]) - len(hidden))
    if result["dataset"] == UPLOAD:  # its output follows its target (upload.build_upload)
        return result
    regression = SETS[result["dataset"]].task == "regression"
    if "dataset" in changes and "output" not in changes:  # follow the set's task
        if regression:
            result["output"] = "linear"
        elif len(SETS[result["dataset"]].classes) > 2:
            result["output"] = "softmax"
        elif result["output"] == "linear":
            result["output"] = "sigmoid"
    output = result["output"]
    if regression and output != "linear":
        raise ConfigurationError(
            f"{result['dataset']} is a regression: its output is linear, not {output}",
            field="output",
        )
    if not regression and output == "linear":
        raise ConfigurationError(
            f"{result['dataset']} is a classification: its output is sigmoid or softmax",
            field="output",
        )
    if output == "sigmoid" and len(SETS[result["dataset"]].classes or ()) > 2:
        raise ConfigurationError(
            f"{result['dataset']} has {len(SETS[result['dataset']].classes)} classes: its "
            "output is softmax",
            field="output",
        )
    return result


def _consistent(result: dict, changes: dict) -> None:
    """The schedule's parameters, the validation part and early stopping checked together
    (as :class:`~ldnn.core.hyperparameters.Hyperparameters` would refuse them, but naming
    the page's control); a validation part of :data:`VALIDATION` when one is needed and
    none was asked for."""
    schedule = result["lr_schedule"]
    blame = lambda *keys: next((k for k in keys if k in changes), keys[-1])  # noqa: E731
    if schedule in ("exponential", "step", "plateau") and not 0 < result["decay_rate"] <= 1:
        raise ConfigurationError(
            f"the {schedule} schedule multiplies α by its decay rate, which must lie in "
            f"(0, 1], got {result['decay_rate']!r}",
            field="decay_rate",
        )
    if schedule == "cosine" and not result["stop_after"]:
        raise ConfigurationError(
            "a cosine schedule anneals α over the run's epochs: set stop after N epochs first",
            field=blame("stop_after", "lr_schedule"),
        )
    if schedule == "cosine" and result["min_learning_rate"] > result["learning_rate"]:
        raise ConfigurationError(
            f"the cosine schedule's floor α_min = {result['min_learning_rate']:g} is above "
            f"α = {result['learning_rate']:g}",
            field=blame("learning_rate", "min_learning_rate"),
        )
    watched = result["early_stopping"] or schedule == "plateau"
    if watched and not result["validation_split"]:
        if "validation_split" in changes:
            raise ConfigurationError(
                "early stopping and the plateau schedule watch the validation part's cost: "
                "the validation part must be more than 0",
                field="validation_split",
            )
        result["validation_split"] = VALIDATION


def resets(before: dict, after: dict) -> bool:
    """Whether going from ``before`` to ``after`` needs a new network (any change but
    those of :data:`LIVE`)."""
    return any(before[k] != after[k] for k in DEFAULTS if k not in LIVE)
