"""Property tests over random architectures, batch sizes (m = 1 included) and dtypes:
every cache and gradient has the shape of the notes' table, dtypes never change
silently, and float32 agrees with float64."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from conftest import layer_dims, random_parameters
from ldnn import backward, compute_cost, forward, initialize_parameters
from ldnn.core.initializers import INITIALIZERS
from ldnn.core.regularization import dropout_masks

DTYPES = st.sampled_from([np.float32, np.float64])
HIDDEN = st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "linear"])


@given(
    dims=layer_dims(max_layers=5, max_units=9),
    m=st.integers(1, 17),
    dtype=DTYPES,
    hidden=HIDDEN,
    keep=st.sampled_from([1.0, 0.7]),
    seed=st.integers(0, 1000),
)
def test_shapes_and_dtypes_follow_the_notes(dims, m, dtype, hidden, keep, seed):
    rng = np.random.default_rng(seed)
    L = len(dims) - 1
    parameters = random_parameters(dims, rng, dtype=dtype)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = (rng.random((dims[-1], m)) < 0.5).astype(dtype)
    activations = [hidden] * (L - 1) + ["sigmoid"]
    masks = dropout_masks(dims, m, [keep] * (L - 1), rng, X)
    AL, caches = forward(X, parameters, activations, masks=masks)
    assert AL.shape == (dims[-1], m) and AL.dtype == dtype
    assert len(caches) == L
    for l, cache in enumerate(caches, start=1):
        A_prev, W, b = cache.linear_cache
        assert A_prev.shape == (dims[l - 1], m)
        assert W.shape == (dims[l], dims[l - 1]) and b.shape == (dims[l], 1)
        assert cache.Z.shape == cache.A.shape == (dims[l], m)
        assert cache.Z.dtype == cache.A.dtype == dtype
        if l < L and keep < 1:
            assert cache.D.shape == (dims[l], m) and cache.D.dtype == dtype
        else:
            assert cache.D is None
    grads = backward(AL, Y, caches, activations, "bce", lambd=0.1)
    assert set(grads) == {f"dA{l}" for l in range(L)} | {
        f"d{p}{l}" for l in range(1, L + 1) for p in "Wb"
    }
    for l in range(1, L + 1):
        assert grads[f"dW{l}"].shape == parameters[f"W{l}"].shape
        assert grads[f"db{l}"].shape == parameters[f"b{l}"].shape
        assert grads[f"dA{l - 1}"].shape == (dims[l - 1], m)
        for key in (f"dW{l}", f"db{l}", f"dA{l - 1}"):
            assert grads[key].dtype == dtype, key


@given(
    dims=layer_dims(max_layers=4, max_units=8),
    m=st.integers(1, 12),
    hidden=HIDDEN,
    seed=st.integers(0, 1000),
)
def test_float32_agrees_with_float64(dims, m, hidden, seed):
    rng = np.random.default_rng(seed)
    L = len(dims) - 1
    p64 = random_parameters(dims, rng)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((dims[-1], m)) < 0.5).astype(float)
    activations = [hidden] * (L - 1) + ["sigmoid"]
    results = []
    for params, dtype in ((p64, np.float64), (p32, np.float32)):
        AL, caches = forward(X.astype(dtype), params, activations)
        grads = backward(AL, Y.astype(dtype), caches, activations, "bce")
        results.append((AL, compute_cost(AL, Y.astype(dtype), "bce"), grads))
    (AL64, J64, g64), (AL32, J32, g32) = results
    assert_allclose(AL32, AL64, rtol=1e-4, atol=1e-6)
    assert abs(J32 - J64) <= 1e-4 * max(1.0, abs(J64))
    for key in g64:
        scale = max(1.0, float(np.abs(g64[key]).max()))
        assert_allclose(g32[key], g64[key], rtol=1e-3, atol=1e-5 * scale, err_msg=key)


@given(
    dims=layer_dims(max_layers=4, max_units=30),
    init=st.sampled_from(INITIALIZERS),
    dtype=DTYPES,
    seed=st.integers(0, 1000),
)
def test_initialisation_shapes_dtype_and_determinism(dims, init, dtype, seed):
    a = initialize_parameters(dims, init, rng=seed, dtype=dtype)
    b = initialize_parameters(dims, init, rng=seed, dtype=dtype)
    for l in range(1, len(dims)):
        assert a[f"W{l}"].shape == (dims[l], dims[l - 1]) and a[f"W{l}"].dtype == dtype
        assert a[f"b{l}"].shape == (dims[l], 1) and not a[f"b{l}"].any()
        assert np.array_equal(a[f"W{l}"], b[f"W{l}"])


def test_initialisation_scales():
    # The empirical standard deviation of W[l] over many draws matches each formula.
    dims = [400, 300, 200]
    expected = {
        "course": [0.01, 0.01],
        "scaled": [1 / 20, 1 / np.sqrt(300)],
        "xavier": [np.sqrt(2 / 700), np.sqrt(2 / 500)],
        "he": [np.sqrt(2 / 400), np.sqrt(2 / 300)],
    }
    for init, stds in expected.items():
        params = initialize_parameters(dims, init, rng=0)
        for l, std in enumerate(stds, start=1):
            assert abs(params[f"W{l}"].std() / std - 1) < 0.02, (init, l)
