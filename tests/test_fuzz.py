"""A property-based fuzz of the public API: random architectures, settings (valid and
not), dtypes and inputs through DeepNetwork's fit, predict, evaluate, save and load and
through the estimators. Every failure is an ldnn error whose one-line message names an
argument (or, for the estimators, scikit-learn's own input validation); no NumPy
RuntimeWarning leaks; a saved network loads to the same numbers."""

from __future__ import annotations

import math
import traceback
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ldnn import DeepNetwork, DivergenceWarning, LdnnError

#: Words one of which names what was wrong in any message ldnn gives for these inputs.
NAMES = (
    "layer_dims",
    "n[",
    "activation",
    "keep_prob",
    "learning_rate",
    "epochs",
    "batch_size",
    "lambd",
    "dtype",
    "seed",
    "optimizer",
    "loss",
    "output",
    "init",
    "validation_split",
    "early_stopping",
    "X",
    "Y",
    "beta",
    "epsilon",
    "decay_rate",
    "lr_schedule",
    "setting",
    "labels",
    "sample_weight",
    "hidden_layer_sizes",
    "float32",
)

junk = st.sampled_from([None, "x", -1, 0, math.nan, math.inf, [], [0.5, "a"], True])


def maybe(good):
    """Mostly a good value, sometimes junk: most examples then reach training."""
    return st.integers(0, 9).flatmap(lambda k: junk if k == 0 else good)


SETTINGS = {
    "activations": maybe(st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu:0.1", "linear"])),
    "optimizer": maybe(st.sampled_from(["gd", "momentum", "rmsprop", "adam", "bogus"])),
    "learning_rate": maybe(st.floats(1e-4, 10.0)),
    "epochs": maybe(st.integers(1, 4)),
    "batch_size": maybe(st.one_of(st.none(), st.integers(1, 40))),
    "lambd": maybe(st.floats(0.0, 2.0)),
    "keep_prob": maybe(st.floats(0.3, 1.0)),
    "dtype": maybe(st.sampled_from(["float32", "float64", "float16"])),
    "seed": maybe(st.integers(0, 2**40)),
    "validation_split": maybe(st.sampled_from([0.0, 0.2, 0.5])),
    "init": maybe(st.sampled_from(["course", "scaled", "xavier", "he", "zeros"])),
}


def one_clear_line(error: BaseException) -> None:
    message = str(error)
    assert "\n" not in message, message
    assert any(name in message for name in NAMES), f"{type(error).__name__}: {message}"


@st.composite
def data_for(draw, dims):
    m = draw(st.integers(1, 30))
    n0 = dims[0] if draw(st.integers(0, 9)) else draw(st.integers(1, 5))  # sometimes wrong
    kinds = ["float32"] * 4 + ["float64"] * 4 + ["int64", "object", "nan", "big"]
    kind = draw(st.sampled_from(kinds))
    X = np.random.default_rng(draw(st.integers(0, 99))).normal(size=(n0, m)) * 3
    if kind == "object":
        X = X.astype(object)
    elif kind == "nan":
        X[0, 0] = np.nan
    elif kind == "big":
        X = X * 1e300
    else:
        X = X.astype(kind)
    labels = draw(st.sampled_from(["binary"] * 6 + ["wrong m", "three", "floats"]))
    rng = np.random.default_rng(1)
    Y = (rng.random((1, m)) < 0.5).astype(float)
    if labels == "wrong m":
        Y = Y[:, : max(1, m - 1)] if m > 1 else np.ones((1, 2))
    elif labels == "three":
        Y = rng.integers(0, 3, (1, m)).astype(float)
    elif labels == "floats":
        Y = rng.normal(size=(1, m))
    return X, Y


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    chosen=st.fixed_dictionaries({}, optional=SETTINGS),
    data=st.data(),
)
def test_deep_network_fails_only_with_clear_ldnn_errors(dims, chosen, data, tmp_path_factory):
    X, Y = data.draw(data_for(dims))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", DivergenceWarning)  # said on purpose
        try:
            net = DeepNetwork(dims, **chosen)
            net.fit(X, Y)
            A = net.predict_proba(X)
            net.evaluate(X, Y)
        except LdnnError as error:
            one_clear_line(error)
            event(f"refused: {type(error).__name__}")
            return
    event("trained, saved and loaded")
    assert np.isfinite(A).all()
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    net.save(path)
    loaded = DeepNetwork.load(path)
    for key, value in net.parameters.items():
        assert np.array_equal(loaded.parameters[key], value)
    assert np.array_equal(loaded.predict_proba(X), A)
    assert loaded.history.cost == net.history.cost


def raised_by_sklearn(error: BaseException) -> bool:
    frames = traceback.extract_tb(error.__traceback__)
    return any("/sklearn/" in frame.filename for frame in frames[-3:])


@settings(max_examples=60, deadline=None)
@given(
    sizes=maybe(st.lists(st.integers(1, 6), min_size=0, max_size=2)),
    learning_rate=maybe(st.floats(1e-4, 1.0)),
    epochs=maybe(st.integers(1, 3)),
    batch_size=st.one_of(st.just("auto"), maybe(st.integers(1, 20))),
    classifier=st.booleans(),
    data=st.data(),
)
def test_estimators_fail_only_with_clear_errors(
    sizes, learning_rate, epochs, batch_size, classifier, data
):
    pytest.importorskip("sklearn")
    from ldnn.sklearn import DNNClassifier, DNNRegressor

    X, Y = data.draw(data_for([3]))
    cls = DNNClassifier if classifier else DNNRegressor
    estimator = cls(sizes, learning_rate=learning_rate, epochs=epochs, batch_size=batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", DivergenceWarning)
        try:
            estimator.fit(X.T, Y.ravel())
            assert np.isfinite(np.asarray(estimator.predict(X.T), dtype=float)).all()
            event("fitted")
        except LdnnError as error:
            one_clear_line(error)
            event(f"refused: {type(error).__name__}")
        except (ValueError, TypeError) as error:
            assert raised_by_sklearn(error), f"{type(error).__name__}: {error}"
            event("refused by scikit-learn's validation")
