"""Built-in data sets: shapes, fixed splits, train-only standardisation, offline loading."""

import sys

import numpy as np
import pytest

from ldnn.data.datasets import DATASETS, load_dataset, make_planar
from ldnn.data.preparation import standardize
from ldnn.errors import ConfigurationError, MissingPackageError

EXPECTED = {  # name: (n[0], m_train + m_test, number of classes)
    "planar": (2, 400, 2),
    "spirals": (2, 1000, 2),
    "xor": (2, 400, 2),
    "digits": (64, 1797, 10),
    "breast_cancer": (30, 569, 2),
    "iris": (4, 150, 3),
    "wine": (13, 178, 3),
    "faces": (625, 200, 2),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_set_loads_in_the_notes_layout(name):
    n0, m, K = EXPECTED[name]
    data = load_dataset(name)
    assert data.X_train.shape[0] == data.X_test.shape[0] == n0
    assert data.X_train.shape[1] + data.X_test.shape[1] == m
    assert data.Y_train.shape == (1, data.X_train.shape[1])
    assert len(data.classes) == K == len(np.unique(np.c_[data.Y_train, data.Y_test]))
    assert len(data.feature_names) == n0
    assert np.isfinite(data.X_train).all()


def test_mnist1d_is_generated_offline_and_leaves_the_global_seed_alone():
    pytest.importorskip("mnist1d")
    # mnist1d seeds NumPy's global generator: the loader must restore it.
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    data = load_dataset("mnist1d")
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    assert data.X_train.shape == (40, 4000) and data.X_test.shape == (40, 1000)
    assert data.classes == [str(k) for k in range(10)] and "68%" in data.reference


def test_splits_are_fixed():
    a, b = load_dataset("iris"), load_dataset("iris")
    np.testing.assert_array_equal(a.X_test, b.X_test)


def test_parity_takes_n_and_is_the_full_truth_table():
    data = load_dataset("parity:5")
    assert data.X_train.shape == (5, 32) and data.name == "parity:5"
    np.testing.assert_array_equal(data.Y_train, data.X_train.sum(axis=0, keepdims=True) % 2)
    assert load_dataset("parity").X_train.shape == (4, 16)
    with pytest.raises(ConfigurationError, match="parity:8"):
        load_dataset("parity:x")
    with pytest.raises(ConfigurationError, match="takes no parameter"):
        load_dataset("iris:3")


def test_unknown_name_lists_the_sets():
    with pytest.raises(ConfigurationError, match="built-in sets: planar"):
        load_dataset("imagenet")
    assert set(EXPECTED) | {"parity", "mnist1d"} == set(DATASETS)


def test_planar_follows_the_course_recipe():
    X, Y = make_planar(400, seed=1)
    assert X.shape == (2, 400) and Y.shape == (1, 400)
    assert (Y[0, :200] == 0).all() and (Y[0, 200:] == 1).all()
    radius = np.hypot(*X)
    assert radius.max() < 4 + 1.0  # r = 4 sin(4t) plus small noise


def test_standardisation_is_fitted_on_the_training_part_only():
    data, mean, std = standardize(load_dataset("wine"))
    np.testing.assert_allclose(data.X_train.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=1), 1, atol=1e-12)
    assert not np.allclose(data.X_test.mean(axis=1), 0, atol=1e-3)
    raw = load_dataset("wine")
    np.testing.assert_allclose(mean.ravel(), raw.X_train.mean(axis=1))


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(MissingPackageError, match=r"ldnn\[data\]"):
        load_dataset("iris")
