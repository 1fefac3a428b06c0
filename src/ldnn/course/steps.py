"""The course's step-by-step functions (weeks 3 and 4) under their course names: the
initialisations, forward and backward passes, the cost, the update and predict, as thin
wrappers over :mod:`ldnn.core.propagation`."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

from ..core.initializers import initialize_parameters as initialize_parameters_core
from ..core.losses import ExampleWeights
from ..core.optimizers import GradientDescent
from ..core.parameters import number_of_layers
from ..core.propagation import LayerCache, backward, forward
from ..core.propagation import linear_backward as _core_linear_backward
from ..core.propagation import linear_forward as _core_linear_forward
from ..errors import ConfigurationError, ShapeError
from .arithmetic import CROSS_ENTROPY, SIGMOID, TANH, course_activation, course_activations

# --- initialisation --------------------------------------------------------------------


def _draw_parameters(layer_dims: Sequence[int], seed: int | None, init: str) -> dict:
    if init not in ("course", "scaled"):
        raise ConfigurationError(f"init must be 'course' (* 0.01) or 'scaled', got {init!r}")
    if seed is not None:
        np.random.seed(seed)
    with global_generator() as generator:
        return initialize_parameters_core(layer_dims, init, rng=generator)


@contextlib.contextmanager
def global_generator():
    """The course draws from the global generator np.random.seed seeds: lend a copy of
    it, and leave the global one where the course's own draws would have left it."""
    generator = np.random.RandomState()
    generator.set_state(np.random.get_state())
    yield generator
    np.random.set_state(generator.get_state())


def initialize_parameters(
    n_x: int, n_h: int, n_y: int, *, seed: int | None = 1, init: str = "course"
) -> dict:
    """Parameters of the two-layer model [n_x, n_h, n_y], drawn as the course draws them.

    Parameters
    ----------
    n_x, n_h, n_y : int
        n[0], n[1], n[2].
    seed : int or None, default 1
        Passed to ``np.random.seed`` first, as the course does; None draws from the global
        state as it is. (Week 3's notebook seeds 2; :func:`nn_model` passes that.)
    init : {"course", "scaled"}
        W * 0.01, or W / sqrt(n[l-1]).

    Returns
    -------
    dict
        W1 (n_h, n_x), b1 (n_h, 1) zeros, W2 (n_y, n_h), b2 (n_y, 1) zeros.
    """
    return _draw_parameters([n_x, n_h, n_y], seed, init)


def initialize_parameters_deep(
    layer_dims: Sequence[int], *, seed: int | None = 3, init: str = "course"
) -> dict:
    """Parameters of an L-layer model, layer_dims = [n0, n1, ..., nL].

    The defaults are the step-by-step assignment's (seed 3, W * 0.01); the application's
    deep model uses ``seed=1, init="scaled"`` (W / sqrt(n[l-1])).

    Returns
    -------
    dict
        W{l} of shape (n[l], n[l-1]) drawn in the order W1, W2, ..., b{l} zeros (n[l], 1).
    """
    return _draw_parameters(list(layer_dims), seed, init)


# --- forward -------------------------------------------------------------------------


def linear_forward(A, W, b):
    """Z = W . A + b.

    Parameters
    ----------
    A : ndarray of shape (n[l-1], m)
    W : ndarray of shape (n[l], n[l-1])
    b : ndarray of shape (n[l], 1)

    Returns
    -------
    Z : ndarray of shape (n[l], m)
    cache : tuple (A, W, b)
    """
    return _core_linear_forward(A, W, b), (A, W, b)


def linear_activation_forward(A_prev, W, b, activation: str):
    """A[l] = g(W[l] . A[l-1] + b[l]) with g = "sigmoid", "relu" or "tanh".

    Returns
    -------
    A : ndarray of shape (n[l], m)
    cache : tuple (linear_cache, activation_cache)
        linear_cache = (A_prev, W, b); activation_cache = Z of shape (n[l], m).
    """
    g = course_activation(activation)
    Z, linear_cache = linear_forward(A_prev, W, b)
    return g.forward(Z), (linear_cache, Z)


