"""The split by a hash of each row (``--split hash``, ``--split-key``): SplitMix64's
published outputs, each row's part found from that row alone, parts of about the asked
size, stable as rows are added (and, keyed on an ID, reordered), and the same parts and
parameters whether the table is read whole or streamed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnn.data.hash_split import column_keys, held_out, mixed, row_keys, validation_held_out
from ldnn.data.table_source import split_rows
from ldnn.data.tables import Text
from ldnn.errors import ConfigurationError, DataFileError

LDNN = [sys.executable, "-m", "ldnn.cli"]
MASK = (1 << 64) - 1


def splitmix64_outputs(state: int, n: int) -> list[int]:
    """SplitMix64's generator in Python integers (Steele, Lea and Flood 2014; the
    reference's `next`): a second implementation to check the vectorised one against."""
    out = []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append(z ^ (z >> 31))
    return out


def test_the_mix_is_splitmix64_whose_first_outputs_from_0_are_published():
    # The generator seeded with 0 starts 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, ...
    # (the values quoted with the reference implementation, e.g. by Vigna's xoshiro page).
    published = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert splitmix64_outputs(0, 3) == published
    golden = 0x9E3779B97F4A7C15
    # key k with seed s mixes k + (s + 1) * golden: the generator's output k / golden + s + 1
    keys = np.array([0, golden, (2 * golden) & MASK], dtype=np.uint64)
    assert [int(v) for v in mixed(keys, seed=0)] == published


@settings(max_examples=40, deadline=None)
@given(
    key=st.integers(0, MASK),
    seed=st.integers(0, 2**31),
)
def test_the_vectorised_mix_agrees_with_python_integers(key, seed):
    state = (key + seed * 0x9E3779B97F4A7C15) & MASK  # the output after seed + 1 steps
    expected = splitmix64_outputs(state, 1)[0]
    assert int(mixed(np.array([key], dtype=np.uint64), seed)[0]) == expected


