"""From a DATA argument (a built-in name or a file) to a :class:`Dataset` in the notes'
layout, for training or for a trained model.

This is the one place where rows-as-examples (files) become columns-as-examples (the
notes): ``X = table.X.T``. A ``[data]`` table (config.toml's) says where the data are and
how to read them: source, target, features, x_key, y_key, labels, task, test_split,
split_seed. For a trained model, what it remembers of its data (``metadata["data"]``:
feature names, classes, the preparation) decides which columns are read and checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigurationError, DataFileError
from .datasets import Dataset, is_dataset_name, load_dataset
from .files import encode_targets, read_table
from .limits import memory_named
from .preparation import Preparation
from .table_source import (
    file_dataset,
    remembered_split,
    split_rows,
    table_for_model,
    table_for_training,
    train_keys,
    warn_if_changed,
)
from .tables import Columns, is_table_file

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


def _read(source: str, data: dict, *, need_target: bool):
    return read_table(
        source,
        x_key=data.get("x_key") or None,
        y_key=data.get("y_key") or None,
        labels=data.get("labels") or None,
        need_target=need_target,
    )


def load_training_data(data: dict) -> Dataset:
    """The train/test data a [data] table describes (:func:`_training_data`); running out
    of memory on the way is an error naming the file."""
    with memory_named(str(data.get("source") or "the data")):
        return _training_data(data)


def _training_data(data: dict) -> Dataset:
    """The train/test data a [data] table describes, before standardisation.

    A built-in set comes with its own fixed split. A file is split by ``test_split``
    (default 0.2) with ``split_seed`` (default 0), stratified by class for a table of
    classes; a table's columns are encoded by rules fitted on its training part
    (:mod:`ldnn.data.table_source`). With ``test_data`` (a second file, as the course
    ships a training and a test file), the first file is all training part and the
    second, read as a model reads data (its columns by the first's rules, its classes
    the first's), is the test part.
    """
    if data.get("test_data"):
        return _with_test_file(data)
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
    task = None if task == "auto" else task
    if is_table_file(source):
        return table_for_training(source, data, task)
    table = _read(source, data, need_target=True)
    Y, task, classes = encode_targets(table.y, task=task, classes=table.classes, source=source)
    # Rows are examples in files; the notes have one example per column.
    X, Y = table.X.T, Y.reshape(len(Y), -1).T
    train, test, split = split_rows(data, Y, task)
    return file_dataset(
        source,
        X,
        Y,
        train,
        test,
        task=task,
        classes=classes,
        feature_names=table.feature_names,
        image_shape=table.image_shape,
        target=table.target,
        split=split,
        train_keys=train_keys(data, train, Y.shape[-1]),
    )


def _with_test_file(data: dict) -> Dataset:
    test_source = data["test_data"]
    if not Path(data["source"]).is_file() or not Path(test_source).is_file():
        missing = test_source if Path(data["source"]).is_file() else data["source"]
        raise DataFileError(
            f"--test-data: {missing!r} is not a file (a training file and a test file are "
            "both needed)"
        )
    dataset = _training_data({**data, "test_data": "", "test_split": 0.0})
    info = dataset.description() | {"feature_names": dataset.feature_names}
    if dataset.task == "regression" and not info.get("classes"):
        info["classes"] = None
    test = load_for_model(test_source, info, data, need_target=True)
    if test.Y is None:
        raise DataFileError(f"--test-data {test_source}: it holds no targets to test against")
    dataset.X_test, dataset.Y_test = test.X, test.Y
    dataset.test_source = str(Path(test_source).resolve())
    dataset.test_unexpected = test.unexpected
    return dataset


@dataclass
class ModelData:
    """Data for a trained model.

    Attributes
    ----------
    X : ndarray of shape (n[0], m), prepared as in training (a table with text columns:
        a :class:`~ldnn.data.compact.CompactX`)
    Y : ndarray of shape (n[L], m) (class indices (1, m), or prepared targets), or None
    columns : Columns or None
        The table as read (for a table file), to take an ID column from.
    unexpected : dict or None
        For a table: what it holds that the training part did not, per column,
        {"unseen": {column: count}, "missing": {column: count}}
        (:meth:`~ldnn.data.encoding.TableEncoding.unexpected`).
    """

    X: np.ndarray
    Y: np.ndarray | None
    columns: Columns | None = None
    unexpected: dict | None = None


def load_for_model(source: str, info: dict, data: dict, *, need_target: bool, part=None):
    """Data for a trained model (:func:`_model_data`); running out of memory on the way is
    an error naming the file."""
    with memory_named(str(source)):
        return _model_data(source, info, data, need_target=need_target, part=part)


def _model_data(source: str, info: dict, data: dict, *, need_target: bool, part=None):
    """Data for a trained model (a :class:`ModelData`).

    For a built-in set: its test part (or ``part="train"``). For a file: all its rows, or
    with ``part`` "test" or "train" that part of the split the model was trained with
    (the file must be the one it was trained on); a table's columns found by name.
    """
    check_source(source)
    preparation = Preparation.from_metadata(info)
    n0 = len(info["feature_names"])
    columns = unexpected = None
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
        where = f"data set {source!r}"
    elif is_table_file(source):
        X, Y, columns, unexpected = table_for_model(
            source, info, data, need_target=need_target, part=part
        )
        where = source
    else:
        table = _read(source, data, need_target=need_target)
        X, Y, where = table.X.T, None, source
        if table.y is not None and (need_target or part in ("train", "test")):
            task = info["task"]
            classes = info.get("classes") if task == "classification" else None
            Y, _, _ = encode_targets(table.y, task=task, classes=classes, source=source)
            Y = Y.reshape(len(Y), -1).T
        if part in ("train", "test"):
            if Y is None or not info.get("split"):
                raise DataFileError(f"--part {part}: {source} has no {part} part to take")
            warn_if_changed(source, info, part)
            train, test, _ = split_rows(remembered_split(info["split"]), Y, info["task"])
            rows = test if part == "test" else train
            X, Y = X[:, rows], Y[:, rows]
    if X.shape[0] != n0:
        raise ConfigurationError(
            f"the model expects {n0} features per example but {where} has {X.shape[0]}"
        )
    if Y is not None and info["task"] == "regression":
        Y = preparation.transform_y(Y)
    return ModelData(preparation.transform_x(X), Y, columns, unexpected)


def _describe(info: dict) -> str:
    if info["task"] == "classification":
        return f"classes {info.get('classes')}"
    return "regression"
