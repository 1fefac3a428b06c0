"""ldnn.sklearn: scikit-learn's own estimator checks, then the behaviour they do not cover
(task from y, string labels, weights, partial_fit and warm_start, meta-estimators)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.datasets import make_blobs, make_multilabel_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    parametrize_with_checks,
)

from ldnn.sklearn import DNNClassifier, DNNRegressor


def expected_failed_checks(estimator) -> dict[str, str]:
    """Checks that ldnn's estimators are known to fail, with the reason."""
    if estimator.keep_prob == 1.0 and estimator.early_stopping is False and not estimator.lambd:
        return {}
    # The defaults' dropout masks, mini-batches and validation part are drawn per row, and
    # the L2 term is the notes' lambd / 2m with m the rows: a row repeated w times is not
    # the row weighted w. PLAIN below passes this check.
    return {
        "check_sample_weight_equivalence_on_dense_data": "dropout, mini-batches, the "
        "validation part and L2's m count rows"
    }


#: The network without what counts rows: full batch, no dropout, no validation part, no
#: L2, for which a weight w is w copies of its row.
PLAIN = {"keep_prob": 1.0, "early_stopping": False, "batch_size": 10**6, "lambd": 0.0}


@parametrize_with_checks(
    [DNNClassifier(), DNNRegressor(), DNNRegressor(standardize_target=False)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [DNNClassifier(**PLAIN), DNNRegressor(**PLAIN)])
def test_a_weight_is_that_many_copies_without_what_counts_rows(estimator):
    check_sample_weight_equivalence_on_dense_data(type(estimator).__name__, estimator)


# -- data --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=150, centers=3, n_features=4, random_state=0)
    return StandardScaler().fit_transform(X), y


def small(cls=DNNClassifier, **settings):
    # A larger step than the default 1e-3: the small sets below make one or two steps
    # per epoch.
    settings = {
        "hidden_layer_sizes": (16,),
        "epochs": 60,
        "learning_rate": 0.01,
        "random_state": 0,
        "keep_prob": 1.0,
        "lambd": 0.0,
        "early_stopping": False,
        **settings,
    }
    return cls(**settings)


# -- the task follows from y -----------------------------------------------------------------
def test_binary_target_gives_one_sigmoid_unit_and_two_probability_columns(blobs):
    X, y = blobs
    keep = y < 2
    clf = small().fit(X[keep], y[keep])
    assert clf.network_.layer_dims == (4, 16, 1)
    assert clf.network_.hyperparameters.activations[-1] == "sigmoid"
    proba = clf.predict_proba(X[keep])
    assert proba.shape == (keep.sum(), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    # The prediction is the class of the larger probability.
    np.testing.assert_array_equal(clf.predict(X[keep]), clf.classes_[proba.argmax(axis=1)])


def test_multiclass_string_labels_use_a_softmax_and_come_back_as_strings(blobs):
    X, y = blobs
    names = np.array(["cat", "dog", "emu"])[y]
    clf = small(epochs=100).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    assert clf.network_.layer_dims == (4, 16, 3)
    assert clf.network_.hyperparameters.activations[-1] == "softmax"
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    predicted = clf.predict(X)
    assert set(predicted) <= {"cat", "dog", "emu"}
    assert np.mean(predicted == names) > 0.9


def test_multilabel_indicator_uses_independent_sigmoids():
    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    clf = small(epochs=100).fit(StandardScaler().fit_transform(X), Y)
    assert clf.network_.layer_dims[-1] == 4
    assert clf.network_.hyperparameters.activations[-1] == "sigmoid"
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    proba = clf.predict_proba(StandardScaler().fit_transform(X))
    assert proba.shape == (120, 4)
    # Independent units: rows do not sum to 1.
    assert not np.allclose(proba.sum(axis=1), 1)
    predicted = clf.predict(StandardScaler().fit_transform(X))
    assert predicted.shape == Y.shape
    np.testing.assert_array_equal(predicted, (proba > 0.5).astype(int))


def test_one_class_is_refused_with_a_message_naming_classes():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="2 classes"):
        small().fit(X, np.ones(10))


def test_continuous_target_is_refused_by_the_classifier():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="Unknown label type"):
        small().fit(X, np.linspace(0, 1, 10))


