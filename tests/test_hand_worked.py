"""A two-layer network worked by hand, with the arithmetic in the comments.

n[0] = 2, n[1] = 2 (relu), n[2] = 1 (sigmoid), m = 2 examples, binary cross-entropy.
Every expected number below is written with math.exp/log from the hand computation,
not with ldnn.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ldnn import backward, compute_cost, forward
from ldnn.core.optimizers import GradientDescent

X = np.array([[1.0, 2.0], [2.0, -1.0]])  # columns: x(1) = (1, 2), x(2) = (2, -1)
Y = np.array([[0.0, 1.0]])
PARAMETERS = {
    "W1": np.array([[1.0, -1.0], [0.5, 2.0]]),
    "b1": np.array([[0.0], [-1.0]]),
    "W2": np.array([[1.0, -2.0]]),
    "b2": np.array([[0.5]]),
}
ACTIVATIONS = ["relu", "sigmoid"]

# Z1 = W1 X + b1
#   row 1: 1*1 - 1*2 + 0 = -1          1*2 - 1*(-1) + 0 = 3
#   row 2: 0.5*1 + 2*2 - 1 = 3.5       0.5*2 + 2*(-1) - 1 = -2
Z1 = [[-1.0, 3.0], [3.5, -2.0]]
A1 = [[0.0, 3.0], [3.5, 0.0]]  # relu
# Z2 = W2 A1 + b2 = [1*0 - 2*3.5 + 0.5, 1*3 - 2*0 + 0.5] = [-6.5, 3.5]
Z2 = [[-6.5, 3.5]]
s1 = 1 / (1 + math.exp(6.5))  # sigmoid(-6.5)
s2 = 1 / (1 + math.exp(-3.5))  # sigmoid(3.5)
# J = -(1/2) [ log(1 - s1) + log(s2) ]   (y(1) = 0, y(2) = 1)
COST = -(math.log(1 - s1) + math.log(s2)) / 2
# dZ2 = A2 - Y = [s1, s2 - 1]
# dW2 = (1/2) dZ2 A1^T = (1/2) [s1*0 + (s2-1)*3, s1*3.5 + (s2-1)*0] = [1.5 (s2-1), 1.75 s1]
dW2 = [[1.5 * (s2 - 1), 1.75 * s1]]
db2 = [[(s1 + s2 - 1) / 2]]
# dA1 = W2^T dZ2 = [[s1, s2-1], [-2 s1, -2 (s2-1)]]
dA1 = [[s1, s2 - 1], [-2 * s1, -2 * (s2 - 1)]]
# dZ1 = dA1 * relu'(Z1), relu'(Z1) = [[0, 1], [1, 0]]  ->  [[0, s2-1], [-2 s1, 0]]
# dW1 = (1/2) dZ1 X^T, X^T = [[1, 2], [2, -1]]
#   row 1: (1/2) [(s2-1)*2, (s2-1)*(-1)] = [s2-1, (1-s2)/2]
#   row 2: (1/2) [-2 s1 * 1, -2 s1 * 2]   = [-s1, -2 s1]
dW1 = [[s2 - 1, (1 - s2) / 2], [-s1, -2 * s1]]
db1 = [[(s2 - 1) / 2], [-s1]]
# dA0 = W1^T dZ1, W1^T = [[1, 0.5], [-1, 2]]
#   column 1: W1^T (0, -2 s1)  = (-s1, -4 s1)
#   column 2: W1^T (s2 - 1, 0) = (s2 - 1, 1 - s2)
dA0 = [[-s1, s2 - 1], [-4 * s1, 1 - s2]]


def test_forward_by_hand():
    AL, caches = forward(X, PARAMETERS, ACTIVATIONS)
    assert_allclose(caches[0].Z, Z1, rtol=1e-15)
    assert_allclose(caches[0].A, A1, rtol=1e-15)
    assert_allclose(caches[1].Z, Z2, rtol=1e-15)
    assert_allclose(AL, [[s1, s2]], rtol=1e-14)
    assert caches[1].linear_cache[0] is caches[0].A  # A[1] feeds layer 2 unchanged
    assert compute_cost(AL, Y, "binary_crossentropy") == pytest.approx(COST, rel=1e-14)


def test_backward_by_hand():
    AL, caches = forward(X, PARAMETERS, ACTIVATIONS)
    grads = backward(AL, Y, caches, ACTIVATIONS, "binary_crossentropy")
    assert sorted(grads) == ["dA0", "dA1", "dW1", "dW2", "db1", "db2"]
    # The notes' dA[l] is per example; ldnn's is the gradient of J, each example's column
    # times its weight 1/m = 1/2 (dZ[2] took it, and the chain rule carried it down).
    for name, expected in [
        ("dW2", dW2),
        ("db2", db2),
        ("dA1", np.array(dA1) / 2),
        ("dW1", dW1),
        ("db1", db1),
        ("dA0", np.array(dA0) / 2),
    ]:
        assert_allclose(grads[name], expected, rtol=1e-12, atol=1e-16, err_msg=name)


def test_l2_by_hand():
    # ||W1||^2 = 1 + 1 + 0.25 + 4 = 6.25, ||W2||^2 = 1 + 4 = 5; lambda = 0.4, m = 2:
    # J += 0.4 / (2*2) * 11.25 = 1.125, and dW[l] += (0.4 / 2) W[l].
    AL, caches = forward(X, PARAMETERS, ACTIVATIONS)
    assert compute_cost(AL, Y, "bce", PARAMETERS, lambd=0.4) == pytest.approx(
        COST + 1.125, rel=1e-14
    )
    grads = backward(AL, Y, caches, ACTIVATIONS, "bce", lambd=0.4)
    assert_allclose(grads["dW2"], np.array(dW2) + 0.2 * PARAMETERS["W2"], rtol=1e-12)
    assert_allclose(grads["dW1"], np.array(dW1) + 0.2 * PARAMETERS["W1"], rtol=1e-12)
    assert_allclose(grads["db1"], db1, rtol=1e-12)  # biases are not penalised


def test_l1_by_hand():
    # sum |W1| = 1 + 1 + 0.5 + 2 = 4.5, sum |W2| = 1 + 2 = 3; l1 = 0.4, m = 2:
    # J += 0.4 / 2 * 7.5 = 1.5, and dW[l] += (0.4 / 2) sign(W[l]); with L2 beside it,
    # both terms add.
    AL, caches = forward(X, PARAMETERS, ACTIVATIONS)
    assert compute_cost(AL, Y, "bce", PARAMETERS, l1=0.4) == pytest.approx(COST + 1.5, rel=1e-14)
    assert compute_cost(AL, Y, "bce", PARAMETERS, lambd=0.4, l1=0.4) == pytest.approx(
        COST + 1.125 + 1.5, rel=1e-14
    )
    grads = backward(AL, Y, caches, ACTIVATIONS, "bce", l1=0.4)
    assert_allclose(grads["dW2"], np.array(dW2) + [[0.2, -0.2]], rtol=1e-12)
    assert_allclose(grads["dW1"], np.array(dW1) + [[0.2, -0.2], [0.2, 0.2]], rtol=1e-12)
    assert_allclose(grads["db1"], db1, rtol=1e-12)  # biases are not penalised
    both = backward(AL, Y, caches, ACTIVATIONS, "bce", lambd=0.4, l1=0.4)
    expected = np.array(dW1) + 0.2 * PARAMETERS["W1"] + [[0.2, -0.2], [0.2, 0.2]]
    assert_allclose(both["dW1"], expected, rtol=1e-12)


def test_one_gradient_descent_step_by_hand():
    # W2 := W2 - alpha dW2 with alpha = 0.1.
    parameters = {k: v.copy() for k, v in PARAMETERS.items()}
    AL, caches = forward(X, parameters, ACTIVATIONS)
    grads = backward(AL, Y, caches, ACTIVATIONS, "bce")
    GradientDescent().update(parameters, grads, 0.1)
    assert_allclose(parameters["W2"], [[1 - 0.15 * (s2 - 1), -2 - 0.175 * s1]], rtol=1e-14)
    assert_allclose(parameters["b1"], [[-0.05 * (s2 - 1)], [-1 + 0.1 * s1]], rtol=1e-14)


def test_l1_from_the_command_line_drives_small_weights_to_zero(tmp_path, monkeypatch, capsys):
    """--l1 reaches the network (config.toml records it; a bad value is one line naming
    the flag, exit 2), and its steps of (l1 / m) sign(W) leave W[1]'s weights of a
    feature that carries nothing near 0, far nearer than without it."""
    from ldnn import DeepNetwork
    from ldnn.cli import main
    from ldnn.io.toml import read_toml

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    np.savez("t.npz", X=X, y=(X[:, 0] + X[:, 1] > 0).astype(int))  # features 2-5: noise
    quick = ["--no-plots", "-q", "--epochs", "150", "--threads", "1", "--layers", "8"]
    quick += ["--lr", "0.01", "--keep-prob", "1", "--l2", "0", "--val-split", "0"]
    noise = {}
    for l1 in (0.0, 0.05):
        assert main(["train", "t.npz", *quick, "--l1", str(l1), "--name", f"l1-{l1}"]) == 0
        folder = tmp_path / "runs" / f"l1-{l1}"
        assert read_toml(folder / "config.toml")["training"]["l1"] == l1
        W1 = DeepNetwork.load(folder / "model.npz").parameters["W1"]
        noise[l1] = np.abs(W1[:, 2:]).mean()
    assert noise[0.05] < noise[0.0] / 2, noise  # (Adam oscillates them about 0 by ~lr)
    assert main(["train", "t.npz", *quick, "--l1", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "l1" in err[0] and "-1" in err[0], err
