"""The column rules: imputation, one-hot, dropped columns with their reasons, unseen
categories, and the rules as plain data (saved with a model)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnn.data.encoding import MISSING, TableEncoding
from ldnn.data.limits import Limits
from ldnn.data.tables import columns_from, read_columns
from ldnn.errors import DataFileError

pytest.importorskip("pyarrow")
NAN = np.nan


def passengers(m=40, seed=0):
    """Columns like a passenger list: an ID, names, a category, missing ages."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(1, 80, m).round()
    age[rng.random(m) < 0.2] = NAN
    return columns_from(
        {
            "PassengerId": np.arange(1, m + 1),
            "Name": np.array([f"Person {i}, Mr." for i in range(m)], dtype=object),
            "Sex": rng.choice(["male", "female"], m).astype(object),
            "Age": age,
            "Ship": np.full(m, "Titanic", dtype=object),
            "Ticket": np.array([f"T{i // 2}" for i in range(m)], dtype=object),
        }
    )


def test_rules_and_their_reasons():
    encoding = TableEncoding.fit(passengers())
    decided = {name: (kind, what) for name, kind, what in encoding.decisions()}
    assert decided["PassengerId"] == ("dropped", "an ID (a distinct integer per row)")
    assert "unique per row" in decided["Name"][1]
    assert decided["Ship"][1] == "constant ('Titanic')"
    assert "50% of its values distinct" in decided["Ticket"][1]
    assert decided["Sex"][0] == "text" and decided["Age"][0] == "numbers"
    assert encoding.feature_names == ["Sex=female", "Sex=male", "Age"]
    assert encoding.numeric_features.tolist() == [False, False, True]


def test_median_imputation_and_one_hot_by_hand():
    columns = columns_from({"age": [1.0, NAN, 3.0, 10.0], "c": ["b", "a", None, "b"]})
    encoding = TableEncoding.fit(columns)
    # median of 1, 3, 10 is 3; categories sorted, the missing one last.
    expected = [[1, 0, 1, 0], [NAN, 1, 0, 0], [3, 0, 0, 1], [10, 0, 1, 0]]
    expected[1][0] = 3
    np.testing.assert_array_equal(encoding.transform(columns), expected)
    assert encoding.feature_names == ["age", "c=a", "c=b", f"c={MISSING}"]
    mean = TableEncoding.fit(columns, impute="mean", missing="most_frequent")
    X = mean.transform(columns)
    assert X[1, 0] == pytest.approx(14 / 3) and X[2, 1:].tolist() == [0, 1]  # 'b' twice