def test_regressor_fits_a_line_and_keeps_the_shape_of_y():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 0.5
    reg = small(DNNRegressor, epochs=300, learning_rate=0.01).fit(X, y)
    assert reg.network_.hyperparameters.activations[-1] == "linear"
    assert reg.predict(X).shape == (200,)
    assert reg.score(X, y) > 0.98
    Y2 = np.column_stack([y, -y])
    reg2 = small(DNNRegressor, epochs=300, learning_rate=0.01).fit(X, Y2)
    assert reg2.n_outputs_ == 2
    assert reg2.predict(X).shape == (200, 2)


def test_dtype_float32_trains_in_float32(blobs):
    X, y = blobs
    clf = small(dtype="float32").fit(X, y)
    assert clf.network_.parameters["W1"].dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    assert small().fit(X, y).network_.parameters["W1"].dtype == np.float64


def test_parameters_are_in_the_notes_shapes(blobs):
    X, y = blobs
    clf = small(hidden_layer_sizes=(7, 5)).fit(X, y)
    p = clf.network_.parameters
    assert p["W1"].shape == (7, 4) and p["b1"].shape == (7, 1)
    assert p["W2"].shape == (5, 7) and p["W3"].shape == (3, 5) and p["b3"].shape == (3, 1)


# -- weights -------------------------------------------------------------------------------------
def test_integer_sample_weights_equal_repeated_examples(blobs):
    # Full-batch training (batch_size >= m) sums the same gradient terms either way.
    X, y = blobs
    X, y = X[:40], y[:40]
    w = np.random.default_rng(1).integers(0, 3, size=40)
    weighted = small(batch_size=500).fit(X, y, sample_weight=w)
    repeated = small(batch_size=500).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-6)


def test_sample_weight_changes_the_fit(blobs):
    X, y = blobs
    w = np.where(y == 0, 10.0, 1.0)
    plain = small(epochs=5).fit(X, y)
    weighted = small(epochs=5).fit(X, y, sample_weight=w)
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X))


def test_class_weight_equals_the_matching_sample_weight(blobs):
    X, y = blobs
    by_class = small(class_weight={0: 5.0, 1: 1.0, 2: 0.5}).fit(X, y)
    by_sample = small().fit(X, y, sample_weight=np.array([5.0, 1.0, 0.5])[y])
    np.testing.assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X))
    balanced = small(class_weight="balanced").fit(X, y)
    assert balanced.predict_proba(X).shape == (150, 3)


def test_class_weight_refused_for_multilabel():
    X, Y = make_multilabel_classification(n_samples=30, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match="multilabel"):
        small(class_weight="balanced").fit(X, Y)


# -- partial_fit and warm_start -----------------------------------------------------------------
def test_partial_fit_needs_classes_first_and_counts_one_epoch_per_call(blobs):
    X, y = blobs
    clf = small()
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    # A first batch without class 2 still builds a 3-unit softmax.
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.network_.layer_dims[-1] == 3 and clf.n_iter_ == 1
    for _ in range(4):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    with pytest.raises(ValueError, match="not in"):
        clf.partial_fit(X, np.full(len(y), 7))


def test_partial_fit_continues_training(blobs):
    X, y = blobs
    clf = small()
    clf.partial_fit(X, y, classes=np.unique(y))
    first = clf.loss_curve_[0]
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.loss_curve_[-1] < first / 2


def test_warm_start_continues_and_accumulates_n_iter(blobs):
    X, y = blobs
    warm = small(epochs=30, warm_start=True).fit(X, y)
    W1 = warm.network_.parameters["W1"].copy()
    t = warm.network_.optimizer.t if hasattr(warm.network_.optimizer, "t") else None
    warm.fit(X, y)
    assert warm.n_iter_ == 60 and len(warm.loss_curve_) == 60
    assert not np.allclose(W1, warm.network_.parameters["W1"])
    if t is not None:  # Adam's step count carried over
        assert warm.network_.optimizer.t > t
    # Without warm_start a second fit starts afresh and equals the first.
    cold = small(epochs=30).fit(X, y)
    first = cold.predict_proba(X)
    cold.fit(X, y)
    assert cold.n_iter_ == 30
    np.testing.assert_array_equal(first, cold.predict_proba(X))


def test_warm_start_refuses_new_classes(blobs):
    X, y = blobs
    clf = small(epochs=5, warm_start=True).fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="not in"):
        clf.fit(X, y)


