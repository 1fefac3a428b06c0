"""Backward propagation against central differences, for every component.

The relative difference ||g - g_approx|| / (||g|| + ||g_approx||) must stay below 1e-7
in float64 (eps = 1e-7) for every activation (hidden and output), every loss, L2,
dropout with a fixed mask, and random architectures of depth 1..5.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import layer_dims, random_parameters, random_targets
from ldnn import gradcheck, register_activation
from ldnn.core.activations import BUILTIN_ACTIVATIONS, unregister_activation
from ldnn.core.losses import available_losses, get_loss

HIDDEN = ["relu", "leaky_relu", "leaky_relu:0.2", "tanh", "sigmoid", "linear", "softmax"]
LOSSES = sorted({get_loss(name).name for name in available_losses()})
# Every output activation whose range suits each loss: cross-entropies need (0, 1).
OUTPUTS = {
    "binary_crossentropy": ["sigmoid", "softmax"],
    "categorical_crossentropy": ["softmax", "sigmoid"],
    "mean_squared_error": ["linear", "relu", "leaky_relu", "tanh", "sigmoid", "softmax"],
}
PAIRS = [(hidden, out, loss) for loss in LOSSES for out in OUTPUTS[loss] for hidden in HIDDEN]


def check(dims, activations, loss, *, m=7, lambd=0.0, keep_prob=None, seed=0, l1=0.0):
    rng = np.random.default_rng(seed)
    parameters = random_parameters(dims, rng)
    X = rng.standard_normal((dims[0], m))
    Y = random_targets(loss, dims[-1], m, rng)
    return gradcheck(
        parameters,
        X,
        Y,
        activations=activations,
        loss=loss,
        lambd=lambd,
        keep_prob=keep_prob,
        seed=seed,
        l1=l1,
    )


def test_every_builtin_activation_is_covered():
    assert {name.split(":")[0] for name in HIDDEN} == set(BUILTIN_ACTIVATIONS)


@pytest.mark.parametrize(("hidden", "output", "loss"), PAIRS)
def test_every_activation_with_every_loss(hidden, output, loss):
    dims = [4, 5, 3, 3]
    result = check(dims, [hidden, hidden, output], loss)
    assert result.difference < 1e-7, str(result)


@pytest.mark.parametrize("loss", LOSSES)
def test_l2_regularisation(loss):
    output = OUTPUTS[loss][0]
    result = check([3, 4, 4, 2], ["relu", "tanh", output], loss, lambd=0.7)
    assert result.difference < 1e-7, str(result)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_l1_regularisation(loss, lambd):
    """(l1 / m) sum |W| is differentiable wherever no weight is 0 (random normal weights:
    none within epsilon of it), its gradient (l1 / m) sign(W); alone and beside L2."""
    output = OUTPUTS[loss][0]
    result = check([3, 4, 4, 2], ["relu", "tanh", output], loss, lambd=lambd, l1=0.3)
    assert result.difference < 1e-7, str(result)


@pytest.mark.parametrize("keep_prob", [0.5, [0.8, 0.6], [1.0, 0.7]])
def test_dropout_with_a_fixed_mask(keep_prob):
    result = check(
        [3, 6, 5, 1],
        ["relu", "tanh", "sigmoid"],
        "binary_crossentropy",
        keep_prob=keep_prob,
        lambd=0.1,
        m=9,
    )
    assert result.difference < 1e-7, str(result)


@given(
    dims=layer_dims(max_layers=5, max_units=5),
    m=st.integers(1, 6),
    hidden=st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid"]),
    loss=st.sampled_from(LOSSES),
    seed=st.integers(0, 2**16),
)
def test_random_architectures(dims, m, hidden, loss, seed):
    if loss == "categorical_crossentropy":
        dims[-1] = max(dims[-1], 2)
    output = OUTPUTS[loss][0]
    L = len(dims) - 1
    result = check(dims, [hidden] * (L - 1) + [output], loss, m=m, seed=seed, lambd=0.3)
    assert result.difference < 1e-7, str(result)


def test_user_registered_activation():
    register_activation(
        "softplus_test", lambda Z: np.log1p(np.exp(Z)), lambda Z: 1 / (1 + np.exp(-Z))
    )
    try:
        result = check([3, 4, 1], ["softplus_test", "sigmoid"], "binary_crossentropy")
        assert result.difference < 1e-7, str(result)
    finally:
        unregister_activation("softplus_test")


def test_the_check_catches_a_wrong_derivative():
    # g = z^2 with the wrong derivative z (it should be 2z): backprop is off by a factor
    # in layer 1, and the report must name W1 or b1 among the worst entries.
    register_activation("square_test", lambda Z: Z * Z, lambda Z: Z)
    try:
        result = check([3, 4, 1], ["square_test", "sigmoid"], "binary_crossentropy")
    finally:
        unregister_activation("square_test")
    assert not result.passed
    assert result.difference > 1e-3
    assert result.worst[0][0] in ("W1", "b1")
    report = str(result)
    assert "FAILED" in report and result.worst[0][0] in report


def test_gradcheck_accepts_a_network():
    from ldnn import DeepNetwork

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 10))
    Y = (X[0] > 0).astype(float).reshape(1, -1)
    net = DeepNetwork(
        [3, 4, 1], activations="tanh", lambd=0.5, keep_prob=0.8, epochs=3, dtype="float32"
    )
    net.fit(X, Y)
    result = gradcheck(net, X, Y)
    assert result.passed, str(result)
    assert result.n_parameters == 4 * 3 + 4 + 4 + 1
