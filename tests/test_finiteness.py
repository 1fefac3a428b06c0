"""Whatever ends training, the network keeps parameters that give finite outputs and a
finite cost on the training data (or says plainly that none exist); predict and evaluate
never leak NumPy's warnings; X beyond the dtype's range is named as such."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import layer_dims, random_parameters
from ldnn import DeepNetwork, DivergenceWarning, InvalidValueError, forward
from ldnn.core.finiteness import finite_on, output_bound
from ldnn.data import make_spirals


def finite_predictions(net, X) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked RuntimeWarning fails the test
        return bool(np.isfinite(net.predict_proba(X)).all())


def exploding(epochs):
    """gd at learning rate 1000 on a regression: before this change it kept W of 1e216
    whose predictions are infinite (the first step of epoch 5 overflows)."""
    return DeepNetwork(
        [2, 16, 1],
        output="linear",
        loss="mse",
        optimizer="gd",
        learning_rate=1000.0,
        epochs=epochs,
        dtype="float64",
        seed=0,
    )


def test_a_learning_rate_of_1000_keeps_parameters_that_predict_finite_numbers():
    X, Y = make_spirals(200, seed=0)
    net = exploding(30)
    net.initialize()
    start = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.warns(DivergenceWarning) as caught:
        history = net.fit(X, Y, warm_start=True)
    assert len(caught) == 1 and "epoch 5 (step 0)" in str(caught[0].message)
    assert "the parameters from the start were kept" in str(caught[0].message)
    assert history.stop_reason == "diverged" and len(history) == 5
    assert all(np.array_equal(net.parameters[k], start[k]) for k in start)
    assert finite_predictions(net, X)
    assert np.isfinite(net.evaluate(X, Y)["cost"])


def test_a_run_that_completes_with_exploded_parameters_is_rolled_back():
    # Five epochs end just after the update that overflows: every epoch's own cost was
    # finite (each is taken before the update), the final parameters' outputs are not.
    X, Y = make_spirals(200, seed=0)
    net = exploding(5)
    with pytest.warns(DivergenceWarning, match="the parameters training ended with give NaN"):
        history = net.fit(X, Y)
    assert history.stop_reason == "diverged" and len(history) == 5
    assert "the end of epoch 3 were kept" in history.stop_message
    assert finite_predictions(net, X)


def test_float64_inputs_beyond_float32s_range_are_named():
    net = DeepNetwork([2, 3, 1], dtype="float32")
    X = np.array([[1e39, 0.0], [0.0, 1.0]])
    with pytest.raises(InvalidValueError, match=r"X holds values up to 1e\+39, beyond float32"):
        net.fit(X, np.array([[0, 1]]))


def test_predict_says_when_outputs_overflow_and_leaks_no_warning():
    net = DeepNetwork([2, 3, 1], output="linear", loss="mse", dtype="float32")
    net.initialize()
    net.parameters["W1"][:] = 10.0  # 10 x 3e38 overflows float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidValueError, match="outputs A\\[L\\] overflow"):
            net.predict(np.full((2, 4), 3e38, dtype=np.float32))


@given(
    dims=layer_dims(max_layers=4, max_units=6),
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu:3", "linear"]),
    scale=st.floats(0.01, 50.0),
    seed=st.integers(0, 1000),
)
def test_the_norm_bound_bounds_every_output_column(dims, activation, scale, seed):
    rng = np.random.default_rng(seed)
    parameters = random_parameters(dims, rng, scale=scale)
    X = rng.uniform(-3, 3, (dims[0], 20))
    activations = [activation] * (len(dims) - 2) + ["linear"]
    AL, _ = forward(X, parameters, activations)
    bound = output_bound(parameters, activations, float(np.abs(X).max()))
    assert np.linalg.norm(AL, axis=0).max() <= bound * (1 + 1e-12)


def test_the_check_runs_the_forward_pass_when_the_bound_says_nothing():
    rng = np.random.default_rng(0)
    parameters = random_parameters([2, 4, 1], rng, dtype=np.float32)
    parameters["W1"] *= 1e36  # the bound overflows, the outputs need not
    X = np.zeros((2, 5), dtype=np.float32)  # ... and on X = 0 they are just b
    assert output_bound(parameters, ["relu", "sigmoid"], 1.0) == np.inf
    Y = np.ones((1, 5))
    assert finite_on(parameters, X, Y, ["relu", "sigmoid"], "bce", 0.0)
    parameters["W2"][:] = 1e3  # relu(1e36 x) then x 1e3: beyond float32
    assert not finite_on(parameters, X + 1, Y, ["relu", "linear"], "mse", 1.0)


def regression(dtype: str) -> DeepNetwork:
    return DeepNetwork([2, 3, 1], output="linear", loss="mse", epochs=3, dtype=dtype)


@pytest.mark.parametrize(
    "dtype, y, expected",
    [
        (
            "float64",
            1e300,
            r"\|y\| = 1e\+300: their squared error overflows float64 \(from "
            r"\|y\| = 1\.34e\+154 on\)",
        ),
        ("float64", -1e200, r"\|y\| = 1e\+200: .*"),
        (
            "float32",
            1e20,
            r"\|y\| = 1e\+20: their squared error overflows float32 \(from "
            r"\|y\| = 1\.84e\+19 on\)",
        ),
    ],
)
def test_regression_targets_whose_square_overflows_are_named_before_training(dtype, y, expected):
    """A target of 1e300 ended in Python's bare OverflowError in the finiteness check's
    bound arithmetic ((bound + |y|)^2 in Python floats)."""
    X = np.random.default_rng(0).normal(size=(2, 20))
    Y = np.full((1, 20), y)
    with pytest.raises(InvalidValueError, match=f"^Y holds targets up to {expected}; rescale"):
        regression(dtype).fit(X, Y)


def test_the_bound_arithmetic_never_overflows_and_large_targets_still_train():
    X = np.random.default_rng(0).normal(size=(2, 20))
    net = regression("float64")
    net.initialize()
    for y in (1e150, 1e300, 1.7e308):  # (bound + |y|)^2 of the last two: past a Python float
        Y = np.full((1, 20), y)
        assert finite_on(net.parameters, X, Y, ("relu", "linear"), "mse", 3.0) is (y < 1e154)
    with pytest.warns(DivergenceWarning):  # below the limit it trains: the guard reports
        history = regression("float64").fit(X, np.full((1, 20), 1e150))
    assert history.stop_reason == "diverged"
