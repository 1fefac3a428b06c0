"""ldnn.data.preparation: the standardisation fitted on the training part only, and the
numbers a model keeps of it."""

from __future__ import annotations

import json

import numpy as np
from numpy.testing import assert_allclose

from ldnn.data import Dataset, Preparation, prepare, standardize


def dataset(task="classification"):
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, (3, 50))
    X[2] = 5.0  # a constant feature
    Y = rng.normal(10.0, 4.0, (2, 50)) if task == "regression" else (X[:1] > 3).astype(float)
    return Dataset(
        "toy",
        X[:, :40],
        Y[:, :40],
        X[:, 40:],
        Y[:, 40:],
        task=task,
        classes=["no", "yes"] if task == "classification" else None,
    )


def test_features_get_the_training_parts_mean_and_std():
    data = dataset()
    prepared, info = prepare(data)
    X = prepared.X_train
    assert_allclose(X[:2].mean(axis=1), 0, atol=1e-12)
    assert_allclose(X[:2].std(axis=1), 1, atol=1e-12)
    assert np.all(X[2] == 0)  # constant: std taken as 1, so (x - mean) / 1 = 0
    # The test part is scaled by the training part's statistics, not its own.
    mean, std = data.X_train.mean(axis=1), data.X_train.std(axis=1)
    assert_allclose(prepared.X_test[0], (data.X_test[0] - mean[0]) / std[0])
    assert np.array_equal(prepared.Y_train, data.Y_train)  # class labels are left alone
    assert info["task"] == "classification" and "y_mean" not in info


def test_a_regression_target_is_standardised_and_mapped_back():
    data = dataset("regression")
    prepared, info = prepare(data)
    assert_allclose(prepared.Y_train.mean(axis=1), 0, atol=1e-12)
    preparation = Preparation.from_metadata(info)
    assert_allclose(preparation.inverse_y(prepared.Y_test), data.Y_test, rtol=1e-14)


def test_the_metadata_round_trip_is_exact_through_json():
    data = dataset("regression")
    fitted = Preparation.fit(data.X_train, data.Y_train)
    back = Preparation.from_metadata(json.loads(json.dumps(fitted.to_metadata())))
    for name in ("x_mean", "x_std", "y_mean", "y_std"):
        assert np.array_equal(getattr(back, name), getattr(fitted, name))
    assert np.array_equal(back.transform_x(data.X_test), fitted.transform_x(data.X_test))


def test_without_standardisation_nothing_changes():
    data = dataset("regression")
    prepared, info = prepare(data, standardize=False)
    assert prepared.X_train is data.X_train and prepared.Y_train is data.Y_train
    assert not {"x_mean", "x_std", "y_mean", "y_std"} & set(info)


def test_standardize_scales_features_only():
    data = dataset("regression")
    scaled, mean, std = standardize(data)
    assert mean.shape == std.shape == (3, 1)
    assert np.array_equal(scaled.Y_train, data.Y_train)
    assert_allclose(scaled.X_train[:2].std(axis=1), 1, atol=1e-12)


def test_huge_values_standardise_without_overflow():
    # (x - mean)^2 overflows beyond |x| ~ 1e154: the statistics of A / max|a|, scaled back,
    # equal c times those of B for A = c B (an independent computation).
    B = np.random.default_rng(3).normal(size=(2, 50))
    c = 1e300
    mean, std = _stats(c * B)
    assert_allclose(mean, c * B.mean(axis=1, keepdims=True), rtol=1e-12)
    assert_allclose(std, c * B.std(axis=1, keepdims=True), rtol=1e-12)
    ordinary = np.random.default_rng(4).normal(size=(3, 40))
    plain = (ordinary.mean(axis=1, keepdims=True), ordinary.std(axis=1, keepdims=True))
    assert all(np.array_equal(a, b) for a, b in zip(_stats(ordinary), plain, strict=True))


def _stats(A):
    from ldnn.data.preparation import mean_and_std

    return mean_and_std(A)


def test_targets_whose_squares_overflow_are_named():
    import pytest

    from ldnn.errors import InvalidValueError

    X = np.random.default_rng(0).normal(size=(2, 30))
    data = Dataset("big", X, 1e300 * X[:1], None, None, task="regression", target="y")
    with pytest.raises(InvalidValueError, match=r"the target 'y' holds targets up to"):
        prepare(data)
