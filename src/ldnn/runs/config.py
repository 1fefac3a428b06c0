"""A run's configuration: defaults, then a preset, then a config.toml, then changes
(the command line's flags, a search trial's choices).

The configuration has three tables, as config.toml shows them:

``[data]``      source, target, features, test_split, split_seed, split (shuffle or hash)
                and split_key (a column to hash), standardize, how a table
                is read (delimiter, encoding, na_values, decimal) and prepared (drop, keep,
                impute, missing), class_weight, stream (read whole or from disk: auto, on,
                off), the limits of what a table may ask for
                (max_na_values, max_columns, max_categories, max_cell_bytes, max_memory:
                ``ldnn.data.limits``), ...
``[model]``     layers (the hidden n[l]), activation, output, loss, init, keep_prob,
                batch_norm, dtype
``[training]``  optimizer, learning_rate, epochs, batch_size, lambd, seed, ...

TOML has no "none", so ``batch_size = 0`` means full-batch gradient descent,
``early_stopping = 0`` no early stopping and ``clip_norm = 0`` no clipping; ``output``,
``loss`` and ``init`` are absent (or "auto") until resolved from the data.

Tables get a validation part and early stopping by default: ``validation_split = 0.2``
and ``early_stopping = "auto"``, a patience of :data:`AUTO_PATIENCE` epochs whenever
there is a validation part (none with ``validation_split = 0``), the best epoch's
parameters restored. Chosen by measurement on the tables of benchmarks/tables.py
(docs/benchmarks.md, "Defaults for tables").
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import NamedTuple

from ..core.hyperparameters import Hyperparameters
from ..data.datasets import Dataset
from ..data.limits import LIMITS
from ..data.preparation import prepare
from ..data.sources import load_training_data
from ..errors import ConfigurationError
from ..io.toml import read_toml
from ..model.build import network_for_dataset
from ..model.network import DeepNetwork
from ..training.averaging import AUTO_SWA_START

_FIELD_DEFAULTS = {
    f.name: f.default
    for f in dataclasses.fields(Hyperparameters)
    if f.default is not dataclasses.MISSING
}

DEFAULTS = {
    "data": {
        "source": "",
        "target": "",
        "features": [],
        "x_key": "",
        "y_key": "",
        "labels": "",
        "task": "auto",
        "test_split": 0.2,
        "split_seed": 0,
        "split": "shuffle",
        "split_key": "",
        "test_data": "",
        "standardize": True,
        "delimiter": "",
        "encoding": "",
        "na_values": [],
        "decimal": "",
        "drop": [],
        "keep": [],
        "impute": "median",
        "missing": "category",
        "min_category_count": 1,
        "class_weight": "",
        "stream": "auto",
        **{key: limit.default for key, limit in LIMITS.items()},
    },
    "model": {
        "layers": [256, 256],
        "activation": "relu",
        "output": "auto",
        "loss": "auto",
        "init": "auto",
        "keep_prob": 0.8,
        "batch_norm": False,
        "embedding_width": 0,
        "dtype": "float32",
    },
    "training": {
        **{
            k: v
            for k, v in _FIELD_DEFAULTS.items()
            if k
            not in (
                "keep_prob",
                "dtype",
                "batch_size",
                "early_stopping",
                "clip_norm",
                "batch_norm",
                "embedding_width",
                "embedding",
            )
        },
        "optimizer": "adam",
        "learning_rate": 0.001,
        "epochs": 200,
        "batch_size": 128,
        "lambd": 0.01,
        "validation_split": 0.2,
        "early_stopping": "auto",
        "swa_start": "auto",
        "ensemble": "auto",
        "clip_norm": 0.0,
    },
}
#: ensemble = "auto": this many members for a table whose training part has at most
#: AUTO_ENSEMBLE_ROWS rows (and no text column is embedded), else one network.
AUTO_ENSEMBLE, AUTO_ENSEMBLE_ROWS = 5, 10_000
#: The [training] settings of the learning-rate schedule (:mod:`ldnn.core.schedules`).
SCHEDULE_SETTINGS = (
    "lr_schedule",
    "decay_rate",
    "time_interval",
    "warmup_epochs",
    "min_learning_rate",
    "lr_patience",
)
#: early_stopping = "auto": this patience when there is a validation part.
AUTO_PATIENCE = 10

_COURSE = {
    "data": {"standardize": False},
    "model": {"activation": "relu", "output": "sigmoid", "dtype": "float64", "keep_prob": 1.0},
    "training": {
        "optimizer": "gd",
        "learning_rate": 0.0075,
        "epochs": 2500,
        "batch_size": 0,
        "lambd": 0.0,
        "seed": 1,
        "generator": "course",
        "validation_split": 0.0,
        "early_stopping": 0,
    },
}

#: The course application's two models (week 4): n_h = 7, and [n0, 20, 7, 5, 1], with
#: alpha = 0.0075, 2500 iterations of full-batch gradient descent, the course's init
#: drawn as the course draws it (np.random.seed(1)): ``ldnn.course``'s two_layer_model
#: and L_layer_model, to the printed costs and accuracies.
PRESETS = {
    "course-2layer": {
        "data": _COURSE["data"],
        "model": {**_COURSE["model"], "layers": [7], "init": "course"},
        "training": _COURSE["training"],
    },
    "course-4layer": {
        "data": _COURSE["data"],
        "model": {**_COURSE["model"], "layers": [20, 7, 5], "init": "scaled"},
        "training": _COURSE["training"],
    },
    # Chosen on MNIST-1D's validation part (benchmarks/recipes.py; docs/recipes.md):
    # the cosine schedule with warmup was the one recipe that beat the plain Adam run.
    "mnist1d-recipe": {
        "model": {"layers": [768, 768, 768], "activation": "relu", "keep_prob": 0.5},
        # trained on the whole training part for the schedule's 200 epochs, as measured
        "training": {
            "optimizer": "adam",
            "learning_rate": 0.003,
            "lr_schedule": "cosine",
            "warmup_epochs": 5,
            "epochs": 200,
            "batch_size": 128,
            "validation_split": 0.0,
            "early_stopping": 0,
            "lambd": 0.0,
        },
    },
}


def merge(config: dict, changes: dict, origin: str) -> dict:
    """``config`` updated by ``changes``; an unknown table or key names ``origin``."""
    result = copy.deepcopy(config)
    for table, values in changes.items():
        if table not in result or not isinstance(values, dict):
            raise ConfigurationError(
                f"{origin}: unknown table [{table}]; tables: {', '.join(DEFAULTS)}"
            )
        for key, value in values.items():
            if key not in DEFAULTS[table]:
                raise ConfigurationError(
                    f"{origin}: unknown key {key!r} in [{table}]; keys: "
                    f"{', '.join(DEFAULTS[table])}"
                )
            expected = _KINDS[_kind(table, key)]
            if not expected[1](value):
                raise ConfigurationError(
                    f"{origin}: [{table}] {key} must be {expected[0]}, got {value!r}"
                )
            result[table][key] = value
    return result


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _texts(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _weights(value) -> bool:
    """'' (none), 'balanced', or a table {class name: weight > 0}."""
    if isinstance(value, str):
        return value in ("", "balanced")
    return isinstance(value, dict) and all(
        isinstance(k, str) and _number(w) and w > 0 for k, w in value.items()
    )


#: What each kind of setting may hold (the ranges are the network's to check).
_KINDS = {
    "text": ("text", lambda v: isinstance(v, str)),
    "texts": ("a list of names", _texts),
    "name or names": ("a name or a list of names", lambda v: isinstance(v, str) or _texts(v)),
    "boolean": ("true or false", lambda v: isinstance(v, bool)),
    "number": ("a number", _number),
    "integer": ("a whole number", _integer),
    "seed": ("a whole number >= 0", lambda v: _integer(v) and v >= 0),
    "sizes": (
        "a list of positive whole numbers",
        lambda v: isinstance(v, list) and all(_integer(n) and n > 0 for n in v),
    ),
    "weights": ("'balanced' or a table of class = weight > 0", _weights),
    "size": (
        "a number of bytes, or text such as '512M' or '8G'",
        lambda v: _integer(v) or isinstance(v, str),
    ),
    "patience": (
        "a whole number of epochs >= 0 (0: off) or 'auto'",
        lambda v: v == "auto" or (_integer(v) and v >= 0),
    ),
    "members": (
        "a whole number of networks >= 1 or 'auto'",
        lambda v: v == "auto" or (_integer(v) and v >= 1),
    ),
    "average start": (
        "0 (off), a fraction in (0, 1) of the epochs, a whole epoch >= 1 or 'auto'",
        lambda v: v == "auto" or (_number(v) and v >= 0),
    ),
    "switches": (
        "true, false or a list of them (one per hidden layer)",
        lambda v: (
            isinstance(v, bool) or (isinstance(v, list) and all(isinstance(b, bool) for b in v))
        ),
    ),
    "probabilities": (
        "a number or a list of numbers",
        lambda v: _number(v) or (isinstance(v, list) and all(_number(k) for k in v)),
    ),
}


def _kind(table: str, key: str) -> str:
    special = {
        "features": "texts",
        "na_values": "texts",
        "drop": "texts",
        "keep": "texts",
        "class_weight": "weights",
        **{key: "size" for key, limit in LIMITS.items() if limit.size},
        "standardize": "boolean",
        "split_seed": "seed",
        "seed": "seed",
        "layers": "sizes",
        "activation": "name or names",
        "keep_prob": "probabilities",
        "batch_norm": "switches",
        "early_stopping": "patience",
        "swa_start": "average start",
        "ensemble": "members",
    }
    if key in special:
        return special[key]
    default = DEFAULTS[table][key]
    if isinstance(default, str):
        return "text"
    if isinstance(default, bool):
        return "boolean"
    return "integer" if _integer(default) else "number"


def preset(name: str) -> dict:
    if name not in PRESETS:
        raise ConfigurationError(f"unknown --preset {name!r}; presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def network_from_config(config: dict, dataset) -> DeepNetwork:
    """The network the [model] and [training] tables describe, for ``dataset``'s features
    and targets (its output layer from :mod:`ldnn.model.build`, unless [model] sets one).

    Raises
    ------
    ConfigurationError, InvalidValueError, ShapeError
        For a value the network refuses; the message names the setting.
    """
    model, training = config["model"], config["training"]
    layers = model["layers"]
    if not isinstance(layers, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in layers
    ):
        raise ConfigurationError(f"layers must be a list of positive integers, got {layers!r}")
    auto = lambda key: None if model[key] in ("auto", "", None) else model[key]  # noqa: E731
    settings = dict(training)
    del settings["ensemble"]  # how many networks a run trains, not one network's setting
    # TOML has no "none": 0 stands for full-batch training and for no early stopping.
    settings["batch_size"] = settings["batch_size"] or None
    settings["early_stopping"] = patience(training) or None
    settings["swa_start"] = swa_start(training, model)
    settings["clip_norm"] = settings["clip_norm"] or None
    keep_prob = model["keep_prob"]
    try:
        network = network_for_dataset(
            dataset,
            layers,
            activations=model["activation"],
            output=auto("output"),
            loss=auto("loss"),
            init=auto("init"),
            keep_prob=keep_prob if isinstance(keep_prob, float | int) else list(keep_prob),
            batch_norm=model["batch_norm"],
            embedding_width=model["embedding_width"] or None,  # TOML's 0: none
            dtype=model["dtype"],
            **settings,
        )
    except TypeError as error:
        raise ConfigurationError(f"invalid hyperparameter value: {error}") from None
    network.embed_columns_of(dataset.X_train)
    return network


def patience(training: dict) -> int:
    """The [training] table's early-stopping patience in epochs (0: none): "auto" is
    :data:`AUTO_PATIENCE` with a validation part and none without."""
    value = training["early_stopping"]
    if value == "auto":
        return AUTO_PATIENCE if training["validation_split"] else 0
    return value


def swa_start(training: dict, model: dict) -> float:
    """The [training] table's first averaged epoch (0: no averaging): "auto" is
    :data:`AUTO_SWA_START` when early stopping watches a validation part and SWA applies
    to the network (no batch norm, whose running statistics belong to one epoch's W; a
    mini-batch optimizer; more than one epoch), 0 otherwise. Chosen by measurement
    (docs/recipes.md, "Stochastic weight averaging")."""
    value = training["swa_start"]
    if value != "auto":
        return value
    batch_norm = model["batch_norm"]
    applies = (
        patience(training) > 0
        and not (any(batch_norm) if isinstance(batch_norm, list) else batch_norm)
        and training["optimizer"] != "lbfgs"
        and training["epochs"] > AUTO_SWA_START
    )
    return AUTO_SWA_START if applies else 0


class Built(NamedTuple):
    """What a configuration describes, made: the data as read (``raw``), prepared
    (``dataset``, with ``info``, what a model remembers of them) and the network."""

    raw: Dataset
    dataset: Dataset
    info: dict
    network: DeepNetwork


def data_and_network(config: dict) -> Built:
    """The data the [data] table names, read and prepared (the preparation fitted on the
    training part only), and the network the [model] and [training] tables describe for
    them: what ``ldnn train``, a search's trials and ``ldnn gradcheck`` start from."""
    raw = load_training_data(config["data"])
    dataset, info = prepare(raw, config["data"]["standardize"])
    return Built(raw, dataset, info, network_from_config(config, dataset))