def test_unseen_categories_give_all_zeros_and_column_order_does_not_matter():
    train = columns_from({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    encoding = TableEncoding.fit(train)
    later = columns_from({"c": ["z", "b"], "x": [5.0, NAN], "extra": [0, 0]})
    np.testing.assert_array_equal(encoding.transform(later), [[5, 0, 0], [2, 0, 1]])
    with pytest.raises(DataFileError, match="no column 'x', which the model was trained on"):
        encoding.transform(columns_from({"c": ["a"]}))


def test_drop_and_keep_override_the_rules():
    columns = passengers()
    encoding = TableEncoding.fit(columns, drop=["Sex"], keep=["PassengerId"])
    assert "Sex=male" not in encoding.feature_names and "PassengerId" in encoding.feature_names
    with pytest.raises(DataFileError, match="--drop: no column 'nope'"):
        TableEncoding.fit(columns, drop=["nope"])
    with pytest.raises(DataFileError, match="no column is left to learn from"):
        TableEncoding.fit(columns_from({"k": [1.0, 1.0]}))
    with pytest.raises(DataFileError, match="--impute must be one of median, mean"):
        TableEncoding.fit(columns, impute="mode")


def test_a_stray_token_among_numbers_names_the_marker(tmp_path):
    rows = "".join(f"{i},T{i % 3}\n" for i in range(30))
    path = tmp_path / "d.csv"
    path.write_text("a,ticket\n" + rows + "?,PC 17599\n")
    columns = read_columns(path)  # read as text: the reader does not judge
    with pytest.raises(DataFileError, match=r"column 'a' holds numbers.*--na-values '\?'"):
        TableEncoding.fit(columns)
    assert TableEncoding.fit(columns, drop=["a"]).columns == ["ticket"]
    encoding = TableEncoding.fit(read_columns(path, na_values=["?"]))
    assert encoding.rules[0].kind == "numbers" and encoding.rules[0].missing == 1
    # Many distinct words among numbers (tickets such as "PC 17599", "113803") are text.
    tickets = [str(100000 + i) if i % 5 else f"PC {i}" for i in range(40)]
    assert TableEncoding.fit(columns_from({"t": tickets, "y": [0, 1] * 20})).rules[0].kind == (
        "dropped"
    )


def test_the_rules_round_trip_as_json_and_damage_is_refused():
    encoding = TableEncoding.fit(passengers())
    again = TableEncoding.from_metadata(json.loads(json.dumps(encoding.to_metadata())))
    columns = passengers(seed=1)
    np.testing.assert_array_equal(again.transform(columns), encoding.transform(columns))
    bad = encoding.to_metadata()
    bad["rules"][3]["fill"] = "x"
    with pytest.raises(DataFileError, match="rule for column 'Age' is damaged"):
        TableEncoding.from_metadata(bad)
    with pytest.raises(DataFileError, match="damaged"):
        TableEncoding.from_metadata({"rules": [{"name": "a", "kind": "numbers", "evil": 1}]})


def test_feature_names_are_unique():
    # A column named "b=p" beside column b's category p: the second "b=p" is numbered.
    columns = {"b": np.array(["p", "q"] * 5, dtype=object), "b=p": np.arange(10.0) % 3}
    encoding = TableEncoding.fit(columns)
    assert encoding.feature_names == ["b=p", "b=q", "b=p_2"]


def test_one_hot_categories_and_x_are_bounded():
    columns = {"c": np.array([f"k{i % 30}" for i in range(90)], dtype=object)}
    with pytest.raises(DataFileError, match=r"column 'c' has 30 categories, over the limit of 20"):
        TableEncoding.fit(columns, limits=Limits(max_categories=20))
    encoding = TableEncoding.fit(columns)
    with pytest.raises(DataFileError, match=r"X of 90 examples of 30 features would take about"):
        encoding.transform(columns, limits=Limits(max_memory=1000))
    assert encoding.transform(columns, limits=Limits(max_memory=90 * 30 * 8)).shape == (90, 30)


def test_a_model_files_rules_are_held_to_its_limits():
    data = TableEncoding.fit(passengers()).to_metadata()
    assert TableEncoding.from_metadata(data, Limits()).feature_names
    with pytest.raises(DataFileError, match="rule for column 'Sex' has 2 categories"):
        TableEncoding.from_metadata(data, Limits(max_categories=1))
    with pytest.raises(DataFileError, match="rules name 6 columns, over the limit of 5"):
        TableEncoding.from_metadata(data, Limits(max_columns=5))
    data["rules"][2]["categories"][0] = "x" * 100
    with pytest.raises(DataFileError, match="holds a name of 100 bytes"):
        TableEncoding.from_metadata(data, Limits(max_cell_bytes=50))


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(2, 30),
    missing=st.floats(0, 0.9),
    n_categories=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_every_row_is_finite_with_one_hot_sums_of_at_most_one(m, missing, n_categories, seed):
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=m)
    numbers[rng.random(m) < missing] = NAN
    numbers[0] = 1.0  # never all missing
    text = rng.choice([f"k{i}" for i in range(n_categories)], m).astype(object)
    text[rng.random(m) < missing] = None
    columns = columns_from({"n": numbers, "n2": -numbers, "t": text, "t2": text})
    try:
        encoding = TableEncoding.fit(columns)
    except DataFileError as error:
        assert "no column is left" in str(error)
        return
    X = encoding.transform(columns)
    assert X.shape == (m, len(encoding.feature_names)) and np.isfinite(X).all()
    hot = ~encoding.numeric_features
    for rule in encoding.rules:
        if rule.kind == "text":
            picked = [encoding.feature_names.index(f) for f in rule.features]
            assert set(X[:, picked].sum(axis=1)) == {1.0}  # training rows: exactly one
    assert set(np.unique(X[:, hot])) <= {0.0, 1.0}
