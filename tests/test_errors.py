"""Every misuse gets an ldnn exception that names the argument and states expected
versus actual; no NumPy error from deep inside reaches the user."""

from __future__ import annotations

import numpy as np
import pytest

from ldnn import (
    ArgumentTypeError,
    ConfigurationError,
    DeepNetwork,
    InvalidValueError,
    LdnnError,
    NotFittedError,
    ShapeError,
    forward,
)


@pytest.fixture
def net():
    return DeepNetwork([3, 4, 1], epochs=2)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 10)), (rng.random((1, 10)) < 0.5).astype(float)


def test_hierarchy():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, LdnnError)
    assert issubclass(ArgumentTypeError, TypeError)
    assert issubclass(NotFittedError, AttributeError)


def test_examples_must_be_columns(net, data):
    X, Y = data
    with pytest.raises(
        ShapeError,
        match=r"X must have shape \(n\[0\], m\) = \(3, m\), got "
        r"\(10, 3\); examples must be columns: did you mean X.T\?",
    ):
        net.fit(X.T, Y)
    with pytest.raises(ShapeError, match=r"did you mean Y.T\?"):
        net.fit(X, Y.T)


def test_wrong_feature_count(net, data):
    with pytest.raises(ShapeError, match=r"\(3, m\), got \(5, 10\)"):
        net.fit(np.zeros((5, 10)), data[1])


def test_m_mismatch(net, data):
    X, Y = data
    with pytest.raises(ShapeError, match="X has 10, Y has 7"):
        net.fit(X, Y[:, :7])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf(net, data, bad):
    X, Y = data
    X = X.copy()
    X[1, 4] = bad
    with pytest.raises(
        InvalidValueError,
        match=r"X holds 1 NaN or infinite value\(s\), the "
        r"first at index \(1, 4\)",
    ):
        net.fit(X, Y)


def test_labels_outside_0_1(net, data):
    X, Y = data
    with pytest.raises(InvalidValueError, match=r"labels in \{0, 1\}"):
        net.fit(X, Y * 2 - 1)


def test_empty_data(net):
    with pytest.raises(InvalidValueError, match="no examples"):
        net.fit(np.zeros((3, 0)), np.zeros((1, 0)))


def test_non_numeric(net):
    with pytest.raises(ArgumentTypeError, match="X must hold numbers"):
        net.fit(np.array([["a", "b"]] * 3), np.zeros((1, 2)))


@pytest.mark.parametrize("alpha", [0, -0.1, float("nan"), float("inf")])
def test_non_positive_learning_rate(alpha):
    with pytest.raises(InvalidValueError, match="learning_rate must be a positive"):
        DeepNetwork([2, 1], learning_rate=alpha)


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ([3], r"at least the input and output sizes"),
        ([3, 0, 1], r"layer_dims\[1\] = n\[1\] must be a positive integer, got 0"),
        ([3, 2.5, 1], r"got 2.5"),
        (5, r"must be a sequence"),
    ],
)
def test_invalid_layer_dims(dims, message):
    with pytest.raises(ShapeError, match=message):
        DeepNetwork(dims)


@pytest.mark.parametrize("keep", [0, 1.5, -0.2])
def test_keep_prob_outside_0_1(keep):
    with pytest.raises(ConfigurationError, match=r"keep_prob for layer 1 must lie in \(0, 1\]"):
        DeepNetwork([2, 3, 1], keep_prob=keep)


def test_keep_prob_list_length():
    with pytest.raises(ConfigurationError, match=r"one per hidden layer \(L - 1 = 2\)"):
        DeepNetwork([2, 3, 3, 1], keep_prob=[0.5])


