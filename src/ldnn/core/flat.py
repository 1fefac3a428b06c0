"""Parameters and gradients as one flat vector, in the order W1, b1, ..., WL, bL (each
array flattened row by row; a batch-normalised layer: W, gamma, beta): theta and dtheta,
as gradient checks, SciPy's optimizers and the training step's one-call-per-formula
updates need them. Running statistics (batch norm's mean and var) are not learned: they
are not in theta, except where :func:`pack` puts them after it."""

from __future__ import annotations

import math

import numpy as np

from ..base.backend import get_xp
from .parameters import names_of, parameter_names, parameter_shapes


def parameters_to_vector(parameters: dict, dtype=None) -> np.ndarray:
    """theta: the learned parameters stacked into one vector (number of parameters,)."""
    names = names_of(parameters)[0]
    return np.concatenate([np.ravel(parameters[k]) for k in names]).astype(
        dtype or parameters["W1"].dtype, copy=False
    )


def gradients_to_vector(grads: dict, L: int, dtype=None) -> np.ndarray:
    """dtheta: dW1, db1, ..., dWL, dbL stacked in the order of :func:`parameters_to_vector`."""
    normalised = [f"dgamma{l}" in grads for l in range(1, L + 1)]
    parts = [np.ravel(grads["d" + k]) for k in parameter_names(L, normalised, "dE1" in grads)]
    return np.concatenate(parts).astype(dtype or parts[0].dtype, copy=False)


def vector_to_parameters(
    theta: np.ndarray, layer_dims, dtype=None, batch_norm=(), embedding=()
) -> dict:
    """The inverse of :func:`parameters_to_vector` for ``layer_dims`` (and an embedding's
    (k, K_1, ..., K_C), see :func:`~ldnn.core.parameters.parameter_shapes`)."""
    parameters, start = {}, 0
    for key, shape in parameter_shapes(layer_dims, batch_norm, embedding):
        size = shape[0] * shape[1]
        parameters[key] = (
            theta[start : start + size].reshape(shape).astype(dtype or theta.dtype, copy=True)
        )
        start += size
    return parameters


def locate(index: int, shapes: dict) -> tuple[str, tuple[int, int]]:
    """Which parameter, and which entry of it, sits at ``index`` of the flat vector of
    the parameters of ``shapes`` ({name: shape}, in the vector's order)."""
    for key, shape in shapes.items():
        size = shape[0] * shape[1]
        if index < size:
            return key, (index // shape[1], index % shape[1])
        index -= size
    raise IndexError(index)


def split_views(flat, shapes: dict) -> dict:
    """{name: view of ``flat`` of that shape}, consecutive in the order of ``shapes``."""
    views, start = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape)
        views[name] = flat[start : start + size].reshape(shape)
        start += size
    return views


def pack(parameters: dict):
    """Copy the parameters into one vector theta, in the order W1, b1, ..., WL, bL, then
    the running statistics, and make the dict's arrays views into it (the dict object
    stays the same).

    Returns theta, so that one operation on it updates every parameter (its first
    :func:`ldnn.core.parameters.count_parameters` entries are the learned ones).
    """
    names = [name for group in names_of(parameters) for name in group]
    like = parameters["W1"]
    theta = get_xp(like).empty(sum(parameters[k].size for k in names), dtype=like.dtype)
    views = split_views(theta, {k: parameters[k].shape for k in names})
    for k in names:
        views[k][...] = parameters[k]
    parameters.clear()
    parameters.update(views)
    return theta
