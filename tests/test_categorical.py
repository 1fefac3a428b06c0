"""A table's categories as the first layer's columns (issue 25): X keeps its one-hot rows as
codes (ldnn.data.compact.CompactX), layer 1 gathers W[1]'s columns and scatter-adds into
dW[1] (ldnn.core.categorical), and every number is the dense one-hot's: the products
against the dense X, the gradients against central differences (float64, relative
difference < 1e-7) with batch norm on layer 1, dropout, sample weights, L2 and a rank's
share, training and prediction against the dense X, and the one-hot never built."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.core.categorical import holds_categories
from ldnn.core.gradcheck import gradcheck
from ldnn.core.losses import example_weights
from ldnn.core.propagation import backward, forward, forward_in_blocks
from ldnn.core.regularization import dropout_mask
from ldnn.data import Limits, TableEncoding
from ldnn.data.compact import CompactX
from ldnn.data.preparation import Preparation
from ldnn.errors import ConfigurationError, DataFileError, InvalidValueError, ShapeError
from ldnn.training.mpi import share

sys.path.insert(0, str(Path(__file__).parent / "mpi"))
from thread_comm import run_ranks  # noqa: E402


def table(m=60, seed=0, cities=12):
    """A small table: numbers (one with missing values) between two text columns."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, m)
    age[rng.random(m) < 0.1] = np.nan
    return {
        "city": rng.choice([f"c{k}" for k in range(cities)], m).astype(object),
        "age": age,
        "fare": rng.lognormal(3, 1, m),
        "port": rng.choice(["C", "Q", "S"], m).astype(object),
    }


def encoded(m=60, seed=0, cities=12, unseen=0):
    """(CompactX, the dense X of the same rows, the encoding); ``unseen`` examples get a
    city training never saw (code -1: an all-zero one-hot column)."""
    columns = table(m, seed, cities)
    encoding = TableEncoding.fit(columns)
    if unseen:
        columns["city"][:unseen] = "elsewhere"
    X = encoding.encode(columns)
    preparation = Preparation.fit(X, only=encoding.numeric_features)
    X = preparation.transform_x(X)
    return X, X.dense(), encoding


def network(n0, batch_norm=False, keep_prob=1.0, output="sigmoid", n_out=1, seed=0):
    net = DeepNetwork(
        [n0, 5, 4, n_out],
        activations="tanh",
        output=output,
        batch_norm=batch_norm,
        keep_prob=keep_prob,
        dtype="float64",
        seed=seed,
    )
    net.initialize()
    rng = np.random.default_rng(seed + 1)
    for key in net.parameters:  # weights large enough that every unit bends
        if key.startswith(("W", "b", "gamma", "beta")):
            net.parameters[key] = rng.normal(size=net.parameters[key].shape)
    return net


# -- the compact X is the dense X ----------------------------------------------------------
def test_the_compact_x_holds_the_dense_x_and_slices_as_it_does():
    columns = table(50)
    encoding = TableEncoding.fit(columns)
    X, dense = encoding.encode(columns), encoding.transform(columns).T
    assert isinstance(X, CompactX) and X.shape == dense.shape == (17, 50)
    np.testing.assert_array_equal(X.dense(), dense)
    # city's 12 categories are rows 0..11, age 12, fare 13, port 14..16: codes hold the row
    assert list(X.numeric_rows) == [12, 13] and X.blocks == ((0, 12), (14, 3))
    assert X.codes.dtype == np.int32 and X.nbytes == 50 * (2 * 8 + 2 * 4)
    rows = np.array([7, 3, 3, 41])
    np.testing.assert_array_equal(X[:, rows].dense(), dense[:, rows])
    np.testing.assert_array_equal(X[:, 5:9].dense(), dense[:, 5:9])
    np.testing.assert_array_equal(X.take(rows).dense(), dense[:, rows])
    for i in (0, 12, 15, -1):
        np.testing.assert_array_equal(X[i], dense[i])
    assert X.min() == dense.min() and X.max() == dense.max()
    with pytest.raises(ShapeError, match="X\\[:, examples\\]"):
        X[1:3, :]


