"""The plane the page draws on: the decision surface, the units' heat maps and the points
all lie in one plane of the network's input space, and this module says which.

For the generated sets it is the data's own plane (x1, x2): a grid point is made into
the chosen engineered inputs and prepared as in training (:class:`InputPlane`). An
uploaded table has n[0] inputs, any number of them, and no plane of its own: with one
or two inputs the plane is theirs, as prepared (standardised); with more it is the plane
of the first two principal components of the prepared training X, through its mean
(:class:`Projection`). A grid point (s1, s2) of that plane is the input
X = mean + s1 u1 + s2 u2 (u1, u2 the components, unit vectors of R^n[0]), which the
network is evaluated at, and an example is drawn at its projection
(u1ᵀ(x - mean), u2ᵀ(x - mean)). The surface is then the network on a 2-D slice through
the data, not the whole of what it learned: examples far from the plane (the variance
the two components leave out, said in :attr:`Projection.note`) may sit on a colour that
is not their prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datasets import EXTENT, features, grid


def square(size: int, extent: float) -> np.ndarray:
    """The points of a size x size grid over [-extent, extent]², shape (2, size**2),
    in the order of :func:`ldnn.playground.datasets.grid` (rows from the top)."""
    return grid(size) * (extent / EXTENT)


@dataclass
class InputPlane:
    """The generated sets' plane (x1, x2): a point becomes the engineered inputs
    ``names``, prepared by ``preparation``."""

    preparation: object
    names: list
    extent: float = EXTENT

    axes = ("x1", "x2")
    note = ""

    def inputs(self, side: int) -> np.ndarray:
        """The network's X (n[0], side**2) at the side x side grid of the plane."""
        return self.preparation.transform_x(features(grid(side), self.names))


@dataclass
class Projection:
    """A plane through ``mean`` spanned by the columns of ``basis`` (n[0], 2), in the
    prepared input space; see the module docstring."""

    mean: np.ndarray
    basis: np.ndarray
    extent: float
    axes: tuple
    note: str

    def inputs(self, side: int) -> np.ndarray:
        """X = mean + basis @ (s1, s2) at the side x side grid, shape (n[0], side**2)."""
        return self.mean + self.basis @ square(side, self.extent)

    def coordinates(self, X: np.ndarray) -> np.ndarray:
        """The examples X (n[0], m) projected onto the plane, shape (2, m)."""
        return self.basis.T @ (X - self.mean)


def projection(X: np.ndarray, names: list) -> Projection:
    """The plane of the prepared training X (n[0], m), dense: its inputs' own with
    n[0] <= 2 (a single input: the second axis is not one), else its first two principal
    components through its mean, with the share of X's variance they hold."""
    n0 = X.shape[0]
    if n0 <= 2:
        mean = np.zeros((n0, 1))
        basis = np.eye(n0, 2)
        axes = (names[0], names[1] if n0 == 2 else "(none)")
        note = (
            f"the plane of the 2 inputs, as prepared (standardised): {names[0]} and {names[1]}"
            if n0 == 2
            else f"one input, {names[0]}, as prepared (standardised): the pictures vary along "
            "it only (the second axis is no input)"
        )
    else:
        mean = X.mean(axis=1, keepdims=True)
        # The right singular vectors of the centred X are the principal directions;
        # the SVD of X itself (n[0] x m) gives them as the left ones in the notes' layout.
        U, s, _ = np.linalg.svd(X - mean, full_matrices=False)
        basis = U[:, :2] * np.where(U[:, :2].sum(axis=0) < 0, -1.0, 1.0)  # a fixed sign
        variance = s**2
        share = float(variance[:2].sum() / variance.sum()) if variance.sum() > 0 else 1.0
        axes = ("PC1", "PC2")
        note = (
            f"n[0] = {n0} inputs: the pictures lie in the plane of the first two principal "
            f"components of the prepared training X ({share:.0%} of its variance), through "
            "its mean; each grid point s is the input X = mean + s1·PC1 + s2·PC2, and each "
            "example is drawn at its projection"
        )
    P = basis.T @ (X - mean)
    extent = float(np.abs(P).max()) * 1.1 if P.size else 1.0
    extent = extent if np.isfinite(extent) and extent > 0 else 1.0
    return Projection(mean, basis, extent, axes, note)
