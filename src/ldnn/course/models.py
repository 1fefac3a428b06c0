"""The course's models, trained by full-batch gradient descent as the notebooks train
them: week 3's shallow network on the planar data, week 4's two-layer and L-layer models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.datasets import make_planar
from .arithmetic import CROSS_ENTROPY
from .steps import (
    L_model_backward,
    L_model_forward,
    backward_propagation,
    compute_cost,
    forward_propagation,
    global_generator,
    initialize_parameters,
    initialize_parameters_deep,
    layer_sizes,
    linear_activation_backward,
    linear_activation_forward,
    update_parameters,
)

# --- week 3: a shallow network on the planar data --------------------------------------


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
    r = a sin(4 t) + 0.2 N(0, 1) (drawn second); its points are (r sin t, r cos t)
    (:func:`ldnn.data.datasets.make_planar`, drawing from the global generator).

    Returns
    -------
    X : ndarray of shape (2, 400), float64
    Y : ndarray of shape (1, 400), uint8 labels (as the course returns them)
    """
    np.random.seed(1)
    with global_generator() as generator:
        X, Y = make_planar(400, generator)
    return X, Y.astype("uint8")


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