def ensemble_size(training: dict, dataset, hp: Hyperparameters) -> int:
    """The [training] table's number of networks a run trains and averages (see
    :mod:`ldnn.model.ensemble`): "auto" is :data:`AUTO_ENSEMBLE` for a table (CSV or
    Parquet) whose training part has at most :data:`AUTO_ENSEMBLE_ROWS` rows, where K fits
    cost little and their average gained most (docs/benchmarks.md, "Defaults for
    tables"), and 1 for arrays, larger tables or a network that embeds a text column (its
    members' factors of W[1] do not add up to one)."""
    value = training["ensemble"]
    if value != "auto":
        if value > 1 and hp.embedding:
            raise ConfigurationError(
                f"ensemble = {value}: a network that embeds text columns (embedding_width) "
                "cannot average its members into one network; use ensemble = 1",
                field="ensemble",
            )
        return value
    table = dataset.encoding is not None  # what was measured: tables, not arrays
    small = dataset.m_train <= AUTO_ENSEMBLE_ROWS
    return AUTO_ENSEMBLE if table and small and not hp.embedding else 1


def resolved(config: dict, hp: Hyperparameters, ensemble: int = 1) -> dict:
    """The configuration with every choice made explicit from the built hyperparameters
    (and the run's number of networks)."""
    result = copy.deepcopy(config)
    values = hp.to_dict()
    result["model"].update(
        layers=list(hp.layer_dims[1:-1]),
        activation=list(hp.activations[:-1]) or "relu",
        output=hp.activations[-1],
        loss=hp.loss,
        init=hp.init,
        keep_prob=list(hp.keep_prob) or 1.0,
        batch_norm=list(hp.batch_norm) if any(hp.batch_norm) else False,
        embedding_width=hp.embedding_width or 0,
        dtype=hp.dtype,
    )
    for key in result["training"]:
        result["training"][key] = values[key] if key != "ensemble" else ensemble
    result["training"]["batch_size"] = hp.batch_size or 0
    result["training"]["early_stopping"] = hp.early_stopping or 0
    result["training"]["clip_norm"] = hp.clip_norm or 0.0
    return result


def from_file(path, base: dict = DEFAULTS) -> dict:
    """``base`` updated by the tables of the config.toml at ``path``.

    A run folder's config.toml names its data as the user gave it (``data/t.csv``),
    relative to the directory the run was made in; from another directory, such a path
    is found through the run's provenance.json, which records that directory.
    """
    config = merge(base, read_toml(path), f"config file {str(path)!r}")
    record = Path(path).parent / "provenance.json"
    if record.is_file():
        try:
            made_in = json.loads(record.read_text()).get("cwd")
        except (ValueError, OSError, AttributeError):
            made_in = None
        for key in ("source", "labels", "test_data"):
            value = config["data"].get(key)
            there = Path(made_in or ".") / (value or "")
            if value and made_in and not Path(value).exists() and there.exists():
                config["data"][key] = str(there)
    return config


def with_absolute_paths(config: dict) -> dict:
    """The configuration with [data] source and labels made absolute where they name
    existing files, so that a run's config.toml reruns from any directory."""
    result = copy.deepcopy(config)
    for key in ("source", "labels", "test_data"):
        value = result["data"][key]
        if value and Path(value).exists():
            result["data"][key] = str(Path(value).resolve())
    return result
