"""The optimised training step against a straightforward implementation of the notes'
formulas written here: plain NumPy, a new array for every result, one loop.

Same seed, same draws in the same order (initialisation, then per epoch the shuffle and
per step the dropout masks), float64: the parameters must agree to 1e-12 after several
epochs, for every optimizer, with L2 and dropout.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ldnn import DeepNetwork, initialize_parameters


def reference_training(
    X,
    Y,
    dims,
    optimizer,
    *,
    lr,
    lambd,
    keep_prob,
    epochs,
    batch_size,
    seed,
    beta=0.9,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
):
    rng = np.random.default_rng(seed)
    params = initialize_parameters(dims, "he", rng=rng)
    L = len(dims) - 1
    v = {k: np.zeros_like(p) for k, p in params.items()}
    s = {k: np.zeros_like(p) for k, p in params.items()}
    t = 0
    m_all = X.shape[1]
    for _ in range(epochs):
        order = rng.permutation(m_all)
        for start in range(0, m_all, batch_size):
            idx = order[start : start + batch_size]
            A, Yb = X[:, idx], Y[:, idx]
            m = A.shape[1]
            cache = []
            for l in range(1, L + 1):
                Z = params[f"W{l}"] @ A + params[f"b{l}"]
                A_new = np.maximum(Z, 0) if l < L else 1 / (1 + np.exp(-Z))
                D = None
                if l < L and keep_prob < 1:
                    D = (rng.random(A_new.shape) < keep_prob) / keep_prob
                cache.append((A, Z, D))
                A = A_new * D if D is not None else A_new
            grads = {}
            dZ = A - Yb
            for l in range(L, 0, -1):
                A_prev, Z, _ = cache[l - 1]
                W = params[f"W{l}"]
                grads[f"W{l}"] = dZ @ A_prev.T / m + lambd / m * W
                grads[f"b{l}"] = dZ.sum(axis=1, keepdims=True) / m
                if l > 1:
                    dA = W.T @ dZ
                    D_prev = cache[l - 2][2]
                    if D_prev is not None:
                        dA = dA * D_prev
                    dZ = dA * (cache[l - 2][1] > 0)
            t += 1
            for k in params:
                g = grads[k]
                if optimizer == "gd":
                    params[k] = params[k] - lr * g
                elif optimizer == "momentum":
                    v[k] = beta * v[k] + (1 - beta) * g
                    params[k] = params[k] - lr * v[k]
                elif optimizer == "rmsprop":
                    s[k] = beta2 * s[k] + (1 - beta2) * g**2
                    params[k] = params[k] - lr * g / (np.sqrt(s[k]) + eps)
                else:
                    v[k] = beta1 * v[k] + (1 - beta1) * g
                    s[k] = beta2 * s[k] + (1 - beta2) * g**2
                    v_hat = v[k] / (1 - beta1**t)
                    s_hat = s[k] / (1 - beta2**t)
                    params[k] = params[k] - lr * v_hat / (np.sqrt(s_hat) + eps)
    return params


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize(("lambd", "keep_prob"), [(0.0, 1.0), (0.3, 1.0), (0.2, 0.8)])
def test_training_matches_the_reference(optimizer, lambd, keep_prob):
    rng = np.random.default_rng(11)
    dims = [5, 8, 6, 1]
    X = rng.standard_normal((5, 70))
    Y = (X[0] + X[1] ** 2 > 0.5).astype(float).reshape(1, -1)
    lr = 0.05 if optimizer in ("gd", "momentum") else 0.005
    settings = dict(lr=lr, lambd=lambd, keep_prob=keep_prob, epochs=3, batch_size=16, seed=4)
    expected = reference_training(X, Y, dims, optimizer, **settings)
    net = DeepNetwork(
        dims,
        activations="relu",
        optimizer=optimizer,
        learning_rate=lr,
        lambd=lambd,
        keep_prob=keep_prob,
        epochs=3,
        batch_size=16,
        seed=4,
        dtype="float64",
    )
    net.fit(X, Y)
    for key, value in expected.items():
        assert_allclose(net.parameters[key], value, rtol=1e-12, atol=1e-14, err_msg=key)


def test_reference_catches_a_different_step():
    # The comparison can fail: one more epoch in the network gives different numbers.
    rng = np.random.default_rng(11)
    X = rng.standard_normal((5, 40))
    Y = (X[0] > 0).astype(float).reshape(1, -1)
    expected = reference_training(
        X, Y, [5, 4, 1], "gd", lr=0.1, lambd=0.0, keep_prob=1.0, epochs=2, batch_size=16, seed=0
    )
    net = DeepNetwork(
        [5, 4, 1], learning_rate=0.1, epochs=3, batch_size=16, seed=0, dtype="float64"
    )
    net.fit(X, Y)
    assert not np.allclose(net.parameters["W1"], expected["W1"], rtol=1e-12)


# g and dZ = dA * g'(Z) written out for the reference, one pair per hidden activation.
def _softmax(Z):
    e = np.exp(Z - Z.max(axis=0))
    return e / e.sum(axis=0)


HIDDEN = {
    "relu": (lambda Z: np.maximum(Z, 0), lambda dA, Z, A: dA * (Z > 0)),
    "leaky_relu": (
        lambda Z: np.where(Z > 0, Z, 0.01 * Z),
        lambda dA, Z, A: dA * np.where(Z > 0, 1.0, 0.01),
    ),
    "tanh": (np.tanh, lambda dA, Z, A: dA * (1 - A**2)),
    "sigmoid": (lambda Z: 1 / (1 + np.exp(-Z)), lambda dA, Z, A: dA * A * (1 - A)),
    "linear": (lambda Z: Z, lambda dA, Z, A: dA),
    "softmax": (_softmax, lambda dA, Z, A: A * (dA - (dA * A).sum(axis=0))),
}


def reference_softmax_training(X, labels, dims, hidden, *, lr, epochs, batch_size, seed):
    """Plain gradient descent, softmax output, categorical cross-entropy, one-hot Y."""
    g, backward_g = HIDDEN[hidden]
    rng = np.random.default_rng(seed)
    params = initialize_parameters(dims, "he" if "relu" in hidden else "xavier", rng=rng)
    L = len(dims) - 1
    Y = np.eye(dims[-1])[:, labels]
    for _ in range(epochs):
        order = rng.permutation(X.shape[1])
        for start in range(0, X.shape[1], batch_size):
            idx = order[start : start + batch_size]
            A, Yb, m = X[:, idx], Y[:, idx], len(idx)
            cache = []
            for l in range(1, L + 1):
                Z = params[f"W{l}"] @ A + params[f"b{l}"]
                cache.append((A, Z))
                A = g(Z) if l < L else _softmax(Z)
            dZ = A - Yb
            grads = {}
            for l in range(L, 0, -1):
                A_prev, _ = cache[l - 1]
                grads[f"W{l}"] = dZ @ A_prev.T / m
                grads[f"b{l}"] = dZ.sum(axis=1, keepdims=True) / m
                if l > 1:
                    dA = params[f"W{l}"].T @ dZ
                    Z_prev = cache[l - 2][1]
                    dZ = backward_g(dA, Z_prev, g(Z_prev))
            for k in params:
                params[k] = params[k] - lr * grads[k]
    return params


@pytest.mark.parametrize("hidden", sorted(HIDDEN))
def test_hidden_activations_and_class_labels_match_the_reference(hidden):
    # Integer labels (training makes each batch's one-hot) and every hidden activation,
    # including those whose A[l] overwrites Z[l] and dZ[l] overwrites dA[l] in training.
    rng = np.random.default_rng(2)
    dims = [4, 7, 5, 3]
    X = rng.standard_normal((4, 90))
    labels = (np.abs(X[0] * 2 + X[1]).astype(int)) % 3
    settings = dict(lr=0.1, epochs=3, batch_size=32, seed=5)
    expected = reference_softmax_training(X, labels, dims, hidden, **settings)
    net = DeepNetwork(
        dims,
        activations=[hidden, hidden, "softmax"],
        init="he" if "relu" in hidden else "xavier",
        learning_rate=0.1,
        epochs=3,
        batch_size=32,
        seed=5,
        dtype="float64",
    )
    net.fit(X, labels)
    for key, value in expected.items():
        assert_allclose(net.parameters[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
