"""Initial parameters W[l] ~ scale[l] * N(0, 1) of shape (n[l], n[l-1]), b[l] = 0.

=========  ==========================  ============================================
name       scale of W[l]               use
=========  ==========================  ============================================
course     0.01                        the course's first models (week 3/4 steps)
scaled     1 / sqrt(n[l-1])            the course's deep application model
xavier     sqrt(2 / (n[l-1] + n[l]))   Glorot and Bengio (2010), tanh and sigmoid
he         sqrt(2 / n[l-1])            He et al. (2015), relu and leaky relu
uniform    U(-1/sqrt(n[l-1]), +)       PyTorch's nn.Linear default
=========  ==========================  ============================================

``uniform`` draws W[l] from U(-1/sqrt(n[l-1]), +1/sqrt(n[l-1])) (sd 1/sqrt(3 n[l-1]),
rows sqrt(6) shorter than He's). Under batch norm a layer ignores its rows' length, and
Adam moves each weight by about alpha a step, so shorter rows turn faster: the reason to
offer it. Measured on MNIST-1D's batch-norm recipe at alpha 0.003 and 0.001 (3 seeds
each, docs/recipes.md), it changed validation accuracy by less than the seeds do, so
batch-norm networks keep the default above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigurationError, ShapeError

_SCALES = {
    "course": lambda n_prev, n: 0.01,
    "scaled": lambda n_prev, n: 1 / math.sqrt(n_prev),
    "xavier": lambda n_prev, n: math.sqrt(2 / (n_prev + n)),
    "he": lambda n_prev, n: math.sqrt(2 / n_prev),
    "uniform": lambda n_prev, n: 1 / math.sqrt(n_prev),  # the half-width, not the scale
}
INITIALIZERS = tuple(_SCALES)
_RELU_LIKE = ("relu", "leaky_relu")


def default_init(hidden_activation: str) -> str:
    """He for relu-like hidden layers, Xavier for everything else (tanh, sigmoid, ...)."""
    return "he" if hidden_activation.split(":")[0] in _RELU_LIKE else "xavier"


def check_layer_dims(layer_dims: Sequence[int]) -> tuple[int, ...]:
    """Validate ``layer_dims = [n0, n1, ..., nL]`` and return it as a tuple of ints."""
    try:
        dims = tuple(layer_dims)
    except TypeError:
        raise ShapeError(
            f"layer_dims must be a sequence [n0, n1, ..., nL], got {layer_dims!r}"
        ) from None
    if len(dims) < 2:
        raise ShapeError(
            f"layer_dims must list at least the input and output sizes [n0, ..., nL], "
            f"got {list(dims)} (L = {len(dims) - 1})"
        )
    for l, n in enumerate(dims):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ShapeError(
                f"layer_dims[{l}] = n[{l}] must be a positive integer, got {n!r} in {list(dims)}"
            )
    return tuple(int(n) for n in dims)


def initialize_parameters(
    layer_dims: Sequence[int],
    init: str = "he",
    *,
    rng: np.random.Generator | int | None = None,
    dtype=np.float64,
    batch_norm: Sequence[bool] = (),
    embedding: tuple = (),
) -> dict[str, np.ndarray]:
    """Draw W1..WL and set b1..bL to zero (a batch-normalised layer: gamma = 1, beta = 0,
    and its running statistics mean = 0, var = 1; the draws of W are the same).

    With ``embedding`` (k, K_1, ..., K_C), a table's learned embedding: W[1] has
    n[0] - sum (K_c - k) columns, its fan-in, and E1 of shape (k, K_1 + ... + K_C) is
    drawn last from N(0, 1), so that its rows of A[0] start with the unit variance of the
    standardised numeric rows.

    Parameters
    ----------
    layer_dims : sequence of int
        [n0, n1, ..., nL].
    init : {"course", "scaled", "xavier", "he", "uniform"}
    rng : numpy.random.Generator, numpy.random.RandomState (the course's) or int seed
    dtype : float32 or float64
    batch_norm : sequence of bool
        Which layers (1, 2, ...) are batch-normalised.

    Returns
    -------
    dict
        ``W{l}`` of shape (n[l], n[l-1]) and ``b{l}`` of shape (n[l], 1), in ``dtype``.
    """
    dims = check_layer_dims(layer_dims)
    if init not in _SCALES:
        raise ConfigurationError(
            f"unknown init {init!r}; valid names: {', '.join(INITIALIZERS)}", field="init"
        )
    course = isinstance(rng, np.random.RandomState)
    rng = rng if course else np.random.default_rng(rng)
    parameters = {}
    fan_in = list(dims)
    if embedding:
        fan_in[0] = dims[0] - sum(embedding[1:]) + embedding[0] * len(embedding[1:])
    for l in range(1, len(dims)):
        n_prev, n = fan_in[l - 1], dims[l]
        scale = _SCALES[init](n_prev, n)
        if course and init == "scaled":  # the course's order: W / sqrt(n[l-1])
            W = rng.standard_normal((n, n_prev)) / math.sqrt(n_prev)
        elif init == "uniform":
            W = rng.uniform(-scale, scale, (n, n_prev))
        else:
            W = rng.standard_normal((n, n_prev)) * scale
        parameters[f"W{l}"] = W.astype(dtype)
        if l <= len(batch_norm) and batch_norm[l - 1]:
            parameters[f"gamma{l}"] = np.ones((n, 1), dtype=dtype)
            parameters[f"beta{l}"] = np.zeros((n, 1), dtype=dtype)
            parameters[f"mean{l}"] = np.zeros((n, 1), dtype=dtype)
            parameters[f"var{l}"] = np.ones((n, 1), dtype=dtype)
        else:
            parameters[f"b{l}"] = np.zeros((n, 1), dtype=dtype)
    if embedding:
        k, K = embedding[0], sum(embedding[1:])
        E = rng.standard_normal((k, K))
        parameters = {"E1": E.astype(dtype), **parameters}  # E1 first, as in every flat vector
    return parameters
