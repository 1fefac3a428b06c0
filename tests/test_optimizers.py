"""One update of each optimizer against its formula, written out independently."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ldnn.core.optimizers import get_optimizer
from ldnn.core.schedules import scheduled_learning_rate

P0 = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[0.5]])}
G = [
    {"dW1": np.array([[0.1, -0.3]]), "db1": np.array([[0.2]])},
    {"dW1": np.array([[-0.2, 0.4]]), "db1": np.array([[0.05]])},
]


def run(name, lr=0.1, **settings):
    opt = get_optimizer(name, **settings)
    params = {k: v.copy() for k, v in P0.items()}
    for grads in G:
        opt.update(params, grads, lr)
    return params, opt


def test_gd():
    params, _ = run("gd")
    assert_allclose(params["W1"], P0["W1"] - 0.1 * (G[0]["dW1"] + G[1]["dW1"]))


def test_momentum():
    params, opt = run("momentum", beta=0.9)
    v1 = 0.1 * G[0]["dW1"]
    v2 = 0.9 * v1 + 0.1 * G[1]["dW1"]
    assert_allclose(params["W1"], P0["W1"] - 0.1 * v1 - 0.1 * v2)
    assert_allclose(opt.state["v"]["dW1"], v2)


def test_rmsprop():
    params, _ = run("rmsprop", beta2=0.9, epsilon=1e-8)
    g1, g2 = G[0]["db1"], G[1]["db1"]
    s1 = 0.1 * g1**2
    s2 = 0.9 * s1 + 0.1 * g2**2
    expected = P0["b1"] - 0.1 * g1 / (np.sqrt(s1) + 1e-8) - 0.1 * g2 / (np.sqrt(s2) + 1e-8)
    assert_allclose(params["b1"], expected)


def test_adam_with_bias_correction():
    params, opt = run("adam", beta1=0.9, beta2=0.999, epsilon=1e-8)
    g1, g2 = G[0]["dW1"], G[1]["dW1"]
    v1, s1 = 0.1 * g1, 0.001 * g1**2
    step1 = (v1 / 0.1) / (np.sqrt(s1 / 0.001) + 1e-8)  # = g1/|g1| at t = 1
    v2, s2 = 0.9 * v1 + 0.1 * g2, 0.999 * s1 + 0.001 * g2**2
    step2 = (v2 / (1 - 0.9**2)) / (np.sqrt(s2 / (1 - 0.999**2)) + 1e-8)
    assert_allclose(params["W1"], P0["W1"] - 0.1 * step1 - 0.1 * step2)
    assert opt.t == 2 and set(opt.state) == {"v", "s"}
    assert set(opt.state["v"]) == {"dW1", "db1"}


def test_state_keeps_dtype_and_updates_in_place():
    W = np.ones((2, 2), dtype=np.float32)
    params = {"W1": W, "b1": np.zeros((2, 1), dtype=np.float32)}
    grads = {"dW1": np.full((2, 2), 0.5, np.float32), "db1": np.ones((2, 1), np.float32)}
    opt = get_optimizer("adam")
    opt.update(params, grads, 0.01)
    assert params["W1"] is W and W.dtype == np.float32
    assert opt.state["s"]["dW1"].dtype == np.float32


def test_schedules():
    assert scheduled_learning_rate(0.5, 10) == 0.5
    # The course's update_lr: alpha0 / (1 + decay_rate * epoch)
    assert scheduled_learning_rate(0.5, 2, "inverse_time", 1.0) == pytest.approx(0.5 / 3)
    # schedule_lr_decay with time_interval 1000: floor(1500 / 1000) = 1
    assert scheduled_learning_rate(0.5, 1500, "inverse_time", 0.3, 1000) == pytest.approx(0.5 / 1.3)
    assert scheduled_learning_rate(0.5, 3, "exponential", 0.9) == pytest.approx(0.5 * 0.9**3)
