"""From a DATA argument (a built-in name or a file) to a :class:`Dataset` in the notes'
layout, for training or for a trained model.

This is the one place where rows-as-examples (files) become columns-as-examples (the
notes): ``X = table.X.T``. A ``[data]`` table (config.toml's) says where the data are and
how to read them: source, target, features, x_key, y_key, labels, task, test_split,
split_seed. For a trained model, what it remembers of its data (``metadata["data"]``:
feature names, classes, the preparation) decides which columns are read and checks them.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ConfigurationError, DataFileError, InvalidValueError
from .datasets import Dataset, is_dataset_name, load_dataset
from .files import encode_targets, read_table
from .preparation import Preparation
from .split import split_indices

TASKS = ("auto", "classification", "regression")


def check_source(source: str) -> None:
    """Raise a clear error unless ``source`` is an existing file or a built-in set's name."""
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
    """The raw train/test data a [data] table describes (before any preparation).

    A built-in set comes with its own fixed split; a file is split by ``test_split``
    (default 0.2) with ``split_seed`` (default 0).
    """
    source = data["source"]
    check_source(source)
    task = data.get("task", "auto")
    if task not in TASKS:
        raise ConfigurationError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if not Path(source).exists():
        dataset = load_dataset(source)
        if task == "regression":
            raise ConfigurationError(f"data set {source!r} is a classification set")
        return dataset
    table = _read(source, data, need_target=True)
    Y, task, classes = encode_targets(
        table.y, task=None if task == "auto" else task, classes=table.classes, source=source
    )
    # Rows are examples in files; the notes have one example per column.
    X, Y = table.X.T, Y.reshape(len(Y), -1).T
    test_split, split_seed = data.get("test_split", 0.2), data.get("split_seed", 0)
    if (
        isinstance(test_split, bool)
        or not isinstance(test_split, int | float)
        or not (0 <= test_split < 1)
    ):
        raise ConfigurationError(f"--test-split must lie in [0, 1), got {test_split!r}")
    if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise ConfigurationError(f"--split-seed must be a whole number >= 0, got {split_seed!r}")
    train, test = split_indices(X.shape[1], test_split, split_seed, name="--test-split")
    return Dataset(
        Path(source).name,
        X[:, train],
        Y[:, train],
        X[:, test] if test.size else None,
        Y[:, test] if test.size else None,
        task=task,
        classes=classes,
        feature_names=table.feature_names,
        image_shape=table.image_shape,
        source=str(Path(source).resolve()),
        target=table.target,
    )


def complete_info(info: dict, n_features: int, n_outputs: int, classifier: bool) -> dict:
    """What a model remembers of its data, with neutral defaults for a model saved from
    Python without any: its task, class names "0".."K-1" and feature names x0..x{n-1}."""
    info = dict(info)
    if "task" not in info:
        info["task"] = "classification" if classifier else "regression"
    if info["task"] == "classification" and not info.get("classes"):
        info["classes"] = [str(k) for k in range(2 if n_outputs == 1 else n_outputs)]
    if not info.get("feature_names"):
        info["feature_names"] = [f"x{i}" for i in range(n_features)]
    return info


def check_info(info, n_features: int, n_outputs: int) -> None:
    """Check a model's description of its data (from a file: a claim, not a fact).

    Raises
    ------
    InvalidValueError
        Naming the field that is of the wrong type, length or value.
    """

    def need(condition: bool, field: str, expected: str, actual) -> None:
        if not condition:
            raise InvalidValueError(f"data.{field} must be {expected}, got {actual!r}"[:300])

    def numbers(values, length: int) -> bool:
        return (
            isinstance(values, list)
            and len(values) == length
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            and all(math.isfinite(v) for v in values)
        )

    def names(values) -> bool:
        return isinstance(values, list) and all(isinstance(v, str) for v in values)

    need(isinstance(info, dict), "", "a table", type(info).__name__)
    task = info.get("task", "classification")
    need(task in ("classification", "regression"), "task", "classification or regression", task)
    for key in ("source", "name", "target"):
        need(info.get(key) is None or isinstance(info[key], str), key, "text", info.get(key))
    features = info.get("feature_names")
    if features:
        need(names(features) and len(features) == n_features, "feature_names",
             f"a list of {n_features} names", features)  # fmt: skip
    classes = info.get("classes")
    if classes is not None:
        K = 2 if n_outputs == 1 else n_outputs
        need(names(classes) and len(classes) == K, "classes", f"a list of {K} names", classes)
    shape = info.get("image_shape")
    if shape is not None:
        need(isinstance(shape, list) and all(isinstance(n, int) and n > 0 for n in shape)
             and math.prod(shape) == n_features, "image_shape",
             f"positive sizes whose product is {n_features}", shape)  # fmt: skip
    for key, length in (("x_mean", n_features), ("x_std", n_features), ("y_mean", n_outputs),
                        ("y_std", n_outputs)):  # fmt: skip
        if key in info:
            need(numbers(info[key], length), key, f"a list of {length} finite numbers", info[key])
    for key in ("x_std", "y_std"):
        if key in info:
            need(all(v > 0 for v in info[key]), key, "positive", info[key])


def load_for_model(source: str, info: dict, data: dict, *, need_target: bool, part: str = "test"):
    """Data for a trained model: X (n[0], m) prepared as in training, Y (n[L], m) or None,
    and the feature names.

    For a built-in set: its test part (or ``part="train"``). For a file: all its rows,
    the columns the model was trained on.
    """
    check_source(source)
    preparation = Preparation.from_metadata(info)
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
            Y = preparation.transform_y(Y.reshape(len(Y), -1).T)
    if X.shape[0] != n0:
        raise ConfigurationError(
            f"the model expects {n0} features per example but {where} has {X.shape[0]}"
        )
    return preparation.transform_x(X), Y, names


def _describe(info: dict) -> str:
    if info["task"] == "classification":
        return f"classes {info.get('classes')}"
    return "regression"
