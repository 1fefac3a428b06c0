"""The run a page's settings describe, as ``ldnn train`` would make it: the data as a
CSV file, the configuration's three tables, and the data and network made from them by
``ldnn train``'s own path (:func:`ldnn.runs.config.data_and_network`).

The playground trains on what this module builds, so the exported data.csv and
config.toml are not a description of the session but its very input: ``ldnn train
data.csv --config config.toml`` reads the same rows, splits them into the same training
and test parts, standardises them with the same statistics and starts from the same
parameters.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.preparation import Preparation
from ..data.table_source import split_rows
from ..errors import ConfigurationError
from ..io import atomic_write_text, csv_text
from ..runs.config import DEFAULTS as RUN_DEFAULTS
from ..runs.config import SCHEDULE_SETTINGS, data_and_network, resolved
from .datasets import FEATURES, SETS, features, make_points
from .plane import InputPlane

DATA_FILE = "data.csv"
#: The learning-rate schedule's settings, named as Hyperparameters and [training] name them.
SCHEDULE = SCHEDULE_SETTINGS
TARGET = "y"
#: The playground trains in float64: its small products are as fast, and its numbers
#: are the same at any BLAS thread count.
DTYPE = "float64"


def data_table(settings: dict) -> tuple[str, np.ndarray, np.ndarray]:
    """(CSV text, P, Y): the set's points P (2, m) and targets Y (1, m), and the CSV
    of every engineered input and the target, one row per point (floats written
    exactly; class labels as whole numbers)."""
    name = settings["dataset"]
    P, Y = make_points(name, settings["points"], settings["noise"], settings["seed"])
    X = features(P, list(FEATURES))
    classes = SETS[name].task == "classification"
    targets = [int(y) if classes else float(y) for y in Y[0]]
    rows = (list(map(float, column)) + [y] for column, y in zip(X.T, targets, strict=True))
    return csv_text([*FEATURES, TARGET], rows), P, Y


def run_config(settings: dict, source: str, epochs: int, table: dict | None = None) -> dict:
    """The [data], [model] and [training] tables of ``ldnn train`` for these settings:
    batch norm, the learning-rate schedule, the validation part (``validation_split`` of
    the training part, 0: none) and early stopping as the page sets them; no clipping
    and no weight averaging. ``table`` is what an uploaded table sets instead of a
    generated set: its target, its features ([]: every other column), the columns it
    leaves out (``drop``), its task and output ("auto": from the target)."""
    table = table or {
        "target": TARGET,
        "features": list(settings["features"]),
        "task": SETS[settings["dataset"]].task,
        "output": settings["output"],
    }
    config = copy.deepcopy(RUN_DEFAULTS)
    config["data"].update(
        source=source,
        target=table["target"],
        features=table["features"],
        task=table["task"],
        drop=table.get("drop", []),
        na_values=table.get("na_values", []),
        decimal=table.get("decimal", ""),
        test_split=settings["test_split"],
        split_seed=settings["seed"],
        standardize=True,
    )
    config["model"].update(
        layers=list(settings["layers"]),
        activation=list(settings["activations"]),
        output=table["output"],
        loss="auto",
        init="auto",
        keep_prob=settings["keep_prob"],
        batch_norm=settings["batch_norm"],
        dtype=DTYPE,
    )
    config["training"].update(
        optimizer=settings["optimizer"],
        learning_rate=settings["learning_rate"],
        epochs=max(1, epochs),
        batch_size=settings["batch_size"],
        lambd=settings["lambd"],
        l1=settings["l1"],
        seed=settings["seed"],
        **{key: settings[key] for key in SCHEDULE},
        validation_split=settings["validation_split"],
        early_stopping=settings["early_stopping"],
        swa_start=0.0,  # no weight averaging (which ldnn train may choose with a validation part)
        ensemble=1,  # one network, the one the page draws (ldnn train may average several)
        clip_norm=0.0,
    )
    return config


@dataclass
class Built:
    """What a session trains: the configuration, the data (prepared, with what a model
    remembers of them) and the network, the plane it is drawn on and the points of each
    part in it, and the folder that holds its data.csv.

    Attributes
    ----------
    config : dict
    dataset : Dataset
        The prepared training and test parts (X of shape (n[0], m)).
    info : dict
        What the model remembers of its data (its preparation among it).
    network : DeepNetwork
        Not yet initialised.
    P_train, P_test : ndarray of shape (2, m_train) and (2, m_test)
        The points in the plane (an uploaded table's: of a sample of its examples).
    Y_train_raw, Y_test_raw : ndarray of shape (1, m_...), the targets in their units
    plane : InputPlane or Projection
        Where the pictures lie (:mod:`.plane`).
    folder : Path
        Where its data.csv is (the file ``ldnn train`` reads, exported as it is).
    feature_names : list of str
        The names of the rows of X.
    drawn : ndarray of int or None
        The columns of the training part whose points P_train are (None: all, in order).
    """

    config: dict
    dataset: object
    info: dict
    network: object
    P_train: np.ndarray
    P_test: np.ndarray
    Y_train_raw: np.ndarray
    Y_test_raw: np.ndarray
    plane: object
    folder: Path
    feature_names: list
    drawn: np.ndarray | None = None


def build(settings: dict, folder: Path) -> Built:
    """Write the settings' data.csv into ``folder`` and make the data and network from
    it as ``ldnn train data.csv --config config.toml`` does."""
    text, P, Y = data_table(settings)
    source = Path(folder) / DATA_FILE
    atomic_write_text(source, text)
    config = run_config(settings, str(source), max(1, settings["stop_after"]))
    raw, dataset, info, network = data_and_network(config)
    task = SETS[settings["dataset"]].task
    train, test, _ = split_rows(config["data"], Y, task)
    # The points drawn must be the very rows the network trains on: the CSV's text
    # read back (exact floats) in ldnn train's split.
    expected = features(P[:, train], settings["features"])
    if raw.X_train.shape != expected.shape or not np.array_equal(raw.X_train, expected):
        raise ConfigurationError("the data read back differ from the data written", field="data")
    return Built(
        resolved(config, network.hyperparameters),
        dataset,
        info,
        network,
        P[:, train],
        P[:, test],
        Y[:, train],
        Y[:, test],
        InputPlane(Preparation.from_metadata(info), list(settings["features"])),
        Path(folder),
        list(settings["features"]),
    )