@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 3000),
    cuts=st.lists(st.integers(0, 3000), max_size=5),
    fraction=st.floats(0, 0.99),
    seed=st.integers(0, 1000),
)
def test_a_row_s_part_is_the_same_whichever_chunk_or_rank_asks(m, cuts, fraction, seed):
    whole = held_out(row_keys(0, m), fraction, seed)
    edges = sorted({0, m, *(min(c, m) for c in cuts)})
    pieces = [
        held_out(row_keys(a, b - a), fraction, seed)
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    assert np.array_equal(np.concatenate(pieces), whole)


def test_each_part_is_about_the_fraction_asked_and_seeds_differ():
    m, fraction = 200_000, 0.2
    first = held_out(row_keys(0, m), fraction, 0)
    # binomial: within 5 standard deviations (sqrt(m p (1 - p)) = 179 rows)
    assert abs(first.sum() - fraction * m) < 5 * np.sqrt(m * fraction * (1 - fraction))
    other = held_out(row_keys(0, m), fraction, 1)
    assert 0.3 < (first == other).mean() < 0.9  # another seed, another split
    assert not held_out(row_keys(0, m), 0.0, 0).any()


def test_rows_added_to_the_file_keep_their_parts():
    Y = np.zeros((1, 1000))
    data = {"test_split": 0.25, "split_seed": 7, "split": "hash"}
    train, test, split = split_rows(data, Y, "regression")
    more_train, more_test, _ = split_rows(data, np.zeros((1, 1500)), "regression")
    assert np.array_equal(more_test[more_test < 1000], test)
    assert np.array_equal(more_train[more_train < 1000], train)
    assert split["method"] == "hash" and split["key"] == "" and not split["stratified"]
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # the file's order


def test_a_key_column_hashes_its_values_text_or_numbers():
    words = Text(np.array([0, 1, 2, 1], dtype=np.int32), ["a", "b", "c"])
    keys = column_keys(words, "id", "t.csv")
    assert keys[1] == keys[3] and len(set(keys.tolist())) == 3
    same = Text(np.array([1, 0], dtype=np.int32), ["b", "a"])  # other codes, same values
    assert list(column_keys(same, "id", "t.csv")) == [keys[0], keys[1]]  # "a", "b"
    numbers = column_keys(np.array([1.5, -0.0, 0.0]), "id", "t.csv")
    assert numbers[1] == numbers[2] != numbers[0]
    with pytest.raises(DataFileError, match=r"split key column 'id' is missing in data row 3"):
        column_keys(np.array([1.0, 2.0, np.nan]), "id", "t.csv")


def test_settings_that_do_not_make_a_split_are_refused():
    Y = np.zeros((1, 10))
    with pytest.raises(ConfigurationError, match="--split must be one of shuffle, hash"):
        split_rows({"split": "random"}, Y, "regression")
    with pytest.raises(ConfigurationError, match="--split-key 'id' keys a hash split"):
        split_rows({"split": "shuffle", "split_key": "id"}, Y, "regression")
    with pytest.raises(ConfigurationError, match="needs a table with named columns"):
        split_rows({"split": "hash", "split_key": "id"}, Y, "regression")
    with pytest.raises(ConfigurationError, match="leaves no training examples out of m = 1"):
        split_rows({"split": "hash", "test_split": 0.99, "split_seed": 2}, Y[:, :1], "regression")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A CSV with an ID column, the same rows reversed, and the same with a key missing."""
    pd = pytest.importorskip("pandas")
    folder = tmp_path_factory.mktemp("hash")
    rng = np.random.default_rng(0)
    m = 800
    X = rng.normal(size=(m, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame.insert(0, "user", [f"u{i:05d}" for i in range(m)])
    frame["y"] = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    frame.to_csv(folder / "t.csv", index=False)
    frame.iloc[::-1].to_csv(folder / "reversed.csv", index=False)
    frame.assign(user=frame.user.where(np.arange(m) != 5)).to_csv(folder / "gap.csv", index=False)
    frame.to_parquet(folder / "t.parquet", row_group_size=100)
    return folder


def ldnn(args, cwd):
    return subprocess.run(
        [*LDNN, *args], capture_output=True, text=True, cwd=cwd, timeout=180,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )  # fmt: skip


# One BLAS thread, said to ldnn (its --threads auto could choose two): the streamed and
# the whole read are compared bit for bit, which holds only at the same thread count.
TRAIN = ["--target", "y", "--epochs", "3", "--layers", "8", "--no-plots", "-q", "--threads", "1"]


def weights(folder) -> dict:
    with np.load(folder / "model.npz", allow_pickle=False) as model:
        return {k: model[k] for k in model.files if k[0] in "Wb" and k[1:].isdigit()}


def test_ldnn_train_splits_by_the_hash_of_each_row_read_whole_or_streamed(tables, tmp_path):
    for name, stream in (("whole", "off"), ("streamed", "on")):
        done = ldnn(
            ["train", str(tables / "t.parquet"), *TRAIN, "--split", "hash", "--split-seed", "3"]
            + ["--stream", stream, "--name", name],
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
    whole, streamed = weights(tmp_path / "runs/whole"), weights(tmp_path / "runs/streamed")
    for key in whole:  # the same rows, the same order, one thread: bit for bit
        assert np.array_equal(whole[key], streamed[key]), key
    metrics = json.loads((tmp_path / "runs/whole/metrics.json").read_text())
    expected_test = int(held_out(row_keys(0, 800), 0.2, 3).sum())  # (0.2: the default)
    assert metrics["test"]["m"] == expected_test and metrics["train"]["m"] == 800 - expected_test
    config = (tmp_path / "runs/whole/config.toml").read_text()
    assert 'split = "hash"' in config


def test_a_split_keyed_on_an_id_finds_the_same_test_part_in_a_reordered_file(tables, tmp_path):
    done = ldnn(
        ["train", str(tables / "t.csv"), *TRAIN, "--split-key", "user", "--name", "t"], tmp_path
    )
    assert done.returncode == 0, done.stderr
    config = (tmp_path / "runs/t/config.toml").read_text()
    assert 'split = "hash"' in config and 'split_key = "user"' in config
    said = {}
    for name in ("t.csv", "reversed.csv"):
        out = tmp_path / f"{name}.json"
        done = ldnn(
            ["evaluate", "runs/t", str(tables / name), "--part", "test", "--json", "-o", str(out)],
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
        said[name] = json.loads(out.read_text())
    assert said["t.csv"]["m"] == said["reversed.csv"]["m"]
    assert said["t.csv"]["confusion_matrix"] == said["reversed.csv"]["confusion_matrix"]
    # the rows held out are those whose key hashes below 0.2, wherever they stand
    users = Text(np.arange(800, dtype=np.int32), [f"u{i:05d}" for i in range(800)])
    keys = column_keys(users, "user", "t.csv")
    assert said["t.csv"]["m"] == int(held_out(keys, 0.2, 0).sum())


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--split-key", "nobody"], "no split key column 'nobody'"),
        (["--split", "shuffle", "--split-key", "user"], "needs --split hash"),
        (["--split", "random"], "invalid choice: 'random'"),
    ],
)
def test_a_split_that_cannot_be_made_is_one_line_and_exit_2(tables, tmp_path, flags, expected):
    done = ldnn(["train", str(tables / "t.csv"), *TRAIN, *flags], tmp_path)
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_key_names_its_row(tables, tmp_path):
    done = ldnn(["train", str(tables / "gap.csv"), *TRAIN, "--split-key", "user"], tmp_path)
    assert done.returncode == 2, done.stderr
    assert "split key column 'user' is missing in data row 6" in done.stderr


@pytest.mark.parametrize("bad", [{"method": "random"}, {"key": 7}])
def test_a_model_file_s_split_of_another_method_is_refused_naming_it(bad):
    from ldnn.data.info import check_info
    from ldnn.errors import InvalidValueError

    split = {"test_split": 0.2, "split_seed": 0, "rows": 10, "method": "hash", "key": ""}
    check_info({"task": "regression", "split": split}, 3, 1)  # as ldnn train writes it
    with pytest.raises(InvalidValueError, match=r"data\.split must be"):
        check_info({"task": "regression", "split": split | bad}, 3, 1)


def test_the_validation_part_is_a_hash_of_its_own_not_the_test_part_s_draw_again():
    keys = row_keys(0, 50_000)
    test = held_out(keys, 0.2, 0)
    # the same seeds (split_seed 0, seed 0): a fifth of the training rows, not none
    validation = validation_held_out(keys[~test], 0.2, 0)
    assert abs(validation.mean() - 0.2) < 0.01
    assert np.array_equal(validation, validation_held_out(keys[~test], 0.2, 0))


def test_a_validation_part_the_hash_leaves_empty_is_one_line(tables, tmp_path):
    flags = ["--split", "hash", "--val-split", "1e-9", "--name", "v"]
    done = ldnn(["train", str(tables / "t.csv"), *TRAIN, *flags], tmp_path)
    assert done.returncode == 2, done.stderr
    m_train = 800 - int(held_out(row_keys(0, 800), 0.2, 0).sum())
    said = f"validation_split 1e-09 holds out 0 of the {m_train} training examples"
    assert said in done.stderr and "Traceback" not in done.stderr, done.stderr
