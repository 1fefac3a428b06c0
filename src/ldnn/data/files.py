"""Reading arrays from files: .npz, .npy pairs and the course's HDF5 layout (tables, CSV
and Parquet, are read by :mod:`ldnn.data.tables`), and encoding targets as classes or
numbers.

Files hold one example per ROW, as people keep them; a :class:`Table` keeps that layout
(X of shape (m, n[0])) and the caller transposes once into the notes' columns. Every
problem raises :class:`DataFileError` with a one-line message naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from .h5 import load_h5
from .limits import shown

#: A numeric target with at most this many distinct integer values is taken as classes.
MAX_INTEGER_CLASSES = 20
FORMATS = (".csv", ".tsv", ".parquet", ".npz", ".npy", ".h5", ".hdf5")


@dataclass
class Table:
    """Examples as rows, straight from a file.

    Attributes
    ----------
    X : ndarray of shape (m, n[0]), float64
    y : ndarray of shape (m,) or (m, k), or None
        Raw targets: numbers or strings.
    feature_names : list of str
    target : str or None
        The target column's name (CSV) or array's name.
    image_shape : tuple of int or None
        Each row's shape before flattening, for image inputs.
    classes : list of str or None
        Class names the file declares (the course's HDF5 ``list_classes``).
    source : str
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list
    target: str | None = None
    image_shape: tuple | None = None
    classes: list | None = None
    source: str = ""


def _exists(path: Path) -> None:
    if not path.exists():
        raise DataFileError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} is not a file")


def _flatten(X: np.ndarray, path, name: str) -> tuple[np.ndarray, tuple | None]:
    if X.dtype.kind not in "biuf":
        raise DataFileError(f"{path}: array {name!r} must hold numbers, got dtype {X.dtype}")
    if X.ndim == 1:
        return X.reshape(-1, 1).astype(np.float64), None
    image_shape = tuple(X.shape[1:]) if X.ndim > 2 else None
    X = X.reshape(X.shape[0], -1).astype(np.float64)
    if not np.isfinite(X).all():
        row = int(np.nonzero(~np.isfinite(X).all(axis=1))[0][0])
        raise DataFileError(f"{path}: array {name!r} holds NaN or inf (first in row {row})")
    return X, image_shape


