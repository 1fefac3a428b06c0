"""Built-in data sets by name, each with a fixed seeded train/test split.

``load_dataset("iris")`` returns a :class:`Dataset` in the notes' layout: X of shape
(n[0], m), one example per column, and Y of shape (1, m) holding class indices 0..K-1
(classification) or of shape (n[L], m) holding targets (regression). The arrays are raw;
:mod:`ldnn.data.preparation` fits the standardisation on the training part only and
applies it to both parts.

Every loader works offline. The sets bundled with scikit-learn, scikit-image and the
generated MNIST-1D need the ``data`` extra; a missing package raises
:class:`MissingPackageError` naming it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigurationError, MissingPackageError
from ..io import file_sha256
from .split import split_indices
from .synthetic import make_parity, make_spirals, make_xor

SPLIT_SEED = 0


@dataclass
class Dataset:
    """A data set in the notes' layout.

    Attributes
    ----------
    name : str
    X_train : ndarray of shape (n[0], m_train)
    Y_train : ndarray of shape (1, m_train) of class indices, or (k, m_train) targets
    X_test, Y_test : ndarrays of shape (n[0], m_test) and like Y_train, or None
    task : str
        "classification" or "regression".
    classes : list of str or None
        The class names; class index i names ``classes[i]``.
    feature_names : list of str
        One name per row of X.
    image_shape : tuple of int or None
        The shape each column of X had as an image, e.g. (8, 8).
    source : str
        Where the data come from.
    reference : str
        A published result to compare with, if any.
    target : str or None
        The target column's name, for data read from a file.
    encoding : TableEncoding or None
        For a table: the rule of each column (see :mod:`ldnn.data.encoding`).
    reading : dict or None
        For a table: how it was read (delimiter, encoding, na_values, decimal).
    split : dict or None
        For a file: how it was split (test_split, split_seed, rows, stratified, and the
        SHA-256 of the training and test rows' indices).
    sha256 : str
        For a file: the SHA-256 of its bytes.
    test_source : str
        The file of the test part, when it is another file (``test_data``).
    test_unexpected : dict or None
        For a table: what its test part holds that the training part did not, per column
        ({"unseen": {column: count}, "missing": {...}}, :meth:`TableEncoding.unexpected`).
    read_as : str
        For a table file: how it was read (whole into memory, or streamed from disk) and why.
    train_keys : ndarray of shape (m_train,) or None
        For a split by hash (``split = "hash"``): the keys of the training part's rows,
        which the validation part is held out by too (:mod:`ldnn.data.hash_split`).
    ranks : mpi4py communicator or None
        Set where each MPI rank holds only its own rows of both parts (a table streamed
        on ranks and split by hash): the parts are then every rank's rows in rank order,
        and what is computed over a part (its statistics, scores, test cost) is reduced
        across the ranks. None: the parts are whole.
    totals : (int, int) or None
        With ``ranks``: the examples of the training and test parts on all ranks.
    """

    name: str
    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray | None = None
    Y_test: np.ndarray | None = None
    task: str = "classification"
    classes: list | None = None
    feature_names: list = field(default_factory=list)
    image_shape: tuple | None = None
    source: str = ""
    reference: str = ""
    target: str | None = None
    encoding: object = None
    reading: dict | None = None
    split: dict | None = None
    sha256: str = ""
    test_source: str = ""
    test_unexpected: dict | None = None
    read_as: str = ""
    train_keys: np.ndarray | None = None
    ranks: object = None
    totals: tuple | None = None

    def __post_init__(self):
        if not self.feature_names:
            self.feature_names = [f"x{i}" for i in range(self.X_train.shape[0])]

    @classmethod
    def of_table(cls, source: str, parts: tuple, encoding, **fields) -> Dataset:
        """A table file's data set: its ``parts`` (X_train, Y_train, X_test, Y_test), the
        rules of its columns and ``fields``; named, found and fingerprinted by its path."""
        return cls(
            Path(source).name,
            *parts,
            source=str(Path(source).resolve()),
            sha256=file_sha256(source),
            feature_names=encoding.feature_names,
            encoding=encoding,
            **fields,
        )

    @property
    def m_train(self) -> int:
        """The training part's examples (on all ranks, where each holds its own)."""
        return self.totals[0] if self.totals else self.X_train.shape[1]

    @property
    def m_test(self) -> int:
        """The test part's examples (on all ranks, where each holds its own); 0 for none."""
        if self.totals:
            return self.totals[1]
        return 0 if self.X_test is None else self.X_test.shape[1]

    @property
    def n_features(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_targets(self) -> int:
        """The number of classes (classification) or of target rows (regression)."""
        if self.task == "classification":
            return len(self.classes)
        return self.Y_train.shape[0]

    def description(self) -> dict:
        """What a model trained on this set remembers of it, JSON-able."""
        return {
            "source": self.source,
            "name": self.name,
            "task": self.task,
            "classes": self.classes,
            "feature_names": self.feature_names,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "target": self.target,
        } | {
            key: value
            for key, value in (
                ("columns", self.encoding.to_metadata() if self.encoding else None),
                ("read", self.reading),
                ("split", self.split),
                ("sha256", self.sha256 or None),
                ("test_source", self.test_source or None),
            )
            if value is not None
        }


@dataclass(frozen=True)
class DatasetInfo:
    """What ``ldnn datasets`` lists about a built-in set, and how to load it."""

    name: str
    load: Callable[..., Dataset]
    shape: str
    classes: str
    source: str
    extra: str = ""


def _split(X, y, test_fraction: float = 0.25, seed: int = SPLIT_SEED):
    """X_train, Y_train, X_test, Y_test: the columns of X (n, m) and y (1, m) split by
    :func:`ldnn.data.split.split_indices`."""
    train, test = split_indices(X.shape[1], test_fraction, seed)
    return X[:, train], y[:, train], X[:, test], y[:, test]


def _labels(y) -> np.ndarray:
    return np.asarray(y, dtype=np.float64).reshape(1, -1)


def make_planar(m: int = 400, seed: int | np.random.Generator | np.random.RandomState = 0):
    """The course's "flower" of week 3: two classes of m/2 points on the petals of a rose.

    Class j's points have angles t spaced evenly over [3.12 j, 3.12 (j + 1)] plus
    N(0, 0.2^2) noise, radius r = 4 sin(4 t) + N(0, 0.2^2), at (r sin t, r cos t), the
    angles' noise drawn first. With ``np.random.RandomState(1)`` (what the course's
    ``np.random.seed(1)`` seeds) they are the course's own 400 points.

    Returns
    -------
    X : ndarray of shape (2, m)
    Y : ndarray of shape (1, m), labels 0 and 1
    """
    rng = seed if isinstance(seed, np.random.RandomState) else np.random.default_rng(seed)
    per_class, a = m // 2, 4
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1))
    for j in range(2):
        ix = range(per_class * j, per_class * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, per_class) + rng.standard_normal(per_class) * 0.2
        r = a * np.sin(4 * t) + rng.standard_normal(per_class) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def _planar() -> Dataset:
    X, y = make_planar(400, np.random.RandomState(1))  # the course's flower
    return Dataset("planar", *_split(X, y), classes=["red", "blue"], source="course week 3")


