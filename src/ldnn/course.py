"""The course's functional API: deeplearning.ai's *Neural Networks and Deep Learning*.

Week 3 (a shallow network on the planar "flower") and week 4 (the step-by-step deep
network and its cat-classifier application), under the course's own names, arguments,
return structures and cache layouts, so that a learner can paste the course's calls::

    from ldnn.course import *
    X, Y = load_planar_dataset()
    parameters = nn_model(X, Y, n_h=4, num_iterations=10000, print_cost=True)

Every function is a thin wrapper over :mod:`ldnn.propagation` (one source of truth for
the math), but the arithmetic is the course's: float64, and the course's operation order
wherever the core writes a formula differently, so that printed costs agree with the
course to about 1e-12. Those places are exactly three and are marked ``course order``:
the sigmoid and its backward pass, the cross-entropy cost and its gradient dA[L], and the
1/sqrt(n[l-1]) initialisation.

Randomness: this module, and only this one in ldnn, draws from NumPy's legacy global
generator (``np.random.seed`` / ``np.random.randn``) in the course's order (W1, W2, ...,
each b taking no draws), so that ``np.random.seed(k)`` reproduces the course's numbers.
The functions seed as the course does internally; pass ``seed=None`` to keep the global
state as you left it.

Shapes, with X = A[0] of shape (n[0], m), one example per column:
W[l] (n[l], n[l-1]), b[l] (n[l], 1), Z[l] and A[l] (n[l], m), Y (1, m).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .activations import Activation, get_activation
from .errors import ConfigurationError, ShapeError
from .losses import BinaryCrossEntropy
from .optimizers import GradientDescent
from .propagation import LayerCache, backward, forward
from .propagation import linear_backward as _core_linear_backward
from .propagation import linear_forward as _core_linear_forward

__all__ = [
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_forward",
    "linear_activation_forward",
    "L_model_forward",
    "compute_cost",
    "linear_backward",
    "linear_activation_backward",
    "L_model_backward",
    "update_parameters",
    "predict",
    "layer_sizes",
    "forward_propagation",
    "backward_propagation",
    "nn_model",
    "load_planar_dataset",
    "two_layer_model",
    "L_layer_model",
]


# --- the course's arithmetic, as core-compatible activation and loss objects -----------


class CourseSigmoid(Activation):
    """sigmoid(Z) = 1 / (1 + exp(-Z)), exactly as the course writes it.

    The core's sigmoid takes a branch for Z < 0 to avoid overflowing exp(-Z); that
    changes the last bits of A, so here the course's formula is kept (course order). For
    Z < -709 exp(-Z) overflows to inf and NumPy warns, as it does in the course; the
    result, 1 / inf = 0, is still the right limit.
    """

    name = "sigmoid"  # so that the core pairs it with cross-entropy as it does its own

    def forward(self, Z, out=None):
        # ``out`` is the core's buffer hint for training; the course allocates, so do we.
        return 1 / (1 + np.exp(-Z))

    def backward(self, dA, Z, A, out=None):
        # Course order: s is recomputed from Z and dZ = (dA * s) * (1 - s). The core
        # computes dA * (s * (1 - s)), which rounds differently.
        s = 1 / (1 + np.exp(-Z))
        return dA * s * (1 - s)


class CourseCrossEntropy(BinaryCrossEntropy):
    """The course's cross-entropy cost and its gradient dA[L], without clipping.

    ``canonical_activation`` is empty on purpose: the core's backward pass then takes
    dA[L] from :meth:`gradient` and multiplies by sigmoid'(Z[L]), as the course's
    ``L_model_backward`` does, instead of its fused dZ[L] = A[L] - Y.
    """

    name = "binary_crossentropy (course)"
    canonical_activation = ""

    def cost(self, AL, Y, sample_weight=None):
        if sample_weight is not None:
            raise ConfigurationError("the course's cost takes no sample weights")
        # Course order: (1/m) * (-Y . log(AL)^T - (1 - Y) . log(1 - AL)^T), a (1, 1) array.
        # The core clips AL and uses log1p(-AL), which changes the last bits.
        m = Y.shape[1]
        J = (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))
        return float(np.squeeze(J))  # the core's contract: a Python float (exact here)

    def gradient(self, AL, Y):
        # dL/da = -(y/a - (1 - y)/(1 - a)), as the course writes it (course order).
        return -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))


SIGMOID = CourseSigmoid()
CROSS_ENTROPY = CourseCrossEntropy()
_RELU = get_activation("relu")  # max(0, Z) and dZ = dA * (Z > 0): the course's arithmetic
_TANH = get_activation("tanh")  # tanh(Z) and dZ = dA * (1 - A * A): the course's too


def course_activations(L: int, hidden: str = "relu") -> list[Activation]:
    """The activations of the course's L-layer model: ``hidden`` for 1..L-1, sigmoid for L.

    Pass them with :data:`CROSS_ENTROPY` to the core's ``forward``, ``backward`` or
    :func:`ldnn.gradcheck.gradcheck` to run the exact computation of this module.
    """
    return [_activation(hidden)] * (L - 1) + [SIGMOID]


def _activation(name: str) -> Activation:
    try:
        return {"sigmoid": SIGMOID, "relu": _RELU, "tanh": _TANH}[name]
    except KeyError:
        raise ConfigurationError(
            f"activation must be 'sigmoid', 'relu' or 'tanh', got {name!r}"
        ) from None


# --- initialisation --------------------------------------------------------------------


def _draw_parameters(layer_dims: Sequence[int], seed: int | None, init: str) -> dict:
    if init not in ("course", "scaled"):
        raise ConfigurationError(f"init must be 'course' (* 0.01) or 'scaled', got {init!r}")
    if seed is not None:
        np.random.seed(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):
        W = np.random.randn(layer_dims[l], layer_dims[l - 1])
        # Course order for "scaled": divide by sqrt(n[l-1]); the core multiplies by its
        # reciprocal, which rounds differently.
        W = W * 0.01 if init == "course" else W / np.sqrt(layer_dims[l - 1])
        parameters[f"W{l}"] = W
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


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
    g = _activation(activation)
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
    L = len(parameters) // 2
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
    return _core_linear_backward(dZ, cache)


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
    g = _activation(activation)
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
    return backward(AL, Y, layer_caches, course_activations(L), CROSS_ENTROPY)


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
    A2, (c1, c2) = forward(X, parameters, [_TANH, SIGMOID])
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
    grads = backward(cache["A2"], Y, caches, [_TANH, SIGMOID], "binary_crossentropy")
    return {key: grads[key] for key in ("dW1", "db1", "dW2", "db2")}


def nn_model(
    X,
    Y,
    n_h: int,
    num_iterations: int = 10000,
    print_cost: bool = False,
    *,
    learning_rate: float = 1.2,
    seed: int | None = 2,
) -> dict:
    """Week 3's model: [n_x, n_h, 1] with a tanh hidden layer and a sigmoid output.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (1, m)
    n_h : int
    num_iterations : int
    print_cost : bool
        Print ``Cost after iteration i: c`` (``%f``) every 1000 iterations.
    learning_rate : float, default 1.2
    seed : int or None, default 2
        The seed of week 3's ``initialize_parameters``.

    Returns
    -------
    parameters : dict with W1 (n_h, n_x), b1, W2 (1, n_h), b2
    """
    n_x, _, n_y = layer_sizes(X, Y)
    parameters = initialize_parameters(n_x, n_h, n_y, seed=seed)
    for i in range(num_iterations):
        A2, cache = forward_propagation(X, parameters)
        cost = compute_cost(A2, Y, parameters)
        grads = backward_propagation(parameters, cache, X, Y)
        parameters = update_parameters(parameters, grads, learning_rate)
        if print_cost and i % 1000 == 0:
            print(f"Cost after iteration {i}: {cost:f}")  # the course's "%i: %f"
    return parameters


def load_planar_dataset():
    """Week 3's two-class "flower": 400 points in the plane, 200 per class, not shuffled.

    With ``np.random.seed(1)`` and amplitude a = 4, class j = 0, 1 has angles
    t = linspace(3.12 j, 3.12 (j + 1), 200) + 0.2 N(0, 1) (drawn first) and radii
    r = a sin(4 t) + 0.2 N(0, 1) (drawn second); its points are (r sin t, r cos t).

    Returns
    -------
    X : ndarray of shape (2, 400), float64
    Y : ndarray of shape (1, 400), uint8 labels (as the course returns them)
    """
    np.random.seed(1)
    m, a = 400, 4
    N = m // 2
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1), dtype="uint8")
    for j in range(2):
        rows = slice(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[rows] = j
    return X.T, Y.T


# --- week 4: the application's models ------------------------------------------------


def _train(X, Y, parameters, step, learning_rate, num_iterations, print_cost):
    """The course's loop: one full-batch step per iteration, costs every 100 iterations."""
    costs = []
    for i in range(num_iterations):
        cost, grads = step(parameters)
        parameters = update_parameters(parameters, grads, learning_rate)
        # The course writes ``print_cost and i % 100 == 0 or i == num_iterations - 1``,
        # which by precedence prints the last cost even with print_cost=False; here
        # print_cost governs both.
        if print_cost and (i % 100 == 0 or i == num_iterations - 1):
            print(f"Cost after iteration {i}: {cost}")
        if i % 100 == 0:
            costs.append(cost)
    return parameters, costs


