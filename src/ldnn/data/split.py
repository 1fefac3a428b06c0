"""Seeded splits of m examples: training and test parts, training and validation parts.

One rule everywhere: a permutation of the m examples is drawn from the generator (or
the seed) given, and the first round(fraction * m) examples of it are held out. With
``stratify`` (class labels) every class is held out in proportion to its size, so a
small class is not missing from either part. The same seed gives the same split.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigurationError


def held_out_count(m: int, fraction: float, minimum: int = 0) -> int:
    """round(fraction * m), at least ``minimum``: how many of m examples are held out."""
    return max(minimum, int(round(fraction * m)))


def split_indices(
    m: int,
    fraction: float,
    seed: int | np.random.Generator,
    *,
    minimum: int = 0,
    stratify=None,
    ordered: bool = False,
    name: str = "the split",
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out) of m examples, held_out of size round(fraction * m).

    Parameters
    ----------
    m : int
    fraction : float in [0, 1)
    seed : int or numpy.random.Generator
        A generator is drawn from (the caller's stream goes on from there); an int seeds
        a fresh one.
    minimum : int
        Hold out at least this many examples (1 for a validation part).
    stratify : array of shape (m,), optional
        Class labels: each class is held out in proportion to its count.
    ordered : bool
        Return each part in the examples' original order instead of the drawn order.
    name : str
        What the fraction is called in the error message (``"--test-split"``, ...).

    Raises
    ------
    ConfigurationError
        If the held-out part would leave no examples to keep.
    """
    n_held = held_out_count(m, fraction, minimum)
    if n_held and n_held >= m:
        raise ConfigurationError(f"{name} {fraction} leaves no training examples out of m = {m}")
    order = np.random.default_rng(seed).permutation(m)
    if stratify is None:
        held, kept = order[:n_held], order[n_held:]
    else:
        is_held = _stratified_mask(order, np.asarray(stratify).reshape(-1), n_held)
        held, kept = order[is_held], order[~is_held]
    if ordered:
        held, kept = np.sort(held), np.sort(kept)
    return kept, held


def _stratified_mask(order: np.ndarray, labels: np.ndarray, n_held: int) -> np.ndarray:
    """Which positions of ``order`` are held out: per class, its first n_k examples in
    the drawn order, with n_k proportional to the class's count and sum n_k = n_held
    (the largest remainders get the rounding; a class keeps one example if it can)."""
    # Each example's class index (np.unique's inverse, found by a binary search among the
    # few classes rather than by sorting the m labels), in the drawn order.
    classes_in_order = np.searchsorted(np.unique(labels), labels)[order]
    counts = np.bincount(classes_in_order)
    quota = n_held * counts / counts.sum()
    n_k = np.floor(quota).astype(int)
    # The rounding goes to the largest remainders, first to classes that keep an example.
    for limit in (counts - 1, counts):
        for k in np.argsort(-(quota - n_k), kind="stable"):
            if n_k.sum() == n_held:
                break
            if n_k[k] < limit[k]:
                n_k[k] += 1
    # Held out: the first n_k examples of class k in the drawn order.
    is_held = np.zeros(len(order), dtype=bool)
    for k in range(len(counts)):
        is_held[np.flatnonzero(classes_in_order == k)[: n_k[k]]] = True
    return is_held


def split_columns(X, Y, kept, held):
    """(X_kept, Y_kept), (X_held, Y_held): columns of X (n[0], m) and of Y (n[L], m), or
    entries of class labels Y (m,)."""
    return (X[:, kept], Y[..., kept]), (X[:, held], Y[..., held])
