"""What is done to the data before the network sees it, fitted on the training part only.

Today that is standardisation: each feature (row of X) becomes (x - mean) / std with the
training part's mean and standard deviation, and for regression each target (row of Y)
likewise, so that the network learns standardised targets and its outputs are mapped
back with y = a * std + mean. The statistics travel with the model as plain numbers in
its metadata (:meth:`Preparation.to_metadata`), so evaluation and prediction on a raw
file prepare it exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..base.checks import check_targets
from .datasets import Dataset
from .shared_stats import summed

_KEYS = ("x_mean", "x_std", "y_mean", "y_std")


def mean_and_std(A, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and standard deviation of A (n, m), each (n, 1); with ``weights`` w
    (m,), the weighted ones, sum w a / sum w and the root of sum w (a - mean)^2 / sum w,
    so that an integer weight counts as that many copies of the example.

    A constant row gets standard deviation 1, so it maps to 0 instead of NaN.
    """
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        scale = _row_scale(A)  # the statistics of A / max|a|, scaled back: no square overflows
        B = A / scale
        mean = B @ w[:, None]
        std = np.sqrt(((B - mean) ** 2) @ w[:, None])
        return mean * scale, np.where(std > 0, std * scale, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = A.mean(axis=1, keepdims=True)
        std = A.std(axis=1, keepdims=True)
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        # Values so large (|a| > 1e154) that their squares overflow: the same statistics of
        # A / max|a|, scaled back. (Only then: ordinary rows keep the plain formula's bits.)
        scale = _row_scale(A)
        mean = (A / scale).mean(axis=1, keepdims=True) * scale
        std = (A / scale).std(axis=1, keepdims=True) * scale
    return mean, np.where(std > 0, std, 1.0)


def shared_mean_and_std(blocks, n: int, m: int, ranks, scale=None):
    """:func:`mean_and_std` of n rows whose m columns the MPI ``ranks`` hold together:
    ``blocks()`` yields (first row, this rank's columns of some rows (k, m_r)). Each
    sum is this rank's, added up across the ranks: mean = (1/m) sum a, then std = the
    root of (1/m) sum (a - mean)^2 about that mean (two passes, as one process's
    ``std``). One process's statistics within rounding: the sums are added in another
    order (a relative 1e-16 or so), not bit for bit."""
    scaled, scale = scale is not None, np.ones(n) if scale is None else scale
    sums, squares = np.zeros(n), np.zeros(n)
    with np.errstate(over="ignore", invalid="ignore"):  # (an overflow is seen below)
        # a row at a time: no temporary of a whole block (as mean_and_std's CompactX)
        for start, rows in blocks():
            for i, row in enumerate(rows, start):
                sums[i] = (row / scale[i]).sum()
        mean = summed(ranks, sums) / m
        for start, rows in blocks():
            for i, row in enumerate(rows, start):
                deviation = row / scale[i] - mean[i]
                squares[i] = np.square(deviation, out=deviation).sum()
        std = np.sqrt(summed(ranks, squares) / m)
    if not (np.isfinite(mean).all() and np.isfinite(std).all()) and not scaled:
        # squares that overflow (|a| > 1e154): the statistics of a / max|a|, scaled back
        peaks = np.zeros(n)
        for start, rows in blocks():
            if rows.size:
                peaks[start : start + len(rows)] = np.abs(rows).max(axis=1)
        peaks = np.max(ranks.allgather(peaks), axis=0)
        peaks = np.where((peaks > 0) & np.isfinite(peaks), peaks, 1.0)
        mean, std = shared_mean_and_std(blocks, n, m, ranks, peaks)
        return mean * peaks[:, None], np.where(std > 0, std * peaks[:, None], 1.0)
    if scaled:  # (the caller scales back)
        return mean[:, None], std[:, None]
    return mean[:, None], np.where(std > 0, std, 1.0)[:, None]


def _row_scale(A) -> np.ndarray:
    """max |a| of each row (n, 1); 1 where that is 0 or not finite."""
    scale = np.abs(A).max(axis=1, keepdims=True)
    return np.where((scale > 0) & np.isfinite(scale), scale, 1.0)


@dataclass
class Preparation:
    """The fitted preparation of a data set.

    Attributes
    ----------
    x_mean, x_std : ndarray of shape (n[0], 1), or None (X is used as it is)
    y_mean, y_std : ndarray of shape (n[L], 1), or None (Y is used as it is)
    """

    x_mean: np.ndarray | None = None
    x_std: np.ndarray | None = None
    y_mean: np.ndarray | None = None
    y_std: np.ndarray | None = None

    @classmethod
    def fit(
        cls, X_train, Y_train=None, *, standardize: bool = True, only=None, ranks=None
    ) -> Preparation:
        """Fit on the training part: X (n[0], m), and a regression target Y (n[L], m).

        ``only`` (booleans, one per feature) standardises just those features; the others
        (0/1 one-hot features) keep mean 0 and std 1, that is, stay as they are. With
        ``ranks`` (MPI), X and Y are this rank's columns of a part all ranks hold
        together (a :class:`~ldnn.data.compact.CompactX`): :func:`shared_mean_and_std`.
        """
        if not standardize:
            return cls()
        x_mean, x_std = mean_and_std(X_train) if ranks is None else X_train.shared(ranks)
        if only is not None:
            x_mean[~only], x_std[~only] = 0.0, 1.0
        y_mean = y_std = None
        if Y_train is not None and ranks is None:
            y_mean, y_std = mean_and_std(Y_train)
        elif Y_train is not None:
            m = summed(ranks, Y_train.shape[1])
            y_mean, y_std = shared_mean_and_std(lambda: [(0, Y_train)], len(Y_train), m, ranks)
        return cls(x_mean, x_std, y_mean, y_std)

    def transform_x(self, X):
        """(X - mean) / std, shape (n[0], m)."""
        return X if self.x_mean is None else (X - self.x_mean) / self.x_std

    def transform_y(self, Y):
        """(Y - mean) / std for a regression target, shape (n[L], m)."""
        return Y if self.y_mean is None else (Y - self.y_mean) / self.y_std

    def inverse_y(self, A):
        """Outputs A (n[L], m) back in the target's units: A * std + mean."""
        return A if self.y_mean is None else A * self.y_std + self.y_mean

    def transform(self, dataset: Dataset) -> Dataset:
        """Both parts of ``dataset`` prepared (targets too, for regression)."""
        changes = {
            "X_train": self.transform_x(dataset.X_train),
            "X_test": None if dataset.X_test is None else self.transform_x(dataset.X_test),
        }
        if dataset.task == "regression":
            changes["Y_train"] = self.transform_y(dataset.Y_train)
            changes["Y_test"] = None if dataset.Y_test is None else self.transform_y(dataset.Y_test)
        return replace(dataset, **changes)

    def to_metadata(self) -> dict:
        """The statistics as lists of numbers (JSON), only those that are set."""
        return {k: getattr(self, k).ravel().tolist() for k in _KEYS if getattr(self, k) is not None}

    @classmethod
    def from_metadata(cls, info: dict) -> Preparation:
        """The inverse of :meth:`to_metadata` (a model's ``metadata["data"]``)."""
        return cls(**{k: np.array(info[k]).reshape(-1, 1) for k in _KEYS if k in info})


def prepare(dataset: Dataset, standardize: bool = True) -> tuple[Dataset, dict]:
    """Fit the preparation on the training part and apply it to both parts.

    Returns the prepared data set and what a model must remember about its data
    (:meth:`Dataset.description` and the preparation's statistics), JSON-able.
    """
    regression = dataset.task == "regression"
    if regression:  # scores are reported in the target's units: their squares must fit
        parts = [Y for Y in (dataset.Y_train, dataset.Y_test) if Y is not None and Y.size]
        extent = max((float(np.abs(Y).max()) for Y in parts), default=0.0)
        check_targets(extent, np.float64, f"the target {dataset.target or 'Y'!r}")
    only = None if dataset.encoding is None else dataset.encoding.numeric_features
    preparation = Preparation.fit(
        dataset.X_train,
        dataset.Y_train if regression else None,
        standardize=standardize,
        only=only,
        ranks=dataset.ranks,
    )
    info = {**dataset.description(), **preparation.to_metadata()}
    return preparation.transform(dataset), info


def standardize(dataset: Dataset) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """The data set with its features standardised by the training part's statistics,
    and the mean and std used (each (n[0], 1)); targets are left as they are."""
    preparation = Preparation.fit(dataset.X_train)
    return preparation.transform(dataset), preparation.x_mean, preparation.x_std
