"""The estimators on DataFrames, as scikit-learn's take them; TableEncoder for text and
missing values in a Pipeline; MLPClassifier's names answered with ldnn's."""

import doctest

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
pytest.importorskip("pyarrow")

from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import ldnn.sklearn.table  # noqa: E402
from ldnn import ArgumentTypeError, ConfigurationError  # noqa: E402
from ldnn.sklearn import DNNClassifier, DNNRegressor, TableEncoder  # noqa: E402
from public_tables import passengers  # noqa: E402


def frame(m=400, seed=0):
    columns = passengers(m, seed)
    return pd.DataFrame({k: v for k, v in columns.items() if k != "Survived"}), columns["Survived"]


def test_a_numeric_dataframe_is_taken_with_its_column_names():
    X, y = frame()
    numbers = X[["Pclass", "SibSp", "Parch", "Fare"]]
    clf = DNNClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0).fit(numbers, y)
    assert list(clf.feature_names_in_) == ["Pclass", "SibSp", "Parch", "Fare"]
    with pytest.warns(UserWarning, match="feature names"):  # scikit-learn's own warning
        np.testing.assert_array_equal(clf.predict(numbers), clf.predict(numbers.to_numpy()))
    reg = DNNRegressor(hidden_layer_sizes=(8,), epochs=5, random_state=0).fit(numbers, X["Fare"])
    assert reg.n_features_in_ == 4


def test_text_columns_are_named_with_what_encodes_them():
    X, y = frame()
    with pytest.raises(ConfigurationError, match=r"column 'Name' holds text.*TableEncoder"):
        DNNClassifier(epochs=1).fit(X, y)


def test_a_pipeline_with_the_table_encoder_learns_the_raw_table():
    X, y = frame(891)
    pipeline = make_pipeline(
        TableEncoder(),
        StandardScaler(),
        DNNClassifier(hidden_layer_sizes=(16,), epochs=60, learning_rate=0.01, random_state=0),
    )
    pipeline.fit(X[:700], y[:700])
    assert pipeline.score(X[700:], y[700:]) > 0.7  # the majority class is ~0.6
    encoder = pipeline[0]
    assert "PassengerId" not in encoder.get_feature_names_out()
    assert "Sex=female" in encoder.get_feature_names_out()
    unseen = X[700:].assign(Embarked="X")  # a port not seen in training: all zeros
    assert pipeline.predict_proba(unseen[list(reversed(X.columns))]).shape == (191, 2)
    assert clone(encoder).get_params() == encoder.get_params()


def test_the_table_encoders_example_runs():
    assert doctest.testmod(ldnn.sklearn.table, raise_on_error=False).failed == 0


@pytest.mark.parametrize(
    "name, ldnn_name",
    [
        ("max_iter", "epochs"),
        ("alpha", "lambd"),
        ("learning_rate_init", "learning_rate"),
        ("solver", "optimizer"),
        ("n_iter_no_change", "patience"),
    ],
)
def test_mlp_names_are_answered_with_ldnn_names(name, ldnn_name):
    for estimator in (DNNClassifier, DNNRegressor):
        with pytest.raises(ArgumentTypeError, match=f"'{name}'.*'{ldnn_name}'"):
            estimator(**{name: 1})
        with pytest.raises(ArgumentTypeError, match=f"'{ldnn_name}'"):
            estimator().set_params(**{name: 1})


def test_to_onnx_of_a_pipeline_says_what_to_pass():
    pytest.importorskip("onnx")
    from ldnn.onnx import to_onnx

    X, y = frame()
    numbers = X[["Pclass", "Fare"]]
    pipeline = make_pipeline(StandardScaler(), DNNClassifier(epochs=2, random_state=0))
    pipeline.fit(numbers, y)
    with pytest.raises(ConfigurationError, match=r"not a scikit-learn Pipeline.*pipeline\[-1\]"):
        to_onnx(pipeline)
    assert to_onnx(pipeline[-1]).graph.input[0].name == "X"
