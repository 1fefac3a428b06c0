"""A shuffle within windows (``shuffle_window``, issue 27): each epoch's batches are a
permutation of the m columns made of windows of w consecutive columns, the windows in a
shuffled order and each shuffled within; drawn from the generator alone; 0 (or w >= m)
is the shuffle of all columns, as before."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnn import DeepNetwork
from ldnn.cli import main
from ldnn.errors import ConfigurationError
from ldnn.training.batches import minibatches


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(2, 300),
    batch=st.integers(1, 64),
    window=st.integers(1, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_batches_are_a_permutation_of_shuffled_windows(m, batch, window, seed):
    batches = minibatches(m, batch, np.random.default_rng(seed), window)
    if batch >= m:
        assert batches == [slice(None)]
        return
    order = np.concatenate(batches)
    assert np.array_equal(np.sort(order), np.arange(m))
    assert all(len(b) == batch for b in batches[:-1])
    # The order runs through whole windows, one after another.
    owner = order // window
    runs = owner[np.flatnonzero(np.diff(owner, prepend=-1) != 0)]
    assert len(runs) == len(set(runs.tolist())) == -(-m // window)
    # The same generator state, the same batches.
    again = minibatches(m, batch, np.random.default_rng(seed), window)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


@pytest.mark.parametrize("window", [0, 100, 1000])
def test_no_window_or_one_of_all_columns_is_the_whole_shuffle(window):
    ours = minibatches(100, 16, np.random.default_rng(3), window)
    rng = np.random.default_rng(3)
    order = np.arange(100, dtype=np.int32)
    rng.shuffle(order)  # (what the shuffle of all columns always drew)
    assert np.array_equal(np.concatenate(ours), order)


def test_a_window_shuffles_within_it_and_the_windows_among_themselves():
    rng = np.random.default_rng(0)
    orders = [np.concatenate(minibatches(40, 4, rng, 10)) for _ in range(30)]
    first_windows = {int(o[0] // 10) for o in orders}
    assert first_windows == {0, 1, 2, 3}  # every window comes first some epoch
    assert len({tuple(o[:10] % 10) for o in orders}) > 20  # and is shuffled within


@pytest.mark.parametrize("bad", [-1, 2.5, True, "all"])
def test_a_bad_window_is_one_error_naming_it(bad):
    with pytest.raises(ConfigurationError, match="shuffle_window must be a whole number >= 0"):
        DeepNetwork([2, 3, 1], shuffle_window=bad)


def test_ldnn_train_s_flag_reaches_the_network_and_the_run_folder(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    lines = ["a,b,c,y"] + [f"{a:.4f},{b:.4f},{c:.4f},{int(a + b > 0)}" for a, b, c in X]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    common = ["train", str(tmp_path / "t.csv"), "--runs-dir", str(tmp_path / "runs")]
    common += ["--epochs", "3", "--ensemble", "1", "--no-plots", "-q", "--threads", "1"]
    assert main([*common, "--shuffle-window", "32", "--name", "w"]) == 0
    assert "shuffle_window = 32" in (tmp_path / "runs" / "w" / "config.toml").read_text()
    net = DeepNetwork.load(tmp_path / "runs" / "w" / "model.npz")
    assert net.hyperparameters.shuffle_window == 32
    assert main([*common, "--shuffle-window", "-2", "--name", "bad"]) == 2
    assert "shuffle_window must be a whole number >= 0" in capsys.readouterr().err