def two_layer_model(
    X,
    Y,
    layers_dims: Sequence[int],
    learning_rate: float = 0.0075,
    num_iterations: int = 3000,
    print_cost: bool = False,
    *,
    seed: int | None = 1,
):
    """LINEAR -> RELU -> LINEAR -> SIGMOID, trained by full-batch gradient descent.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (1, m)
    layers_dims : (n_x, n_h, n_y)
    learning_rate : float, default 0.0075
    num_iterations : int, default 3000
    print_cost : bool
        Print ``Cost after iteration i: c`` every 100 iterations and at the last one.
    seed : int or None, default 1
        W * 0.01 drawn after ``np.random.seed(seed)``.

    Returns
    -------
    parameters : dict
    costs : list of 0-d ndarrays, the costs at iterations 0, 100, 200, ...
    """
    n_x, n_h, n_y = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y, seed=seed)

    def step(parameters):
        A1, cache1 = linear_activation_forward(X, parameters["W1"], parameters["b1"], "relu")
        A2, cache2 = linear_activation_forward(A1, parameters["W2"], parameters["b2"], "sigmoid")
        cost = compute_cost(A2, Y)
        dA2 = CROSS_ENTROPY.gradient(A2, Y)
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, "sigmoid")
        _, dW1, db1 = linear_activation_backward(dA1, cache1, "relu")
        return cost, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}

    return _train(X, Y, parameters, step, learning_rate, num_iterations, print_cost)


def L_layer_model(
    X,
    Y,
    layers_dims: Sequence[int],
    learning_rate: float = 0.0075,
    num_iterations: int = 3000,
    print_cost: bool = False,
    *,
    seed: int | None = 1,
    init: str = "scaled",
):
    """[LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID, trained by full-batch gradient descent.

    Parameters
    ----------
    X : ndarray of shape (n[0], m)
    Y : ndarray of shape (1, m)
    layers_dims : [n0, n1, ..., nL]
    learning_rate, num_iterations, print_cost
        As in :func:`two_layer_model`.
    seed : int or None, default 1
    init : {"scaled", "course"}, default "scaled"
        The application draws W[l] / sqrt(n[l-1]).

    Returns
    -------
    parameters : dict
    costs : list of 0-d ndarrays, the costs at iterations 0, 100, 200, ...
    """
    parameters = initialize_parameters_deep(layers_dims, seed=seed, init=init)

    def step(parameters):
        AL, caches = L_model_forward(X, parameters)
        return compute_cost(AL, Y), L_model_backward(AL, Y, caches)

    return _train(X, Y, parameters, step, learning_rate, num_iterations, print_cost)