def test_early_stopping_records_validation_scores():
    X, y = make_blobs(n_samples=200, centers=2, cluster_std=6.0, random_state=0)
    clf = small(epochs=400, early_stopping=True, patience=5, learning_rate=0.05).fit(X, y)
    assert clf.stop_reason_ == "early stopping"
    assert clf.n_iter_ < 400
    assert len(clf.validation_scores_) == clf.n_iter_
    assert all(0 <= s <= 1 for s in clf.validation_scores_)
    reg = small(DNNRegressor, epochs=20, early_stopping=True).fit(X, y.astype(float))
    assert len(reg.validation_scores_) == reg.n_iter_
    # The regressor's score is R^2 on the held-out examples; it improves with training.
    assert reg.validation_scores_[-1] > reg.validation_scores_[0]
    assert small(epochs=3).fit(X, y).validation_scores_ is None


# -- the scikit-learn ecosystem -------------------------------------------------------------
def test_unfitted_predict_raises_sklearn_not_fitted_error():
    with pytest.raises(NotFittedError):
        DNNClassifier().predict(np.zeros((2, 3)))


def test_clone_copies_hyperparameters_not_the_network(blobs):
    X, y = blobs
    clf = small(hidden_layer_sizes=(9,)).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "network_")


def test_pickle_round_trip_predicts_the_same(blobs):
    X, y = blobs
    clf = small().fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_pipeline_grid_search_and_cross_val_score():
    X, y = make_blobs(n_samples=120, centers=3, random_state=1)
    pipe = make_pipeline(StandardScaler(), small(epochs=40))
    search = GridSearchCV(pipe, {"dnnclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=3).fit(
        X, y
    )
    assert search.best_params_["dnnclassifier__hidden_layer_sizes"] in [(4,), (16,)]
    assert search.score(X, y) > 0.8
    scores = cross_val_score(
        small(DNNRegressor, epochs=40), *make_regression(60, 3, random_state=0), cv=3
    )
    assert scores.shape == (3,)


def test_regression_validation_score_is_r2():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], X[:, 0] * X[:, 1]])
    reg = small(DNNRegressor, epochs=5).fit(X, Y)
    # The score of the held-out part (X_val, Y_val) in the notes' layout after an epoch is
    # R^2 over both outputs of the network's predictions, scikit-learn's definition, in the
    # target's units; Y_val comes in the units the network learns, (y - mean) / std.
    X_val, Y_val = X[:20].T, ((Y[:20] - reg.y_mean_) / reg.y_std_).T
    score = reg._validation_score(reg.network_.parameters, {}, (X_val, Y_val))
    expected = r2_score(Y[:20], reg.predict(X[:20]), multioutput="variance_weighted")
    assert score == pytest.approx(expected, rel=1e-12)


def test_early_stopping_on_a_small_set_falls_back_to_an_unstratified_split(blobs):
    X, y = blobs
    # 20 examples, 3 classes: a stratified 10% split (2 examples) cannot hold every class.
    clf = small(epochs=5, early_stopping=True).fit(X[:20], y[:20])
    assert len(clf.validation_scores_) == clf.n_iter_
    # A seed beyond 2**32 still gives a valid split.
    small(epochs=2, early_stopping=True, random_state=2**40).fit(X, y)


def test_regressor_partial_fit_counts_epochs_and_checks_outputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    reg = small(DNNRegressor)
    for _ in range(3):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 3 and reg.network_.layer_dims == (3, 16, 1)
    with pytest.raises(ValueError, match="outputs"):
        reg.partial_fit(X, np.column_stack([y, y]))


def test_a_pickled_estimator_warm_starts_like_one_never_pickled(blobs):
    import pickle

    X, y = blobs
    kept = small(epochs=3, random_state=0).fit(X, y)
    copied = pickle.loads(pickle.dumps(small(epochs=3, random_state=0).fit(X, y)))
    for estimator in (kept, copied):
        estimator.set_params(warm_start=True, epochs=4)
        estimator.fit(X, y)
        estimator.partial_fit(X, y)
    assert kept.n_iter_ == copied.n_iter_ == 8
    for key, value in kept.network_.parameters.items():
        assert np.array_equal(copied.network_.parameters[key], value), key
    assert kept.loss_curve_ == copied.loss_curve_


def test_an_activation_that_is_no_name_is_said_so():
    from ldnn.errors import ArgumentTypeError

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ArgumentTypeError, match="activation must be a name or a list"):
        DNNClassifier(activation=None, epochs=1).fit(X, y)