def L_model_forward(X, parameters: dict):
    """[LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID, through the core's ``forward``.

    Parameters
    ----------
    X : ndarray of shape (n[0], m)
    parameters : dict
        W1..WL, b1..bL.

    Returns
    -------
    AL : ndarray of shape (1, m)
    caches : list of L tuples ((A_prev, W, b), Z), caches[l-1] for layer l
    """
    L = number_of_layers(parameters)
    AL, layer_caches = forward(X, parameters, course_activations(L))
    return AL, [(c.linear_cache, c.Z) for c in layer_caches]


def compute_cost(AL, Y, parameters: dict | None = None):
    """J = -(1/m) sum_i [ y(i) log a(i) + (1 - y(i)) log(1 - a(i)) ], squeezed to 0-d.

    Parameters
    ----------
    AL : ndarray of shape (1, m)
    Y : ndarray of shape (1, m), labels 0/1
    parameters : dict, optional
        Ignored; accepted so that week 3's ``compute_cost(A2, Y, parameters)`` runs too.

    Returns
    -------
    cost : 0-d ndarray (float64)
    """
    return np.squeeze(CROSS_ENTROPY.cost(AL, Y))


# --- backward ------------------------------------------------------------------------


def linear_backward(dZ, cache):
    """dA[l-1], dW[l], db[l] from dZ[l] and the cache (A_prev, W, b).

    dW = (1/m) dZ . A_prev^T,  db = (1/m) sum over columns of dZ,  dA_prev = W^T . dZ.

    Returns
    -------
    dA_prev : ndarray of shape (n[l-1], m)
    dW : ndarray of shape (n[l], n[l-1])
    db : ndarray of shape (n[l], 1)
    """
    dA_prev, dW, db = _core_linear_backward(dZ, cache)
    m = cache[0].shape[1]
    # The core's plain sums, times the course's 1/m.
    return dA_prev, 1.0 / m * dW, None if db is None else 1.0 / m * db


def linear_activation_backward(dA, cache, activation: str):
    """dZ[l] = dA[l] * g'(Z[l]), then :func:`linear_backward`.

    Parameters
    ----------
    dA : ndarray of shape (n[l], m)
    cache : tuple ((A_prev, W, b), Z)
    activation : {"sigmoid", "relu", "tanh"}

    Returns
    -------
    dA_prev, dW, db
    """
    g = course_activation(activation)
    linear_cache, Z = cache
    # The course keeps only Z; A = g(Z) is recomputed (bit for bit the forward's A).
    dZ = g.backward(dA, Z, g.forward(Z))
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    """Gradients of the cross-entropy cost, through the core's ``backward``.

    As in the course, dA[L] = -(Y / AL - (1 - Y) / (1 - AL)) and dZ[L] = dA[L] * s (1 - s)
    (not the fused A[L] - Y, which is equal in exact arithmetic only).

    Parameters
    ----------
    AL : ndarray of shape (1, m)
    Y : ndarray of shape (1, m)
    caches : list of ((A_prev, W, b), Z), from :func:`L_model_forward`

    Returns
    -------
    grads : dict
        dA0..dA(L-1) (dA[l] of shape (n[l], m)), dW1..dWL, db1..dbL.
    """
    L = len(caches)
    # The core's cache also holds A[l]: it is the next layer's A_prev, and AL for l = L.
    layer_caches = [
        LayerCache(lin, Z, caches[l + 1][0][0] if l < L - 1 else AL)
        for l, (lin, Z) in enumerate(caches)
    ]
    return _per_example(AL, Y, layer_caches, course_activations(L), CROSS_ENTROPY)


