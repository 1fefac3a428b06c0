"""What the page may set, checked: each setting's kind and range, and which changes
train on (the learning rate, λ, keep_prob, when to stop) and which start a new network.

An uploaded table (dataset "upload") is named by its number (``upload``) and its
``target`` column; its task and output follow the target (:mod:`.upload`).

A control's value that is out of range or of the wrong kind raises
:class:`~ldnn.errors.ConfigurationError` with its ``field``, which the server answers as
a 400 naming it. Settings are plain JSON values; nothing in them is ever evaluated or
used as a path.
"""

from __future__ import annotations

import math

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
    "keep_prob": 1.0,
    "optimizer": "gd",
    "stop_after": 0,
    "target": "",
    "upload": 0,
}
#: The settings that change training as it goes; any other change starts a new network.
LIVE = ("learning_rate", "lambd", "keep_prob", "stop_after")


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
    if key == "lambd":
        return _number(key, value, 0.0, 100.0)
    if key == "keep_prob":
        return _number(key, value, 0.0, 1.0, low_open=True)
    if key == "optimizer":
        return _name(key, value, OPTIMIZERS)
    if key == "stop_after":
        return _whole(key, value, 0, 10_000_000)
    if key == "target":  # a column of the upload (checked against it: upload.check_choice)
        if not isinstance(value, str) or len(value) > 1000:
            raise ConfigurationError(f"target must be a column's name, got {value!r}", field=key)
        return value
    if key == "upload":
        return _whole(key, value, 0, 2**31 - 1)
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


def resets(before: dict, after: dict) -> bool:
    """Whether going from ``before`` to ``after`` needs a new network (any change but
    those of :data:`LIVE`)."""
    return any(before[k] != after[k] for k in DEFAULTS if k not in LIVE)
