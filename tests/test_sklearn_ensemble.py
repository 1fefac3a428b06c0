"""DNNClassifier / DNNRegressor with ``ensemble=K``: K members, member k from the seed + k,
merged into one network (ldnn.model.ensemble): member 0 is the one-network fit, bit for
bit (one process, one thread count), and the merged model predicts the members' mean
Z[L]."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from ldnn.sklearn import DNNClassifier, DNNRegressor


def data(m=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 4))
    y = (X[:, 0] - X[:, 1] ** 2 + 0.3 * rng.normal(size=m) > -0.5).astype(int)
    return X, y, X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.normal(size=m)


SMALL = {"hidden_layer_sizes": (8, 6), "epochs": 30, "random_state": 4}


@pytest.mark.parametrize("Estimator", [DNNClassifier, DNNRegressor])
def test_member_0_is_the_one_network_fit_and_the_merge_is_k_wide(Estimator):
    X, y_class, y_value = data()
    y = y_class if Estimator is DNNClassifier else y_value
    one = Estimator(**SMALL).fit(X, y)
    three = Estimator(**SMALL, ensemble=3).fit(X, y)
    assert three.network_.layer_dims == (4, 24, 18, 1)
    W1, W3 = three.network_.parameters["W1"], three.network_.parameters["W3"]
    # W[1] stacked: member 0's rows first; W[L] = (1/K) [W_0[L] W_1[L] W_2[L]]
    assert np.array_equal(W1[:8], one.network_.parameters["W1"])
    assert np.array_equal(W3[:, :6], one.network_.parameters["W3"] / 3)
    assert not np.array_equal(W1[8:16], W1[:8])  # members 1 and 2 drew their own
    assert three.n_iter_ == one.n_iter_ and three.loss_curve_ == one.loss_curve_
    assert len(three.ensemble_n_iter_) == 3 and three.ensemble_n_iter_[0] == one.n_iter_
    assert np.isfinite(three.predict(X)).all() and clone(three).ensemble == 3


def test_the_merged_classifier_predicts_the_members_mean_logit():
    X, y, _ = data(seed=1)
    three = DNNClassifier(**SMALL, ensemble=3).fit(X, y)
    p = three.network_.parameters
    A = X.T
    logits = []
    for k in range(3):  # each member's own pass, from its blocks of the merged W[l]
        block = slice(8 * k, 8 * k + 8), slice(6 * k, 6 * k + 6)
        A1 = np.maximum(p["W1"][block[0]] @ A + p["b1"][block[0]], 0)
        A2 = np.maximum(p["W2"][block[1], block[0]] @ A1 + p["b2"][block[1]], 0)
        logits.append(3 * p["W3"][:, block[1]] @ A2)
    Z = np.mean(logits, axis=0) + p["b3"]
    expected = 1 / (1 + np.exp(-Z[0]))
    assert np.allclose(three.predict_proba(X)[:, 1], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "auto"])
def test_a_bad_ensemble_is_one_clear_error(bad):
    X, y, _ = data(m=60)
    with pytest.raises(ValueError, match="ensemble must be a whole number >= 1"):
        DNNClassifier(**SMALL, ensemble=bad).fit(X, y)


def test_an_ensemble_is_not_trained_on_by_partial_fit_or_a_warm_start():
    X, y, _ = data(m=120)
    with pytest.raises(ValueError, match="partial_fit cannot go on training an ensemble"):
        DNNClassifier(**SMALL, ensemble=2).partial_fit(X, y, classes=[0, 1])
    warm = DNNClassifier(**SMALL, ensemble=2, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="a warm-started fit cannot go on"):
        warm.fit(X, y)
