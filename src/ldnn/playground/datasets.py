"""The playground's data sets: points of the input plane (x1, x2) and their targets,
drawn from a seeded generator, and the engineered inputs computed from them.

Each generator returns the points P of shape (2, m), one per column as the notes lay
out X, and the targets Y of shape (1, m): class indices for the classification sets,
values for the two regression surfaces. ``noise`` (0 to 1) scales what each set adds to
its points or values. The notes' sets come from :mod:`ldnn.data` (the XOR, the spirals
and week 3's planar flower); the others are written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..data.datasets import make_planar
from ..data.synthetic import make_spirals, make_xor

#: The plane every set lies in: x1 and x2 in [-EXTENT, EXTENT].
EXTENT = 6.0


@dataclass(frozen=True)
class PlaneSet:
    """A generated set: its task, its classes (None for a regression) and its generator
    ``make(m, noise, rng) -> (P, Y)``."""

    task: str
    classes: tuple[str, ...] | None
    make: Callable


def _circle(m, noise, rng):
    # Class 1 inside radius 2.5, class 0 on a ring from 3.5 to 5: a gap the noise fills.
    inside = np.arange(m) < m // 2
    radius = np.where(inside, rng.uniform(0, 2.5, m), rng.uniform(3.5, 5.0, m))
    angle = rng.uniform(0, 2 * np.pi, m)
    P = np.stack([radius * np.cos(angle), radius * np.sin(angle)])
    P += rng.standard_normal(P.shape) * noise * 1.5
    return P, inside.astype(np.float64).reshape(1, m)


def _xor(m, noise, rng):
    # The notes' XOR of two bits, its corners moved to (+-3, +-3).
    X, Y = make_xor(m, noise=0.1 + noise * 0.4, seed=rng)
    return (X - 0.5) * 6.0, Y


def _gauss(m, noise, rng):
    labels = np.arange(m) % 2
    centres = np.where(labels == 1, 2.0, -2.0)
    P = centres + rng.standard_normal((2, m)) * (0.6 + 2.0 * noise)
    return P, labels.astype(np.float64).reshape(1, m)


def _spiral(m, noise, rng):
    X, Y = make_spirals(m, noise=0.05 + noise, seed=rng)
    return X * 5.0, Y


def _flower(m, noise, rng):
    # The course's flower (week 3) has its own noise of 0.2; more is added here.
    X, Y = make_planar(m - m % 2, rng)
    X = X + rng.standard_normal(X.shape) * noise
    if m % 2:  # an odd m: one more point of class 0
        X, Y = np.hstack([X, X[:, :1]]), np.hstack([Y, Y[:, :1]])
    return X, Y


def _blobs3(m, noise, rng):
    labels = np.arange(m) % 3
    angle = 2 * np.pi * labels / 3 + np.pi / 2
    centres = 3.0 * np.stack([np.cos(angle), np.sin(angle)])
    P = centres + rng.standard_normal((2, m)) * (0.6 + 1.5 * noise)
    return P, labels.astype(np.float64).reshape(1, m)


def _uniform(m, rng):
    return rng.uniform(-5.0, 5.0, (2, m))


def _plane(m, noise, rng):
    P = _uniform(m, rng)
    y = (P[0] + 2 * P[1]) / 10 + rng.standard_normal(m) * noise
    return P, y.reshape(1, m)


def _bump(m, noise, rng):
    P = _uniform(m, rng)
    y = np.exp(-(P[0] ** 2 + P[1] ** 2) / 8) + rng.standard_normal(m) * noise * 0.5
    return P, y.reshape(1, m)


SETS = {
    "circle": PlaneSet("classification", ("0", "1"), _circle),
    "xor": PlaneSet("classification", ("0", "1"), _xor),
    "gauss": PlaneSet("classification", ("0", "1"), _gauss),
    "spiral": PlaneSet("classification", ("0", "1"), _spiral),
    "flower": PlaneSet("classification", ("0", "1"), _flower),
    "blobs3": PlaneSet("classification", ("0", "1", "2"), _blobs3),
    "plane": PlaneSet("regression", None, _plane),
    "bump": PlaneSet("regression", None, _bump),
}

#: The dataset setting of a table the page uploaded (:mod:`.upload`), beside the SETS.
UPLOAD = "upload"

#: The engineered inputs: a column name (as data.csv names it), the page's label, and
#: how it is computed from the points P (2, m).
FEATURES = {
    "x1": ("x1", lambda P: P[0]),
    "x2": ("x2", lambda P: P[1]),
    "x1_sq": ("x1²", lambda P: P[0] ** 2),
    "x2_sq": ("x2²", lambda P: P[1] ** 2),
    "x1_x2": ("x1·x2", lambda P: P[0] * P[1]),
    "sin_x1": ("sin x1", lambda P: np.sin(P[0])),
    "sin_x2": ("sin x2", lambda P: np.sin(P[1])),
}


def make_points(name: str, m: int, noise: float, seed: int):
    """(P, Y): set ``name``'s m points, P of shape (2, m) and Y of shape (1, m)."""
    return SETS[name].make(m, noise, np.random.default_rng(seed))


def features(P, names) -> np.ndarray:
    """The engineered inputs ``names`` of the points P (2, m), shape (len(names), m)."""
    return np.stack([FEATURES[name][1](P) for name in names])


def grid(size: int) -> np.ndarray:
    """The points of a size x size grid over the plane, shape (2, size**2), row by row
    from the top (x2 = EXTENT) down, x1 from left to right: as a canvas draws them."""
    ticks = np.linspace(-EXTENT, EXTENT, size)
    x1, x2 = np.meshgrid(ticks, ticks[::-1])
    return np.stack([x1.ravel(), x2.ravel()])