def _spirals() -> Dataset:
    X, y = make_spirals(1000, seed=0)
    return Dataset("spirals", *_split(X, y), classes=["0", "1"], source="generated")


def _xor() -> Dataset:
    X, y = make_xor(400, noise=0.15, seed=0)
    return Dataset("xor", *_split(X, y), classes=["0", "1"], source="generated")


def _parity(n: int = 4) -> Dataset:
    X, y = make_parity(n)
    # The task is to fit the whole truth table, so the test part is the table too.
    return Dataset(
        f"parity:{n}",
        X,
        y,
        X.copy(),
        y.copy(),
        classes=["even", "odd"],
        feature_names=[f"bit{i}" for i in range(n)],
        source="generated (full truth table)",
    )


def _sklearn(loader_name: str, name: str, image_shape=None) -> Dataset:
    try:
        from sklearn import datasets
    except ImportError:
        raise MissingPackageError(
            f"data set {name!r} needs scikit-learn: pip install 'ldnn[data]'"
        ) from None
    bunch = getattr(datasets, loader_name)()
    X, y = bunch.data.T.astype(np.float64), _labels(bunch.target)
    names = [str(f) for f in getattr(bunch, "feature_names", [])]
    return Dataset(
        name,
        *_split(X, y),
        classes=[str(c) for c in bunch.target_names],
        feature_names=names,
        image_shape=image_shape,
        source=f"scikit-learn {loader_name}",
    )


