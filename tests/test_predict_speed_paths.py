"""Prediction's fast path (:mod:`ldnn.model.inference`) computes the notes' forward pass to
the last bit: Z[l] = W[l] . A[l-1] + b[l] and A[l] = g(Z[l]) for l = 1..L (a batch-normalised
layer: Z~[l] = gamma * (Z[l] - mean) / sqrt(var + eps) + beta, the running statistics),
whatever the batch size, the dtype, the output layer and X's memory order; and several
threads predicting with one network at once get the answers that one thread gets.

Bit-identity holds for one thread count: BLAS computes a product of another shape (one
column: a matrix-vector product) in other bits, so the reference is the same products on
the same blocks of columns, never a timing.
"""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.core.activations import get_activation
from ldnn.core.batchnorm import EPSILON
from ldnn.core.propagation import column_blocks, forward, forward_in_blocks
from ldnn.model.inference import BLOCK

SIZES = [1, 2, 255, 256, 1025]
OUTPUTS = {"sigmoid": 1, "softmax": 4, "linear": 2}  # output activation: n[L]


def network(output="softmax", dtype="float64", batch_norm=False, n0=9, seed=0):
    """relu then tanh hidden layers (one g written over Z[l], one beside it), the output
    layer asked for; batch norm's gamma, beta and statistics away from 1 and 0."""
    net = DeepNetwork(
        [n0, 16, 12, OUTPUTS[output]],
        activations=["relu", "tanh"],
        output=output,
        batch_norm=batch_norm,
        dtype=dtype,
        seed=seed,
    )
    net.initialize()
    rng = np.random.default_rng(seed + 1)
    for key, value in net.parameters.items():
        if key.startswith(("gamma", "var")):
            net.parameters[key] = rng.uniform(0.5, 1.5, value.shape).astype(dtype)
        elif key.startswith(("beta", "mean", "b")):
            net.parameters[key] = rng.normal(size=value.shape).astype(dtype)
    return net


def inputs(n0, m, dtype, order="C", seed=3):
    X = np.random.default_rng(seed).normal(size=(n0, m)).astype(dtype)
    return np.asfortranarray(X) if order == "F" else np.ascontiguousarray(X)


def notes_forward(X, parameters, activations):
    """The notes' forward pass, layer by layer, with nothing reused or written in place."""
    A = X
    for l, name in enumerate(activations, start=1):
        Z = parameters[f"W{l}"] @ A
        if f"gamma{l}" in parameters:
            Z_norm = (Z - parameters[f"mean{l}"]) * (1 / np.sqrt(parameters[f"var{l}"] + EPSILON))
            Z = parameters[f"gamma{l}"] * Z_norm + parameters[f"beta{l}"]
        else:
            Z = Z + parameters[f"b{l}"]
        A = get_activation(name).forward(Z)
    return A


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
def test_predictions_are_the_notes_forward_pass_to_the_last_bit(
    m, dtype, output, batch_norm, order
):
    net = network(output, dtype, batch_norm)
    X = inputs(net.layer_dims[0], m, dtype, order)
    expected = notes_forward(X, net.parameters, net.hyperparameters.activations)
    assert expected.dtype == dtype
    for _ in range(2):  # the second time on the arrays the first one left behind
        got = net.predict_proba(X)
        assert got.dtype == dtype and got.shape == (net.layer_dims[-1], m)
        np.testing.assert_array_equal(got, expected)
    # and to the core's forward pass, in one piece and in blocks
    hp = net.hyperparameters
    np.testing.assert_array_equal(forward(X, net.parameters, hp.activations)[0], expected)
    np.testing.assert_array_equal(forward_in_blocks(X, net.parameters, hp.activations), expected)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_large_x_is_the_notes_forward_pass_on_each_block(batch_norm):
    net = network("softmax", "float32", batch_norm)
    m = 2 * BLOCK + 700  # two blocks, the second taking the remainder
    X = inputs(net.layer_dims[0], m, "float32", "F")
    got = net.predict_proba(X)
    activations = net.hyperparameters.activations
    blocks = column_blocks(m, BLOCK)
    assert [b.stop - b.start for b in blocks] == [BLOCK, BLOCK + 700]
    for columns in blocks:
        expected = notes_forward(X[:, columns], net.parameters, activations)
        np.testing.assert_array_equal(got[:, columns], expected)
    # one pass over all of X: the same up to rounding
    whole = notes_forward(X, net.parameters, activations)
    np.testing.assert_allclose(got, whole, rtol=1e-5, atol=1e-6)


def test_other_inputs_are_checked_and_cast_as_before():
    net = network("sigmoid", "float32")
    X = inputs(net.layer_dims[0], 7, "float64")
    cast = net.predict_proba(X.astype(np.float32))
    np.testing.assert_array_equal(net.predict_proba(X), cast)  # float64 X: cast first
    np.testing.assert_array_equal(net.predict_proba(X.tolist()), cast)  # a list
    strided = np.repeat(X.astype(np.float32), 2, axis=1)[:, ::2]  # neither C nor F
    np.testing.assert_array_equal(net.predict_proba(strided), cast)


def test_the_prepared_pass_follows_the_parameters():
    net = network("softmax", "float64", batch_norm=True)
    X = inputs(net.layer_dims[0], 5, "float64")
    first = net.predict_proba(X)
    net.parameters["W2"][:] *= 2  # changed in place: the pass holds the arrays themselves
    doubled = notes_forward(X, net.parameters, net.hyperparameters.activations)
    np.testing.assert_array_equal(net.predict_proba(X), doubled)
    net.parameters["var1"] = net.parameters["var1"] * 3  # a new array in the dict
    expected = notes_forward(X, net.parameters, net.hyperparameters.activations)
    np.testing.assert_array_equal(net.predict_proba(X), expected)
    assert not np.array_equal(expected, first)
    net.parameters = {k: v.copy() for k, v in net.parameters.items()}  # a new dict
    np.testing.assert_array_equal(net.predict_proba(X), expected)
    again = pickle.loads(pickle.dumps(net))  # the prepared pass is a cache: not pickled
    assert "_inference" not in again.__dict__
    np.testing.assert_array_equal(again.predict_proba(X), expected)


def test_threads_predicting_at_once_get_the_answers_of_one_thread():
    net = network("softmax", "float32", batch_norm=True, n0=64)
    batches = [inputs(64, m, "float32", order, seed=m) for m in (1, 3, 256, 1025) for order in "CF"]
    expected = [net.predict_proba(X) for X in batches]
    start, failures = threading.Barrier(8), []

    def predict(k):
        start.wait()  # all eight at once, each in its own order of batch sizes
        for round_ in range(20):
            j = (k + round_) % len(batches)
            if not np.array_equal(net.predict_proba(batches[j]), expected[j]):
                failures.append((k, round_, j))

    threads = [threading.Thread(target=predict, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
