"""Activation values, numerical stability and the registry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ldnn import ConfigurationError, get_activation, register_activation
from ldnn.core.activations import available_activations, unregister_activation

Z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("relu", [[0, 0, 0, 0.5, 2]]),
        ("leaky_relu", [[-0.02, -0.005, 0, 0.5, 2]]),
        ("leaky_relu:0.2", [[-0.4, -0.1, 0, 0.5, 2]]),
        ("linear", Z),
        ("tanh", np.tanh(Z)),
        ("sigmoid", 1 / (1 + np.exp(-Z))),
    ],
)
def test_values(name, expected):
    assert_allclose(get_activation(name).forward(Z), expected, rtol=1e-15)


def test_relu_derivative_at_zero_is_zero():
    relu = get_activation("relu")
    dZ = relu.backward(np.ones_like(Z), Z, relu.forward(Z))
    assert_allclose(dZ, [[0, 0, 0, 1, 1]])


def test_sigmoid_is_stable_for_large_inputs():
    big = np.array([[-1000.0, -745.0, 0.0, 745.0, 1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would raise here
        A = get_activation("sigmoid").forward(big)
    assert A.dtype == np.float32
    assert np.all(np.isfinite(A)) and A[0, 0] == 0 and A[0, 2] == 0.5 and A[0, -1] == 1


def test_softmax_is_stable_and_sums_to_one_per_column():
    Zs = np.array([[1000.0, -3.0], [1001.0, 0.0], [999.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = get_activation("softmax").forward(Zs)
    assert_allclose(A.sum(axis=0), [1, 1])
    e = np.exp([-1.0, 0.0, -2.0])
    assert_allclose(A[:, 0], e / e.sum())  # shift-invariance: softmax(z) = softmax(z - 1001)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid", "linear", "softmax"])
def test_dtype_is_kept(name, dtype):
    act = get_activation(name)
    Zd = np.linspace(-2, 2, 12).reshape(3, 4).astype(dtype)
    A = act.forward(Zd)
    assert A.dtype == dtype
    assert act.backward(np.ones_like(Zd), Zd, A).dtype == dtype


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigurationError, match="unknown activation 'rleu'.*relu.*sigmoid"):
        get_activation("rleu")
    with pytest.raises(ConfigurationError, match="layer 3"):
        get_activation("nope", layer=3)
    with pytest.raises(ConfigurationError, match="takes no parameter"):
        get_activation("relu:0.1")
    with pytest.raises(ConfigurationError, match="not a finite number"):
        get_activation("leaky_relu:abc")


def test_register_and_use_by_name():
    act = register_activation("cube_test", lambda z: z**3, lambda z: 3 * z**2)
    try:
        assert "cube_test" in available_activations()
        assert get_activation("cube_test") is act
        assert_allclose(act.forward(Z), Z**3)
        assert_allclose(act.backward(np.ones_like(Z), Z, Z**3), 3 * Z**2)
        with pytest.raises(ConfigurationError, match="already registered"):
            register_activation("cube_test", np.sin, np.cos)
        with pytest.raises(ConfigurationError, match="built-in"):
            register_activation("relu", np.sin, np.cos, overwrite=True)
    finally:
        unregister_activation("cube_test")
    assert "cube_test" not in available_activations()