def _targets(y: np.ndarray | None, m: int, path, name: str) -> np.ndarray | None:
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.shape[0] != m:
        raise DataFileError(
            f"{path}: {name!r} has {y.shape[0]} rows but X has {m} (one row per example)"
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataFileError(f"{path}: array {name!r} holds NaN or inf")
    return y


def _pick(arrays: dict, wanted: str | None, candidates: tuple, path, what: str) -> str | None:
    if wanted is not None:
        if wanted not in arrays:
            raise DataFileError(
                f"{path}: no array {wanted!r} for {what}; arrays: {', '.join(arrays)}"
            )
        return wanted
    return next((c for c in candidates if c in arrays), None)


def read_npz(
    path: str | os.PathLike,
    x_key: str | None = None,
    y_key: str | None = None,
    *,
    need_target: bool = True,
) -> Table:
    """Read X (m, ...) and Y (m,) or (m, k) from an .npz; names X/x and Y/y by default."""
    path = Path(path)
    _exists(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise DataFileError(f"{path}: cannot be read as .npz: {error}") from None
    x_name = _pick(arrays, x_key, ("X", "x", "X_train", "x_train"), path, "the features")
    if x_name is None:
        raise DataFileError(
            f"{path}: no array X; name it with --x-key (arrays: {', '.join(arrays)})"
        )
    y_name = _pick(arrays, y_key, ("Y", "y", "Y_train", "y_train"), path, "the targets")
    if y_name is None and need_target:
        raise DataFileError(
            f"{path}: no array Y; name it with --y-key (arrays: {', '.join(arrays)})"
        )
    X, image_shape = _flatten(arrays[x_name], path, x_name)
    y = _targets(arrays[y_name] if y_name else None, X.shape[0], path, y_name)
    names = [f"x{i}" for i in range(X.shape[1])]
    return Table(X, y, names, y_name, image_shape, source=str(path))


def _load_npy(path: Path) -> np.ndarray:
    _exists(path)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataFileError(f"{path}: cannot be read as .npy: {error}") from None


def read_npy(
    path: str | os.PathLike, labels: str | os.PathLike | None = None, *, need_target: bool = True
) -> Table:
    """Read X from one .npy (rows are examples) and the targets from a second one."""
    path = Path(path)
    X, image_shape = _flatten(_load_npy(path), path, path.name)
    if labels is None:
        if need_target:
            raise DataFileError(f"{path}: a .npy file holds X only; give the targets with --labels")
        y = None
    else:
        labels = Path(labels)
        y = _targets(_load_npy(labels), X.shape[0], labels, labels.name)
    names = [f"x{i}" for i in range(X.shape[1])]
    return Table(X, y, names, "y", image_shape, source=str(path))


def read_h5(path: str | os.PathLike, *, need_target: bool = True) -> Table:
    """Read the course's HDF5 layout (``train_set_x`` (m, 64, 64, 3), ``train_set_y``,
    ``list_classes``) with :func:`ldnn.data.load_h5`; pixels come back divided by 255."""
    path = Path(path)
    _exists(path)
    try:
        X, Y, classes = load_h5(path)
    except ImportError as error:
        raise DataFileError(f"{path}: {error}") from None
    n = X.shape[0]
    side = int(round((n / 3) ** 0.5))
    image_shape = (side, side, 3) if 3 * side * side == n else None
    # Labels as class names, so that they map onto a model's classes by name.
    y = np.array([classes[int(k)] for k in Y.ravel()]) if len(classes) > int(Y.max()) else Y
    names = [f"x{i}" for i in range(n)]
    return Table(X.T, y.ravel(), names, "y", image_shape, list(classes), source=str(path))


def read_table(
    path: str | os.PathLike,
    *,
    x_key: str | None = None,
    y_key: str | None = None,
    labels: str | None = None,
    need_target: bool = True,
) -> Table:
    """Read an array file (.npz, .npy, .h5), chosen by its suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_npz(path, x_key, y_key, need_target=need_target)
    if suffix == ".npy":
        return read_npy(path, labels, need_target=need_target)
    if suffix in (".h5", ".hdf5"):
        return read_h5(path, need_target=need_target)
    _exists(path)
    raise DataFileError(
        f"{path}: unknown file type {suffix or '(none)'!r}; ldnn reads {', '.join(FORMATS)}"
    )


def encode_targets(
    y: np.ndarray, *, task: str | None = None, classes: list | None = None, source: str = ""
) -> tuple[np.ndarray, str, list | None]:
    """Targets as numbers: class indices for classification, floats for regression.

    Parameters
    ----------
    y : ndarray of shape (m,) or (m, k), numbers or strings
    task : "classification", "regression" or None
        None decides: strings, or at most MAX_INTEGER_CLASSES distinct integers, are
        classes; other numbers are a regression target.
    classes : list of str, optional
        Known class names (from a model): values must be among them.

    Returns
    -------
    Y : ndarray of shape (m,) class indices, or (m, k) floats
    task : str
    classes : list of str or None
    """
    if y.ndim == 1:
        numeric = _as_numbers(y)
        if task is None:
            if classes is not None:
                task = "classification"
            elif numeric is None:
                task = "classification"
            else:
                integral = _integral(numeric)
                few = len(np.unique(numeric)) <= MAX_INTEGER_CLASSES
                task = "classification" if integral and few else "regression"
        if task == "classification":
            return _encode_classes(y, numeric, classes, source)
        y = y.reshape(-1, 1)
    if task == "classification":
        raise DataFileError(f"{source}: classification needs one target column, got {y.shape[1]}")
    numeric = _as_numbers(y)
    if numeric is None:
        raise DataFileError(f"{source}: a regression target must be numeric")
    return numeric.reshape(y.shape[0], -1), "regression", None


def _as_numbers(y: np.ndarray) -> np.ndarray | None:
    if y.dtype.kind in "biuf":
        return y.astype(np.float64)
    try:
        return np.array([float(v) for v in y.ravel()]).reshape(y.shape)
    except ValueError:
        return None


#: Values compared at a time where only a yes or no is wanted (not m rounded copies).
_CHUNK = 1 << 16


def _integral(numeric: np.ndarray) -> bool:
    """Whether every value is a whole number, a chunk of values at a time."""
    flat = numeric.reshape(-1)
    for start in range(0, flat.size, _CHUNK):
        chunk = flat[start : start + _CHUNK]
        if not (chunk == np.round(chunk)).all():
            return False
    return True


def _name(value, numeric: bool) -> str:
    if numeric and float(value) == int(float(value)):
        return str(int(float(value)))
    return str(value)


def _encode_classes(y, numeric, classes, source):
    # The distinct values are named, once each: not the m values (16 million targets
    # would be a gigabyte of Python strings). Each value's index among them is found by
    # a binary search in the few sorted ones: the inverse np.unique(..., return_inverse)
    # gives, without its sorted copy and argsort of the m values.
    y = y if numeric is None else numeric
    values = np.unique(y)
    inverse = np.searchsorted(values, y)
    names = [_name(v, numeric is not None) for v in values]
    if classes is None:
        classes = names  # sorted, by value for numbers
        if len(classes) < 2:
            raise DataFileError(
                f"{source}: the target has one class only ({shown(classes[0])}); need two or more"
            )
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = [n for n in names if n not in lookup]
    if unknown:
        raise DataFileError(
            f"{source}: target values {sorted(unknown)[:5]} are not among the model's classes "
            f"{classes}"[:400]
        )
    index = np.array([lookup[n] for n in names], dtype=np.float64)
    return index[inverse.reshape(-1)], "classification", classes
