"""backward's named options: each example's weight in the sums (``weights``, said once),
arrays lent by a workspace (which change no number), and ``in_place`` (dZ[l] written over
dA[l], which changes no dW or db)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from conftest import layer_dims, random_parameters, random_targets
from ldnn import backward, forward
from ldnn.core.losses import ExampleWeights, example_weights
from ldnn.core.workspace import Workspace

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
OUTPUT = {
    "binary_crossentropy": "sigmoid",
    "categorical_crossentropy": "softmax",
    "mean_squared_error": "linear",
}


def case(dims, hidden, loss, m, seed):
    rng = np.random.default_rng(seed)
    parameters = random_parameters(dims, rng)
    X = rng.standard_normal((dims[0], m))
    Y = random_targets(loss, dims[-1], m, rng)
    activations = [hidden] * (len(dims) - 2) + [OUTPUT[loss]]
    return parameters, X, Y, activations, rng


def gradients(parameters, X, Y, activations, loss, workspace=None, in_place=False, **options):
    AL, caches = forward(X, parameters, activations, workspace=workspace, in_place=in_place)
    grads = backward(
        AL, Y, caches, activations, loss, workspace=workspace, in_place=in_place, **options
    )
    return {k: np.array(v) for k, v in grads.items()}  # copies: workspace arrays are reused


#: Random networks, batches and targets for every output layer and loss.
CASES = {
    "dims": layer_dims(max_layers=4, max_units=5, min_layers=2),
    "hidden": st.sampled_from(ACTIVATIONS),
    "loss": st.sampled_from(sorted(OUTPUT)),
    "m": st.integers(1, 9),
    "seed": st.integers(0, 10_000),
}


def classes_fit(loss, dims):
    return [*dims[:-1], 2] if loss == "categorical_crossentropy" and dims[-1] < 2 else dims


@given(**CASES)
def test_a_workspace_alone_changes_no_number(dims, hidden, loss, m, seed):
    parameters, X, Y, activations, rng = case(classes_fit(loss, dims), hidden, loss, m, seed)
    weights = example_weights(m, rng.random(m) + 0.1)
    plain = gradients(parameters, X, Y, activations, loss, lambd=0.3, weights=weights)
    lent = gradients(parameters, X, Y, activations, loss, Workspace(), lambd=0.3, weights=weights)
    assert plain.keys() == lent.keys()
    for key in plain:
        assert np.array_equal(plain[key], lent[key]), key


@given(**CASES, weighted=st.booleans())
def test_in_place_changes_no_dW_or_db(dims, hidden, loss, m, seed, weighted):
    parameters, X, Y, activations, rng = case(classes_fit(loss, dims), hidden, loss, m, seed)
    weights = example_weights(m, rng.random(m) + 0.1 if weighted else None)
    options = {"lambd": 0.3, "weights": weights, "input_gradient": False}
    apart = gradients(parameters, X, Y, activations, loss, Workspace(), **options)
    over = gradients(parameters, X, Y, activations, loss, Workspace(), in_place=True, **options)
    for key in apart:
        if not key.startswith("dA"):
            assert np.array_equal(over[key], apart[key]), key


@given(**CASES, counts=st.lists(st.integers(1, 3), min_size=9, max_size=9))
def test_whole_sample_weights_are_repeated_examples(dims, hidden, loss, m, seed, counts):
    # An independent check of w_i / sum w: weight k on an example is that example k times.
    parameters, X, Y, activations, _ = case(classes_fit(loss, dims), hidden, loss, m, seed)
    w = np.array(counts[:m], dtype=np.float64)
    weighted = gradients(
        parameters, X, Y, activations, loss, lambd=0.3, weights=example_weights(m, w)
    )
    repeat = np.repeat(np.arange(m), counts[:m])
    # the L2 term's lambd / m stays the batch's m: the repeats are not more examples
    same_l2 = ExampleWeights(1 / repeat.size, repeat.size, m)
    repeated = gradients(
        parameters, X[:, repeat], Y[:, repeat], activations, loss, lambd=0.3, weights=same_l2
    )
    for key in weighted:
        if not key.startswith("dA"):
            assert_allclose(weighted[key], repeated[key], rtol=1e-10, atol=1e-13, err_msg=key)


def test_with_in_place_the_dA_arrays_are_scratch():
    # relu's dZ[l] overwrites dA[l]: the dict's dA is then dZ, not dA.
    parameters, X, Y, activations, _ = case([3, 4, 4, 1], "relu", "binary_crossentropy", 6, 0)
    notes = gradients(parameters, X, Y, activations, "binary_crossentropy")
    AL, caches = forward(X, parameters, activations, workspace=(ws := Workspace()), in_place=True)
    grads = backward(AL, Y, caches, activations, "binary_crossentropy", workspace=ws, in_place=True)
    assert_allclose(grads["dA1"], notes["dA1"] * (caches[0].Z > 0), rtol=1e-12)


@pytest.mark.parametrize("m", [1, 5])
def test_the_notes_one_over_m_by_default(m):
    parameters, X, Y, activations, _ = case([2, 3, 1], "tanh", "mean_squared_error", m, 1)
    grads = gradients(parameters, X, Y, activations, "mean_squared_error")
    # dW[L] = (1/m) dZ[L] A[L-1]^T with dZ[L] = A[L] - Y (linear output, squared error)
    AL, caches = forward(X, parameters, activations)
    A1 = caches[1].linear_cache[0]
    assert_allclose(grads["dW2"], (AL - Y) @ A1.T / m, rtol=1e-13)
    assert_allclose(grads["db2"], (AL - Y).sum(axis=1, keepdims=True) / m, rtol=1e-13)
    # dA[1] = W[2]^T dZ[2]: the gradient of J, each example's column weighing 1/m
    assert_allclose(grads["dA1"], parameters["W2"].T @ (AL - Y) / m, rtol=1e-13)
