"""Generated data sets, drawn from a seeded generator, in the notes' layout.

Every function returns X of shape (n[0], m) and Y of shape (1, m), float64.
"""

from __future__ import annotations

import itertools

import numpy as np


def make_spirals(
    m: int = 400, *, turns: float = 1.5, noise: float = 0.1, seed: int | np.random.Generator = 0
):
    """Two interleaved spirals in the plane, m // 2 points per class (the rest in class 1).

    Point t in [0, 1) of class c lies at radius r = t, angle 2 pi turns t + pi c, plus
    Gaussian noise of standard deviation ``noise * r`` in each coordinate.

    Returns
    -------
    X : ndarray of shape (2, m)
    Y : ndarray of shape (1, m), labels 0 and 1
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(m) >= m // 2
    t = rng.random(m) * 0.95 + 0.05
    angle = 2 * np.pi * turns * t + np.pi * labels
    X = np.stack([t * np.cos(angle), t * np.sin(angle)])
    X += rng.standard_normal(X.shape) * noise * t
    return X, labels.astype(np.float64).reshape(1, m)


def make_xor(m: int = 4, *, noise: float = 0.0, seed: int | np.random.Generator = 0):
    """XOR of two bits. m = 4 gives the exact truth table; larger m repeats it with
    Gaussian ``noise`` added to the inputs.

    Returns
    -------
    X : ndarray of shape (2, m) with entries near 0 and 1
    Y : ndarray of shape (1, m), Y = x1 XOR x2
    """
    table = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=np.float64)
    X = np.tile(table, (1, -(-m // 4)))[:, :m]
    if noise:
        X = X + np.random.default_rng(seed).standard_normal(X.shape) * noise
    Y = (table[0] != table[1]).astype(np.float64)
    return X, np.tile(Y, -(-m // 4))[:m].reshape(1, m)


def make_parity(n: int):
    """The full truth table of n-bit parity: all 2^n inputs, Y = XOR of the n bits.

    Returns
    -------
    X : ndarray of shape (n, 2**n), entries 0/1, column k is k written in binary
    Y : ndarray of shape (1, 2**n)
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    X = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64).T
    return X, (X.sum(axis=0) % 2).reshape(1, -1)
