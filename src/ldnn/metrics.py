"""Turning A[L] into predictions, and scoring them."""

from __future__ import annotations

import numpy as np

from .backend import get_xp


def is_classifier(output_activation: str) -> bool:
    return output_activation in ("sigmoid", "softmax")


def predictions(AL, output_activation: str):
    """Predictions from A[L] of shape (n[L], m).

    sigmoid  0/1 per unit (threshold 0.5), shape (n[L], m)
    softmax  the class index of the largest probability, shape (1, m)
    other    A[L] itself (regression)
    """
    xp = get_xp(AL)
    if output_activation == "sigmoid":
        return (AL > 0.5).astype(np.int64)
    if output_activation == "softmax":
        return xp.argmax(AL, axis=0).reshape(1, -1)
    return AL


def accuracy(AL, Y, output_activation: str) -> float | None:
    """Fraction of examples predicted right (all labels right, for multilabel).

    Y is the loss-prepared target of shape (n[L], m): 0/1 or one-hot. None for regression.
    """
    xp = get_xp(AL)
    if output_activation == "sigmoid":
        right = ((AL > 0.5) == (Y > 0.5)).all(axis=0)
    elif output_activation == "softmax":
        right = xp.argmax(AL, axis=0) == xp.argmax(Y, axis=0)
    else:
        return None
    return float(xp.count_nonzero(right) / right.size)  # the mean, without its overhead


def mean_squared_error(AL, Y) -> float:
    """(1/(m n[L])) sum (a - y)^2: the plain mean, without the cost's 1/2."""
    diff = AL.astype(np.float64) - Y.astype(np.float64)
    return float((diff * diff).mean())