def update_parameters(parameters: dict, grads: dict, learning_rate: float = 1.2) -> dict:
    """One gradient-descent step, W[l] - learning_rate * dW[l] and likewise for b[l].

    The default 1.2 is week 3's; week 4 always passes its own. Returns a new dict of new
    arrays; ``parameters`` is not mutated.
    """
    updated = {key: np.array(value, copy=True) for key, value in parameters.items()}
    GradientDescent().update(updated, grads, learning_rate)
    return updated


def predict(X, y=None, parameters: dict | None = None):
    """0/1 predictions, threshold 0.5, as the course computes them.

    Two forms, as in the course:

    - week 4, ``predict(X, y, parameters)``: the L-layer model; prints
      ``Accuracy: <fraction>`` and returns p, a float ndarray of shape (1, m).
    - week 3, ``predict(parameters, X)``: the tanh network of :func:`nn_model`; returns a
      boolean ndarray of shape (1, m) and prints nothing.
    """
    if isinstance(X, dict):
        parameters, X = X, y
        A2, _ = forward_propagation(X, parameters)
        return A2 > 0.5
    if parameters is None:
        raise ShapeError("predict(X, y, parameters) needs the parameters dict")
    if y is None:
        raise ShapeError(
            "predict(X, y, parameters) needs y, the true labels, for the accuracy it prints; "
            "week 3's predictions alone are predict(parameters, X)"
        )
    m = X.shape[1]
    probas, _ = L_model_forward(X, parameters)
    p = (probas > 0.5).astype(np.float64)
    # Course order: the sum of m terms 1/m, whose last digits differ from count / m.
    print("Accuracy: " + str(np.sum((p == y) / m)))
    return p


# --- week 3: a shallow network on the planar data --------------------------------------


def layer_sizes(X, Y):
    """(n_x, n_h, n_y) = (X.shape[0], 4, Y.shape[0]), week 3's sizes."""
    return X.shape[0], 4, Y.shape[0]


def forward_propagation(X, parameters: dict):
    """Week 3's forward pass: A1 = tanh(W1 X + b1), A2 = sigmoid(W2 A1 + b2).

    Returns
    -------
    A2 : ndarray of shape (1, m)
    cache : dict with Z1, A1 (n_h, m) and Z2, A2 (1, m)
    """
    A2, (c1, c2) = forward(X, parameters, [TANH, SIGMOID])
    return A2, {"Z1": c1.Z, "A1": c1.A, "Z2": c2.Z, "A2": c2.A}


def backward_propagation(parameters: dict, cache: dict, X, Y):
    """Week 3's backward pass: dZ2 = A2 - Y, dZ1 = W2^T dZ2 * (1 - A1^2).

    Here the course itself uses the fused dZ2 = A2 - Y, which is what the core does for
    sigmoid with cross-entropy, so the core's loss is used as it is.

    Returns
    -------
    grads : dict with dW1 (n_h, n_x), db1 (n_h, 1), dW2 (1, n_h), db2 (1, 1)
    """
    caches = [
        LayerCache((X, parameters["W1"], parameters["b1"]), cache["Z1"], cache["A1"]),
        LayerCache((cache["A1"], parameters["W2"], parameters["b2"]), cache["Z2"], cache["A2"]),
    ]
    grads = _per_example(cache["A2"], Y, caches, [TANH, SIGMOID], "binary_crossentropy")
    return {key: grads[key] for key in ("dW1", "db1", "dW2", "db2")}


def _per_example(AL, Y, caches, activations, loss) -> dict:
    """The core's backward in the course's form: each example weighing 1, so that dA[l]
    and dZ[l] are the notes' per-example ones, and then the course's 1/m on each sum,
    dW = (1/m) dZ . A_prev^T and db = (1/m) sum of dZ."""
    m = AL.shape[1]
    grads = backward(AL, Y, caches, activations, loss, weights=ExampleWeights(1.0, m, m))
    for name in grads:
        if not name.startswith("dA"):
            grads[name] = 1.0 / m * grads[name]
    return grads