def _mnist1d() -> Dataset:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise MissingPackageError(
            "data set 'mnist1d' needs the mnist1d package: pip install 'ldnn[data]'"
        ) from None
    # make_dataset seeds the global generators; give the caller's state back.
    state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
        random.setstate(py_state)
    return Dataset(
        "mnist1d",
        np.asarray(data["x"], dtype=np.float64).T,
        _labels(data["y"]),
        np.asarray(data["x_test"], dtype=np.float64).T,
        _labels(data["y_test"]),
        classes=[str(k) for k in range(10)],
        feature_names=[f"t{i}" for i in range(40)],
        source="mnist1d.make_dataset (generated offline, default arguments)",
        reference="published MLP test accuracy on MNIST-1D: 68%",
    )


def _faces() -> Dataset:
    try:
        from skimage.data import lfw_subset
    except ImportError:
        raise MissingPackageError(
            "data set 'faces' needs scikit-image: pip install 'ldnn[data]'"
        ) from None
    images = np.asarray(lfw_subset(), dtype=np.float64)
    X = images.reshape(len(images), -1).T
    y = _labels(np.arange(len(images)) < 100)  # the first 100 are faces
    return Dataset(
        "faces",
        *_split(X, y),
        classes=["non-face", "face"],
        feature_names=[f"pixel_{i}_{j}" for i in range(25) for j in range(25)],
        image_shape=(25, 25),
        source="scikit-image lfw_subset",
    )


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo("planar", _planar, "2 x 400", "red, blue", "course week 3 flower"),
        DatasetInfo("spirals", _spirals, "2 x 1000", "0, 1", "two spirals, generated"),
        DatasetInfo("xor", _xor, "2 x 400", "0, 1", "noisy XOR, generated"),
        DatasetInfo(
            "parity", _parity, "n x 2^n (parity:n, default 4)", "even, odd", "full truth table"
        ),
        DatasetInfo(
            "digits",
            lambda: _sklearn("load_digits", "digits", (8, 8)),
            "64 x 1797 (8x8 images)",
            "0..9",
            "scikit-learn",
            "data",
        ),
        DatasetInfo(
            "breast_cancer",
            lambda: _sklearn("load_breast_cancer", "breast_cancer"),
            "30 x 569",
            "malignant, benign",
            "scikit-learn",
            "data",
        ),
        DatasetInfo(
            "iris",
            lambda: _sklearn("load_iris", "iris"),
            "4 x 150",
            "setosa, versicolor, virginica",
            "scikit-learn",
            "data",
        ),
        DatasetInfo(
            "wine",
            lambda: _sklearn("load_wine", "wine"),
            "13 x 178",
            "3 cultivars",
            "scikit-learn",
            "data",
        ),
        DatasetInfo(
            "mnist1d", _mnist1d, "40 x 5000", "0..9", "mnist1d package, generated offline", "data"
        ),
        DatasetInfo(
            "faces", _faces, "625 x 200 (25x25 images)", "non-face, face", "scikit-image", "data"
        ),
    ]
}


def is_dataset_name(spec: str) -> bool:
    """Whether ``spec`` names a built-in set, such as "iris" or "parity:8"."""
    return spec.split(":", 1)[0] in DATASETS


def load_dataset(spec: str) -> Dataset:
    """Load a built-in set by name; "parity:8" passes 8 to the parity generator.

    Raises
    ------
    ConfigurationError
        For an unknown name or a bad parameter.
    MissingPackageError
        When the set needs an optional package that is not installed.
    """
    name, _, argument = spec.partition(":")
    if name not in DATASETS:
        raise ConfigurationError(f"unknown data set {spec!r}; built-in sets: {', '.join(DATASETS)}")
    if not argument:
        return DATASETS[name].load()
    if name != "parity":
        raise ConfigurationError(f"data set {name!r} takes no parameter, got {spec!r}")
    if not argument.isdigit() or not 1 <= int(argument) <= 16:
        raise ConfigurationError(
            f"parity takes a number of bits from 1 to 16, as in parity:8; got {spec!r}"
        )
    return DATASETS[name].load(int(argument))
