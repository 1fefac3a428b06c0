"""backward's two forms of the same formulas: the notes' (each dW[l], db[l] takes its 1/m)
and training's (the 1/m applied once, to dZ[L], dZ[l] written over dA[l]). The mode is the
named argument ``training``; a workspace alone only lends arrays and changes no number."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from conftest import layer_dims, random_parameters, random_targets
from ldnn import backward, forward
from ldnn.workspace import Workspace

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
OUTPUT = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax",
          "mean_squared_error": "linear"}  # fmt: skip


def case(dims, hidden, loss, m, seed):
    rng = np.random.default_rng(seed)
    parameters = random_parameters(dims, rng)
    X = rng.standard_normal((dims[0], m))
    Y = random_targets(loss, dims[-1], m, rng)
    activations = [hidden] * (len(dims) - 2) + [OUTPUT[loss]]
    return parameters, X, Y, activations, rng


def gradients(parameters, X, Y, activations, loss, workspace=None, **options):
    AL, caches = forward(X, parameters, activations, workspace=workspace)
    grads = backward(AL, Y, caches, activations, loss, workspace=workspace, **options)
    return {k: np.array(v) for k, v in grads.items()}  # copies: workspace arrays are reused


#: Random networks, batches and targets for every output layer and loss.
CASES = {
    "dims": layer_dims(max_layers=4, max_units=5, min_layers=2),
    "hidden": st.sampled_from(ACTIVATIONS),
    "loss": st.sampled_from(sorted(OUTPUT)),
    "m": st.integers(1, 9),
    "seed": st.integers(0, 10_000),
}


@given(**CASES)
def test_a_workspace_alone_changes_no_number(dims, hidden, loss, m, seed):
    if loss == "categorical_crossentropy" and dims[-1] < 2:
        dims = [*dims[:-1], 2]
    parameters, X, Y, activations, rng = case(dims, hidden, loss, m, seed)
    w = rng.random(m) + 0.1
    plain = gradients(parameters, X, Y, activations, loss, lambd=0.3, sample_weight=w)
    lent = gradients(parameters, X, Y, activations, loss, Workspace(), lambd=0.3, sample_weight=w)
    assert plain.keys() == lent.keys()
    for key in plain:
        assert np.array_equal(plain[key], lent[key]), key


@given(**CASES, weighted=st.booleans())
def test_the_training_form_gives_the_same_dW_and_db(dims, hidden, loss, m, seed, weighted):
    if loss == "categorical_crossentropy" and dims[-1] < 2:
        dims = [*dims[:-1], 2]
    parameters, X, Y, activations, rng = case(dims, hidden, loss, m, seed)
    w = rng.random(m) + 0.1 if weighted else None
    options = {"lambd": 0.3, "sample_weight": w, "input_gradient": False}
    notes = gradients(parameters, X, Y, activations, loss, **options)
    trained = gradients(parameters, X, Y, activations, loss, Workspace(), training=True, **options)
    alone = gradients(parameters, X, Y, activations, loss, training=True, **options)
    L = len(dims) - 1
    for l in range(1, L + 1):
        for key in (f"dW{l}", f"db{l}"):
            assert_allclose(trained[key], notes[key], rtol=1e-12, atol=1e-14, err_msg=key)
            assert np.array_equal(alone[key], trained[key]), key  # the workspace only lends


def test_in_training_the_dA_arrays_are_scratch():
    # relu's dZ[l] overwrites dA[l] in training: the dict's dA is then dZ, not dA.
    parameters, X, Y, activations, _ = case([3, 4, 4, 1], "relu", "binary_crossentropy", 6, 0)
    notes = gradients(parameters, X, Y, activations, "binary_crossentropy")
    AL, caches = forward(X, parameters, activations, workspace=(ws := Workspace()))
    grads = backward(AL, Y, caches, activations, "binary_crossentropy", workspace=ws, training=True)
    dZ1_over_m = notes["dA1"] * (caches[0].Z > 0) / X.shape[1]
    assert_allclose(grads["dA1"], dZ1_over_m, rtol=1e-12)


@pytest.mark.parametrize("m", [1, 5])
def test_the_notes_form_needs_no_workspace(m):
    parameters, X, Y, activations, _ = case([2, 3, 1], "tanh", "mean_squared_error", m, 1)
    grads = gradients(parameters, X, Y, activations, "mean_squared_error")
    # dW[L] = (1/m) dZ[L] A[L-1]^T with dZ[L] = A[L] - Y (linear output, squared error)
    AL, caches = forward(X, parameters, activations)
    A1 = caches[1].linear_cache[0]
    assert_allclose(grads["dW2"], (AL - Y) @ A1.T / m, rtol=1e-13)
    assert_allclose(grads["db2"], (AL - Y).sum(axis=1, keepdims=True) / m, rtol=1e-13)
