"""From a DATA argument (a built-in name or a file) to arrays in the notes' layout.

This is the one place where rows-as-examples (files) become columns-as-examples (the
notes): ``X = table.X.T``. It also applies, and for a model checks, what a model
remembers about its data in ``metadata["data"]``: feature names, classes, and the
standardisation fitted on the training part.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..data.datasets import Dataset, fit_standardization, is_dataset_name, load_dataset
from ..data.files import DataFileError, encode_targets, read_table
from ..errors import ConfigurationError

TASKS = ("auto", "classification", "regression")


def _check_source(source: str) -> None:
    if not source:
        raise ConfigurationError("no DATA given: name a built-in set or a file")
    if not Path(source).exists() and not is_dataset_name(source):
        if Path(source).suffix or "/" in source or "\\" in source:
            raise DataFileError(f"data file {source!r} does not exist")
        raise ConfigurationError(
            f"{source!r} is neither a file nor a built-in data set (see `ldnn datasets`)"
        )


def _read(source: str, data: dict, *, need_target: bool, features=None, target=None):
    return read_table(
        source,
        target=target or data.get("target") or None,
        features=features or data.get("features") or None,
        x_key=data.get("x_key") or None,
        y_key=data.get("y_key") or None,
        labels=data.get("labels") or None,
        need_target=need_target,
    )


def load_training_data(data: dict) -> Dataset:
    """The raw train/test data a [data] table describes (before standardisation)."""
    source = data["source"]
    _check_source(source)
    if data.get("task", "auto") not in TASKS:
        raise ConfigurationError(f"--task must be one of {', '.join(TASKS)}, got {data['task']!r}")
    if not Path(source).exists():
        dataset = load_dataset(source)
        if data.get("task", "auto") == "regression":
            raise ConfigurationError(f"data set {source!r} is a classification set")
        return dataset
    table = _read(source, data, need_target=True)
    task = None if data.get("task", "auto") == "auto" else data["task"]
    Y, task, classes = encode_targets(table.y, task=task, classes=table.classes, source=source)
    # Rows are examples in files; the notes have one example per column.
    X, Y = table.X.T, Y.reshape(len(Y), -1).T
    test_split = data.get("test_split", 0.2)
    if not 0 <= test_split < 1:
        raise ConfigurationError(f"--test-split must lie in [0, 1), got {test_split}")
    m = X.shape[1]
    n_test = int(round(test_split * m))
    if n_test and m - n_test < 1:
        raise ConfigurationError(f"--test-split {test_split} leaves no training rows of {m}")
    order = np.random.default_rng(data.get("split_seed", 0)).permutation(m)
    test, train = order[:n_test], order[n_test:]
    return Dataset(
        Path(source).name,
        X[:, train],
        Y[:, train],
        X[:, test] if n_test else None,
        Y[:, test] if n_test else None,
        task=task,
        classes=classes,
        feature_names=table.feature_names,
        image_shape=table.image_shape,
        source=str(Path(source).resolve()),
        target=table.target,
    )


def preprocess(dataset: Dataset, standardize: bool) -> tuple[Dataset, dict]:
    """Standardise X (and a regression Y) with the training part's statistics.

    Returns the data set and what the model must remember, JSON-able.
    """
    info = {
        "source": dataset.source,
        "name": dataset.name,
        "task": dataset.task,
        "classes": dataset.classes,
        "feature_names": dataset.feature_names,
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "target": dataset.target,
    }
    if standardize:
        mean, std = fit_standardization(dataset.X_train)
        info.update(x_mean=mean.ravel().tolist(), x_std=std.ravel().tolist())
    if dataset.task == "regression" and standardize:
        y_mean, y_std = fit_standardization(dataset.Y_train)
        info.update(y_mean=y_mean.ravel().tolist(), y_std=y_std.ravel().tolist())
    return transform(dataset, info), info


def transform(dataset: Dataset, info: dict) -> Dataset:
    """Apply the remembered standardisation to both parts of a data set."""
    changes = {
        "X_train": scale_x(dataset.X_train, info),
        "X_test": None if dataset.X_test is None else scale_x(dataset.X_test, info),
    }
    if dataset.task == "regression":
        changes["Y_train"] = scale_y(dataset.Y_train, info)
        changes["Y_test"] = None if dataset.Y_test is None else scale_y(dataset.Y_test, info)
    return replace(dataset, **changes)


def scale_x(X, info: dict):
    if "x_mean" not in info:
        return X
    return (X - np.array(info["x_mean"]).reshape(-1, 1)) / np.array(info["x_std"]).reshape(-1, 1)


def scale_y(Y, info: dict):
    if "y_mean" not in info:
        return Y
    return (Y - np.array(info["y_mean"]).reshape(-1, 1)) / np.array(info["y_std"]).reshape(-1, 1)


def unscale_y(Y, info: dict):
    if "y_mean" not in info:
        return Y
    return Y * np.array(info["y_std"]).reshape(-1, 1) + np.array(info["y_mean"]).reshape(-1, 1)


def model_info(network) -> dict:
    """What a model remembers of its data; a model saved from Python gets neutral defaults."""
    info = dict(network.metadata.get("data", {}))
    n0, nL = network.layer_dims[0], network.layer_dims[-1]
    output = network.hyperparameters.activations[-1]
    if "task" not in info:
        info["task"] = "classification" if output in ("sigmoid", "softmax") else "regression"
    if info["task"] == "classification" and not info.get("classes"):
        info["classes"] = [str(k) for k in range(2 if nL == 1 else nL)]
    if not info.get("feature_names"):
        info["feature_names"] = [f"x{i}" for i in range(n0)]
    return info


def load_for_model(source: str, info: dict, data: dict, *, need_target: bool, part: str = "test"):
    """Data for a trained model: X (n[0], m) scaled as in training, Y (1, m) or None, names.

    For a built-in set: its test part (or ``part="train"``). For a file: all its rows,
    the columns the model was trained on.
    """
    _check_source(source)
    n0 = len(info["feature_names"])
    if not Path(source).exists():
        dataset = load_dataset(source)
        if dataset.classes != info.get("classes") or dataset.task != info["task"]:
            raise ConfigurationError(
                f"the model was trained for {_describe(info)}, but data set {source!r} is "
                f"{_describe({'task': dataset.task, 'classes': dataset.classes})}"
            )
        X, Y = dataset.X_test, dataset.Y_test
        if part == "train" or X is None:
            X, Y = dataset.X_train, dataset.Y_train
        names, where = dataset.feature_names, f"data set {source!r}"
    else:
        is_csv = Path(source).suffix.lower() == ".csv"
        features = info["feature_names"] if is_csv else None
        target = data.get("target") or info.get("target") or None
        table = _read(source, data, need_target=need_target, features=features, target=target)
        X, names, where = table.X.T, table.feature_names, source
        Y = None
        if table.y is not None and need_target:
            task = info["task"]
            classes = info.get("classes") if task == "classification" else None
            Y, _, _ = encode_targets(table.y, task=task, classes=classes, source=source)
            Y = scale_y(Y.reshape(len(Y), -1).T, info)
    if X.shape[0] != n0:
        raise ConfigurationError(
            f"the model expects {n0} features per example but {where} has {X.shape[0]}"
        )
    return scale_x(X, info), Y, names


def _describe(info: dict) -> str:
    if info["task"] == "classification":
        return f"classes {info.get('classes')}"
    return "regression"
