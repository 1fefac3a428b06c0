"""Loss values against formulas worked by hand, target checks, clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ldnn import ConfigurationError, InvalidValueError, ShapeError, get_loss


def test_binary_cross_entropy_value():
    AL = np.array([[0.9, 0.2, 0.6]])
    Y = np.array([[1.0, 0.0, 0.0]])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    assert get_loss("bce").cost(AL, Y) == pytest.approx(expected, rel=1e-15)


def test_multilabel_bce_adds_the_units():
    AL = np.array([[0.9, 0.2], [0.3, 0.7]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    expected = -(math.log(0.9) + math.log(0.7) + math.log(0.8) + math.log(0.7)) / 2
    assert get_loss("bce").cost(AL, Y) == pytest.approx(expected, rel=1e-15)


def test_categorical_cross_entropy_value_and_integer_labels():
    AL = np.array([[0.7, 0.1], [0.2, 0.3], [0.1, 0.6]])
    loss = get_loss("cce")
    Y = loss.prepare_targets(np.array([0, 2]), 3, np.float64)
    assert Y.tolist() == [[1, 0], [0, 0], [0, 1]]
    assert loss.cost(AL, Y) == pytest.approx(-(math.log(0.7) + math.log(0.6)) / 2, rel=1e-15)


def test_mean_squared_error_has_the_half():
    AL = np.array([[1.0, 2.0]])
    Y = np.array([[0.0, 4.0]])
    assert get_loss("mse").cost(AL, Y) == pytest.approx((1 + 4) / (2 * 2))


def test_logs_never_see_0_or_1():
    loss = get_loss("bce")
    for dtype in (np.float32, np.float64):
        AL = np.array([[0.0, 1.0]], dtype=dtype)
        Y = np.array([[1.0, 0.0]], dtype=dtype)
        assert math.isfinite(loss.cost(AL, Y))
        assert np.all(np.isfinite(loss.gradient(AL, Y)))
    assert math.isfinite(get_loss("cce").cost(np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]])))


def test_sample_weights_normalise_by_their_sum():
    AL = np.array([[0.9, 0.2, 0.6]])
    Y = np.array([[1.0, 0.0, 0.0]])
    w = np.array([2.0, 0.0, 1.0])
    expected = -(2 * math.log(0.9) + math.log(0.4)) / 3
    assert get_loss("bce").cost(AL, Y, w) == pytest.approx(expected, rel=1e-15)


def test_target_errors():
    with pytest.raises(InvalidValueError, match=r"labels in \{0, 1\}.*2"):
        get_loss("bce").prepare_targets(np.array([[0, 1, 2]]), 1, np.float64)
    with pytest.raises(InvalidValueError, match="0..2"):
        get_loss("cce").prepare_targets(np.array([0, 3]), 3, np.float64)
    with pytest.raises(InvalidValueError, match="one-hot"):
        get_loss("cce").prepare_targets(np.ones((3, 2)), 3, np.float64)
    with pytest.raises(ShapeError, match=r"did you mean Y.T"):
        get_loss("bce").prepare_targets(np.zeros((5, 1)), 1, np.float64)
    with pytest.raises(ConfigurationError, match="unknown loss 'hinge'.*mse"):
        get_loss("hinge")