def test_bad_hyperparameters():
    with pytest.raises(ConfigurationError, match="unknown optimizer 'adamax'"):
        DeepNetwork([2, 1], optimizer="adamax")
    with pytest.raises(ConfigurationError, match="unknown init"):
        DeepNetwork([2, 1], init="zeros")
    with pytest.raises(ConfigurationError, match="needs output probabilities"):
        DeepNetwork([2, 3, 1], output="relu", loss="bce")
    with pytest.raises(ConfigurationError, match="softmax output with n\\[L\\] = 1"):
        DeepNetwork([2, 3, 1], output="softmax")
    with pytest.raises(InvalidValueError, match="epochs must be a positive integer"):
        DeepNetwork([2, 1], epochs=0)
    with pytest.raises(InvalidValueError, match="batch_size"):
        DeepNetwork([2, 1], batch_size=-3)
    with pytest.raises(ConfigurationError, match="dtype"):
        DeepNetwork([2, 1], dtype="float16")
    with pytest.raises(ConfigurationError, match=r"unknown setting\(s\) \['learnig_rate'\]"):
        DeepNetwork([2, 1], learnig_rate=0.1)  # a typo never passes silently
    with pytest.raises(ConfigurationError, match=r"activations must be one name, L - 1 = 1"):
        DeepNetwork([2, 3, 1], activations=["relu", "relu", "relu"])


@pytest.mark.parametrize("activations", [None, 3, [None, "relu"], {"relu"}])
def test_activations_that_are_no_names_are_named(activations):
    # Not "'NoneType' object is not iterable": the argument, and what it must be.
    with pytest.raises(ArgumentTypeError, match="^activations must be a name or a list of names"):
        DeepNetwork([2, 3, 1], activations=activations)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"learning_rate": -1}, "learning_rate"),
        ({"optimizer": "adamax"}, "optimizer"),
        ({"init": "zeros"}, "init"),
        ({"keep_prob": 2.0}, "keep_prob"),
        ({"lr_schedule": "cosine", "min_learning_rate": 1.0}, "min_learning_rate"),
        ({"optimizer": "adam", "nesterov": True}, "nesterov"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_an_error_about_a_setting_names_its_field(settings, field):
    # The field, not the message's words, is what a caller points at (the CLI's flag).
    with pytest.raises(LdnnError) as caught:
        DeepNetwork([2, 3, 1], **settings)
    assert caught.value.field == field


def test_early_stopping_needs_validation(data):
    with pytest.raises(ConfigurationError, match="early_stopping needs validation data"):
        DeepNetwork([3, 1], early_stopping=3).fit(*data)


def test_not_fitted(net, data):
    with pytest.raises(NotFittedError, match="call fit"):
        net.predict(data[0])
    with pytest.raises(NotFittedError):
        net.save("never.npz")


def test_sample_weight_checks(net, data):
    with pytest.raises(ShapeError, match=r"sample_weight must have shape \(m,\) = \(10,\)"):
        net.fit(*data, sample_weight=np.ones(3))
    with pytest.raises(InvalidValueError, match=">= 0"):
        net.fit(*data, sample_weight=-np.ones(10))


def test_forward_checks_parameter_shapes():
    params = {
        "W1": np.zeros((3, 2)),
        "b1": np.zeros((3, 1)),
        "W2": np.zeros((1, 4)),
        "b2": np.zeros((1, 1)),
    }
    with pytest.raises(ShapeError, match=r"W2 must have shape \(n\[2\], n\[1\]\) = \(\?, 3\)"):
        forward(np.zeros((2, 5)), params, ["relu", "sigmoid"])
    params["W2"] = np.zeros((1, 3))
    params["b2"] = np.zeros((2, 1))
    with pytest.raises(ShapeError, match=r"b2 must have shape \(n\[2\], 1\) = \(1, 1\)"):
        forward(np.zeros((2, 5)), params, ["relu", "sigmoid"])
    with pytest.raises(ShapeError, match=r"one activation per layer \(L = 2\)"):
        forward(np.zeros((2, 5)), {**params, "b2": np.zeros((1, 1))}, ["relu"])


def test_targets_beyond_float32_are_named_before_the_cast():
    # 1e39 is finite in float64 and infinite in float32: said, not turned into inf.
    net = DeepNetwork([2, 3, 1], output="linear", loss="mse", epochs=1)
    with pytest.raises(InvalidValueError, match=r"Y holds values up to 1e\+39.*float32"):
        net.fit(np.ones((2, 4)), np.full((1, 4), 1e39))