def test_the_preparation_standardises_the_numbers_bit_for_bit_and_lazily():
    columns = table(80)
    encoding = TableEncoding.fit(columns)
    X, dense = encoding.encode(columns), encoding.transform(columns).T
    only = encoding.numeric_features
    compact, plain = Preparation.fit(X, only=only), Preparation.fit(dense, only=only)
    np.testing.assert_array_equal(compact.x_mean, plain.x_mean)
    np.testing.assert_array_equal(compact.x_std, plain.x_std)
    prepared = compact.transform_x(X)
    assert prepared.numbers is X.numbers and prepared.codes is X.codes  # shared until cast
    for dtype in (np.float64, np.float32):
        np.testing.assert_array_equal(
            prepared.astype(dtype).dense(), plain.transform_x(dense).astype(dtype)
        )
    bad = np.ones((X.shape[0], 1))
    with pytest.raises(InvalidValueError, match="one-hot rows"):
        X - bad  # the one-hot rows would be shifted: no longer codes


# -- layer 1: the gather and the scatter-add against the dense products --------------------
@pytest.mark.parametrize("unseen", [0, 7])
@pytest.mark.parametrize(
    "batch_norm, keep_prob, weighted, lambd",
    [(False, 1.0, False, 0.0), ([True, False], 0.7, True, 0.3), ([True, True], 1.0, False, 0.1)],
)
def test_forward_and_backward_are_the_dense_one_hots(
    unseen, batch_norm, keep_prob, weighted, lambd
):
    X, dense, _ = encoded(unseen=unseen)
    m = X.shape[1]
    net = network(X.shape[0], batch_norm, keep_prob)
    rng = np.random.default_rng(2)
    Y = (rng.random((1, m)) < 0.5).astype(float)
    masks = {1: dropout_mask((5, m), 0.7, rng, dense)} if keep_prob < 1 else None
    w = rng.uniform(0.2, 2.0, m) if weighted else None
    hp, P = net.hyperparameters, net.parameters
    results = []
    for A0 in (X, dense):
        AL, caches = forward(A0, P, hp.activations, masks=masks, batch_statistics="batch")
        grads = backward(
            AL, Y, caches, hp.activations, hp.loss, weights=example_weights(m, w), lambd=lambd
        )
        results.append((caches[0].Z, AL, grads))
    (Z, AL, grads), (Z_dense, AL_dense, grads_dense) = results
    np.testing.assert_allclose(Z, Z_dense, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(AL, AL_dense, rtol=1e-13, atol=1e-13)
    for key in grads_dense:
        if key.startswith("d") and not key.startswith("dA"):
            np.testing.assert_allclose(grads[key], grads_dense[key], rtol=1e-12, atol=1e-14)
    assert grads["dA0"] is None  # no gradient with respect to 0/1 entries
    np.testing.assert_allclose(
        forward_in_blocks(X, P, hp.activations, block=16),
        forward_in_blocks(dense, P, hp.activations, block=16),
        rtol=1e-13,
        atol=1e-13,
    )


@pytest.mark.parametrize(
    "batch_norm, keep_prob, weighted, lambd, unseen",
    [
        (False, 1.0, False, 0.0, 0),
        ([True, False], 1.0, False, 0.0, 0),  # batch norm on layer 1
        (False, 0.6, False, 0.0, 0),  # dropout
        (False, 1.0, True, 0.0, 0),  # sample weights
        (False, 1.0, False, 0.5, 0),  # L2
        ([True, True], 0.8, True, 0.2, 5),  # all of them, with categories not seen
    ],
)
def test_central_differences_agree_in_float64(batch_norm, keep_prob, weighted, lambd, unseen):
    X, _, _ = encoded(m=24, cities=6, unseen=unseen)
    m = X.shape[1]
    rng = np.random.default_rng(3)
    net = network(X.shape[0], batch_norm, keep_prob, output="softmax", n_out=3)
    labels = rng.integers(0, 3, m)
    w = rng.uniform(0.2, 2.0, m) if weighted else None
    result = gradcheck(net, X, labels, lambd=lambd, sample_weight=w, epsilon=1e-6)
    assert result.difference < 1e-7, str(result)


def test_a_ranks_shares_add_up_to_the_batchs_gradient():
    """Each rank holds X[:, share]; its dW[1] (a scatter-add with the whole batch's
    example weights) summed over the ranks is the one-process gradient, and the dense
    one-hot's."""
    X, dense, _ = encoded(m=40, unseen=3)
    m = X.shape[1]
    net = network(X.shape[0], [True, False])
    rng = np.random.default_rng(4)
    Y, w = (rng.random((1, m)) < 0.5).astype(float), rng.uniform(0.5, 1.5, m)
    hp, P = net.hyperparameters, net.parameters

    def gradient(A0, part):
        AL, caches = forward(A0[:, part], P, hp.activations, batch_statistics="running")
        weights = example_weights(m, w[part], total=w.sum())
        return backward(AL, Y[:, part], caches, hp.activations, hp.loss, weights=weights)

    whole = gradient(dense, slice(None))
    for ranks in (2, 3):
        parts = [share(m, ranks, r) for r in range(ranks)]
        added = sum(gradient(X, part)["dW1"] for part in parts)
        np.testing.assert_allclose(added, whole["dW1"], rtol=1e-12, atol=1e-14)


# -- training and prediction ---------------------------------------------------------------
SETTINGS = [
    dict(optimizer="adam", batch_size=16),
    dict(optimizer="gd", batch_size=None, batch_norm=True, lambd=0.1),
    dict(optimizer="momentum", batch_size=8, keep_prob=0.8, validation_split=0.2),
    dict(optimizer="lbfgs", batch_size=None),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_training_on_codes_gives_the_dense_x_numbers(settings, monkeypatch):
    X, dense, _ = encoded(m=90)
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, X.shape[1])
    w = rng.uniform(0.5, 2.0, X.shape[1])
    nets = []
    for A0 in (X, dense):
        net = DeepNetwork([X.shape[0], 6, 3], dtype="float64", epochs=4, seed=2, **settings)
        net.fit(A0, labels, sample_weight=w)
        nets.append(net)
        # The one-hot X is never built on the way (monkeypatched after the dense X).
        monkeypatch.setattr(CompactX, "dense", lambda *a: pytest.fail("built the one-hot X"))
    for key, value in nets[1].parameters.items():
        np.testing.assert_allclose(nets[0].parameters[key], value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nets[0].history.cost, nets[1].history.cost, rtol=1e-10)
    np.testing.assert_allclose(nets[0].predict_proba(X), nets[1].predict_proba(dense), atol=1e-12)
    assert nets[0].evaluate(X, labels) == pytest.approx(nets[1].evaluate(dense, labels))


def test_float32_training_casts_each_mini_batch_as_the_whole_cast_and_keeps_the_codes():
    """Training in float32 does not write X's numbers again in float32: the checked X
    shares the numbers and the codes, and each mini-batch (and each block a prediction
    reads) is standardised and cast as it is gathered. What that promises is what the
    one cast of the whole X gave: each mini-batch's numbers are float32 and, bit for bit,
    those of the written cast; so training holds the numbers once, not a float64 and a
    float32 copy of them (issue 25's memory at 2,000,000 rows)."""
    X, _, _ = encoded(m=64)  # standardised, lazily: a shift and a scale
    labels = np.arange(64) % 2
    net = DeepNetwork([X.shape[0], 4, 1], epochs=2, batch_size=16, seed=0)
    checked, _, extent = net.check_data(X, labels.reshape(1, -1), with_extent=True)
    assert checked.numbers is X.numbers and checked.codes is X.codes  # no copy of either
    assert checked.dtype == np.float32 and checked.numbers.dtype == np.float64
    written = X.astype(np.float32)  # the whole X cast once, as before
    assert extent == pytest.approx(np.abs(written.dense()).max())
    batch = np.random.default_rng(0).permutation(64)[:16]
    n_num, n_text = X.numbers.shape[1], X.codes.shape[1]
    buffers = [(np.empty((16, n_num), dtype), np.empty((16, n_text), np.int32)) for dtype in "df"]
    for out in (None, *buffers):  # a new array, or the float64 or float32 buffers given
        taken = checked.take(batch, out=out)
        assert taken.numbers.dtype == np.float32 and taken.shift is None
        assert taken.numbers.tobytes() == written.numbers[batch].tobytes()
        assert np.array_equal(taken.codes, X.codes[batch])
    assert checked.numeric().tobytes() == written.numeric().tobytes()
    assert checked[:, 5:40].numeric().tobytes() == written[:, 5:40].numeric().tobytes()
    net.fit(X, labels.reshape(1, -1))
    assert net.predict(X).shape == (1, 64)
    assert np.array_equal(net.predict_proba(X), net.predict_proba(written))


def test_data_parallel_ranks_train_on_shares_of_the_codes():
    X, _, _ = encoded(m=45)
    labels = np.arange(45) % 3
    settings = dict(dtype="float64", epochs=3, batch_size=8, seed=1, optimizer="gd")
    one = DeepNetwork([X.shape[0], 5, 3], **settings)
    one.fit(X, labels)

    def rank_fit(comm):
        part = share(45, comm.Get_size(), comm.Get_rank())
        net = DeepNetwork([X.shape[0], 5, 3], **settings)
        net.fit(X[:, part], labels[part], comm=comm)
        return net

    for net in run_ranks(3, rank_fit):
        for key, value in one.parameters.items():
            np.testing.assert_allclose(net.parameters[key], value, rtol=0, atol=1e-12)


def test_the_gpu_is_refused_for_codes_in_one_line():
    X, _, _ = encoded(m=20)
    net = DeepNetwork([X.shape[0], 3, 1], device="gpu")
    with pytest.raises(ConfigurationError, match="CPU only") as error:
        net.fit(X, np.zeros((1, 20)))
    assert error.value.field == "device"


def test_holds_categories_asks_what_x_holds():
    X, dense, _ = encoded(m=10)
    assert holds_categories(X) and not holds_categories(dense)


# -- the encoding: limits, rare categories, what predict meets ------------------------------
def test_a_wide_category_column_takes_its_codes_not_its_one_hot():
    rng = np.random.default_rng(0)
    m, K = 200_000, 5_000
    columns = {"c": np.array([f"k{i}" for i in rng.integers(0, K, m)], dtype=object)}
    columns["x"] = rng.normal(size=m)
    limits = Limits(max_categories=K, max_memory=16 << 20)  # a one-hot would take 8 GB
    X = TableEncoding.fit(columns, limits=limits).encode(columns, limits=limits)
    assert X.shape == (K + 1, m) and X.nbytes == m * (8 + 4)
    with pytest.raises(DataFileError, match="X of 200,000 examples of 1 numbers and 1 text"):
        TableEncoding.fit(columns, limits=limits).encode(columns, limits=Limits(max_memory=1 << 20))


def test_rare_categories_are_pooled_into_other_which_takes_the_unseen_too():
    columns = {"c": np.array(["a"] * 10 + ["b"] * 6 + ["r1", "r2", "r2"], dtype=object)}
    columns["x"] = np.arange(19.0)
    encoding = TableEncoding.fit(columns, min_count=3)
    rule = encoding.rules[0]
    assert rule.categories == ["a", "b", "(other)"] and rule.pooled == 2
    assert "(other) holds 2 rare ones" in rule.describe(True)
    later = {"c": np.array(["a", "r1", "new", "b"], dtype=object), "x": np.zeros(4)}
    np.testing.assert_array_equal(encoding.encode(later).codes[:, 0], [0, 2, 2, 1])
    assert encoding.unexpected(later) == {"unseen": {"c": 2}, "missing": {}}
    # The model file holds the count; a rule without pooling is written as before.
    data = encoding.to_metadata()
    assert data["rules"][0]["pooled"] == 2 and "pooled" not in data["rules"][1]
    assert TableEncoding.from_metadata(data).rules == encoding.rules
    data["rules"][0]["categories"] = ["a", "b"]
    with pytest.raises(DataFileError, match="damaged"):
        TableEncoding.from_metadata(data)
    assert TableEncoding.fit(columns).rules[0].categories == ["a", "b", "r1", "r2"]
    with pytest.raises(DataFileError, match="min_category_count"):
        TableEncoding.fit(columns, min_count=0)


def test_unseen_categories_and_missing_values_are_counted_per_column():
    columns = table(40)
    encoding = TableEncoding.fit(columns)
    later = table(10, seed=1)
    later["city"][:3] = "nowhere"
    later["port"][4] = None
    later["fare"][[1, 2]] = np.nan
    later["age"] = np.where(np.arange(10) == 5, np.nan, 30.0)
    found = encoding.unexpected(later)
    assert found["unseen"] == {"city": 3}
    assert found["missing"] == {"age": 1, "fare": 2, "port": 1}
    X = encoding.encode(later)
    assert (X.codes[:3, 0] == -1).all()  # all zeros: port had no missing value in training
    assert X.codes[4, 1] == -1


def write_table(path, m=300, seed=0):
    rng = np.random.default_rng(seed)
    cities = rng.integers(0, 60, m)
    x = rng.normal(size=m)
    y = ((cities % 3 == 0) ^ (x > 0)).astype(int)
    lines = ["city,x,colour,y"] + [
        f"c{c},{v:.4f},{'red' if k % 2 else 'blue'},{t}"
        for k, (c, v, t) in enumerate(zip(cities, x, y, strict=True))
    ]
    Path(path).write_text("\n".join(lines) + "\n")


def test_predict_and_evaluate_say_what_the_file_holds_that_training_did_not(tmp_path, capsys):
    from ldnn.cli import main

    write_table(tmp_path / "t.csv")
    argv = ["train", str(tmp_path / "t.csv"), "--target", "y", "--epochs", "3", "--no-plots"]
    assert main([*argv, "-q", "--runs-dir", str(tmp_path / "runs"), "--name", "r"]) == 0
    later = tmp_path / "later.csv"
    later.write_text("city,x,colour,y\nc1,0.5,red,1\nzz,,red,0\nzz,1.0,green,1\nc2,0.1,,0\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "runs" / "r"), str(later)]) == 0
    err = capsys.readouterr().err
    assert err == (
        f"{later}: categories outside the model's: city 2, colour 1 (all zeros, or (other)"
        " where pooled); missing values: x 1, colour 1 (filled as in training)\n"
    )
    assert main(["evaluate", str(tmp_path / "runs" / "r"), str(later), "--json"]) == 0
    out, err = capsys.readouterr()
    scores = json.loads(out)
    assert scores["unseen_categories"] == {"city": 2, "colour": 1}
    assert scores["missing_values"] == {"x": 1, "colour": 1}
    assert err.count("\n") == 1


def test_each_part_is_encoded_from_the_files_rows_as_the_whole_x_split(tmp_path):
    """table_for_training encodes the training and test parts from the file's rows (no X
    of every row to split): a table of numbers alone gives the dense X of before, bit
    for bit, and a table with text the CompactX of the same rows."""
    from ldnn.data.table_source import read, reading, split_rows, table_for_training

    write_table(tmp_path / "t.csv", m=120)
    numbers = tmp_path / "n.csv"
    lines = (tmp_path / "t.csv").read_text().splitlines()
    numbers.write_text(
        "\n".join(",".join(c for k, c in enumerate(line.split(",")) if k != 2) for line in lines)
        + "\n"
    )
    for path in (numbers, tmp_path / "t.csv"):
        dataset = table_for_training(str(path), {"target": "y"}, None)
        table = read(str(path), reading({}))
        Y = table["y"].reshape(1, -1)
        train, test, _ = split_rows({}, Y, "classification")
        X = dataset.encoding.encode(table.only([r.name for r in dataset.encoding.rules]))
        for part, rows in ((dataset.X_train, train), (dataset.X_test, test)):
            if isinstance(X, CompactX):
                np.testing.assert_array_equal(part.dense(), X[:, rows].dense())
            else:
                assert part.flags.c_contiguous and X[:, rows].flags.c_contiguous
                np.testing.assert_array_equal(part, X[:, rows])


def test_pooling_is_a_flag_and_a_config_setting(tmp_path, capsys):
    import tomllib

    from ldnn.cli import main

    write_table(tmp_path / "t.csv")
    runs = str(tmp_path / "runs")
    argv = ["train", str(tmp_path / "t.csv"), "--target", "y", "--epochs", "2", "-q"]
    assert (
        main(
            [*argv, "--no-plots", "--runs-dir", runs, "--name", "p", "--min-category-count", "1000"]
        )
        == 0
    )
    config = tomllib.loads((tmp_path / "runs" / "p" / "config.toml").read_text())
    assert config["data"]["min_category_count"] == 1000
    rules = DeepNetwork.load(tmp_path / "runs" / "p" / "model.npz").metadata["data"]
    assert "(other)" in json.dumps(rules)  # every category rarer than 1,000: one column
    again = ["train", "--config", str(tmp_path / "runs" / "p" / "config.toml"), "-q"]
    assert main([*again, "--no-plots", "--runs-dir", runs, "--name", "q"]) == 0
