"""Continuing training exactly: a model file holds what a warm start needs, and a fit
stopped between two steps continues from where it stood with the numbers of a fit that
never stopped (bit for bit: same generator draws, same sums, same early stopping)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnn import DeepNetwork
from ldnn.data import make_spirals

OPTIMIZERS = ["gd", "momentum", "rmsprop", "adam"]


def data():
    return make_spirals(120, seed=1)


def settings_for(optimizer, dtype="float64", **more):
    return dict(
        {
            "lr_schedule": "inverse_time",
            "decay_rate": 0.3,
        },
        optimizer=optimizer,
        learning_rate=0.05 if optimizer in ("gd", "momentum") else 0.01,
        batch_size=16,
        keep_prob=0.8,
        lambd=0.05,
        dtype=dtype,
        seed=4,
        **more,
    )


def assert_same(a: DeepNetwork, b: DeepNetwork):
    for key, value in a.parameters.items():
        assert b.parameters[key].dtype == value.dtype
        assert np.array_equal(b.parameters[key], value), key


class StopAfter:
    """A stop flag raised after ``n`` steps (polls), as a signal handler would raise it."""

    def __init__(self, n: int):
        self.n, self.polls = n, 0

    def __call__(self) -> bool:
        self.polls += 1
        return self.polls >= self.n


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_save_load_and_a_warm_start_equal_one_long_fit(optimizer, dtype, tmp_path):
    X, Y = data()
    once = DeepNetwork([2, 8, 6, 1], epochs=7, **settings_for(optimizer, dtype))
    once.fit(X, Y)
    first = DeepNetwork([2, 8, 6, 1], epochs=3, **settings_for(optimizer, dtype))
    first.fit(X, Y)
    first.save(tmp_path / "m.npz")
    loaded = DeepNetwork.load(tmp_path / "m.npz")
    assert loaded.epochs_trained == 3 and loaded.optimizer.t == first.optimizer.t
    assert loaded.history.cost == first.history.cost
    history = loaded.fit(X, Y, epochs=4, warm_start=True)
    assert history.epoch == [3, 4, 5, 6] and loaded.epochs_trained == 7
    assert_same(once, loaded)


def test_the_optimizer_and_generator_state_round_trip_exactly(tmp_path):
    X, Y = data()
    net = DeepNetwork([2, 5, 1], epochs=2, **settings_for("adam", "float32"))
    net.fit(X, Y)
    net.save(tmp_path / "m.npz")
    loaded = DeepNetwork.load(tmp_path / "m.npz")
    for kind in ("v", "s"):
        assert np.array_equal(
            loaded.optimizer.state_vectors()[kind], net.optimizer.state_vectors()[kind]
        )
        assert loaded.optimizer.state[kind]["dW1"].shape == (5, 2)
    assert loaded.state.generator.bit_generator.state == net.state.generator.bit_generator.state


@settings(max_examples=25, deadline=None)
@given(
    optimizer=st.sampled_from(OPTIMIZERS),
    stop_after=st.integers(1, 40),
    early_stopping=st.booleans(),
    through_a_file=st.booleans(),
    recipes=st.booleans(),
    window=st.sampled_from([0, 5, 13]),
)
def test_a_fit_stopped_between_two_steps_continues_bit_for_bit(
    optimizer, stop_after, early_stopping, through_a_file, recipes, window, tmp_path_factory
):
    X, Y = data()
    extra = {"validation_split": 0.25, "early_stopping": 3 if early_stopping else None}
    extra["shuffle_window"] = window  # (a windowed shuffle is drawn again on resuming too)
    if recipes:  # clipping and the plateau schedule carry state across the stop too
        extra.update(
            clip_norm=0.3,
            lr_schedule="plateau",
            decay_rate=0.5,
            lr_patience=0,
            label_smoothing=0.1,
            batch_norm=True,
        )
    whole = DeepNetwork([2, 7, 1], epochs=6, **settings_for(optimizer, **extra))
    whole.fit(X, Y)
    net = DeepNetwork([2, 7, 1], epochs=6, **settings_for(optimizer, **extra))
    first = net.fit(X, Y, stop=StopAfter(stop_after))
    if first.stop_reason != "interrupted":  # finished (or stopped early) before the flag
        assert_same(whole, net)
        return
    assert net.unfinished is not None
    if through_a_file:
        path = tmp_path_factory.mktemp("ckpt") / "checkpoint.npz"
        net.save(path)
        net = DeepNetwork.load(path)
    done = net.epochs_trained
    history = net.fit(X, Y, epochs=6 - done, warm_start=True)
    assert_same(whole, net)
    assert history.cost == whole.history.cost and history.val_cost == whole.history.val_cost
    assert history.clipped == whole.history.clipped
    assert history.learning_rate == whole.history.learning_rate
    assert history.stop_reason == whole.history.stop_reason
    assert history.best_epoch == whole.history.best_epoch
    assert net.epochs_trained == whole.epochs_trained and net.unfinished is None


def test_a_checkpoint_saved_by_a_callback_continues_the_same_fit(tmp_path):
    X, Y = data()
    extra = {"validation_split": 0.25, "early_stopping": 2, "epochs": 8}
    whole = DeepNetwork([2, 7, 1], **settings_for("adam", **extra))
    whole.fit(X, Y)
    net = DeepNetwork([2, 7, 1], **settings_for("adam", **extra))
    path = tmp_path / "checkpoint.npz"

    def checkpoint(epoch, record, parameters):
        if epoch == 2:
            net.save(path)

    net.fit(X, Y, callbacks=[checkpoint])
    resumed = DeepNetwork.load(path)
    assert resumed.epochs_trained == 3 and len(resumed.history) == 3
    resumed.fit(X, Y, epochs=whole.hyperparameters.epochs - 3, warm_start=True)
    assert_same(whole, resumed)
    assert resumed.history.cost == whole.history.cost


def test_lbfgs_stops_when_asked(tmp_path):
    X, Y = data()
    net = DeepNetwork([2, 5, 1], optimizer="lbfgs", epochs=30, dtype="float64")
    history = net.fit(X, Y, stop=StopAfter(4))
    assert history.stop_reason == "interrupted" and len(history) == 4
    assert net.unfinished is None  # L-BFGS starts its memory afresh on a warm start


def test_a_model_of_format_1_warm_starts(tmp_path):
    import json

    X, Y = data()
    net = DeepNetwork([2, 4, 1], epochs=2, batch_size=16, seed=1)
    net.fit(X, Y)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as archive:  # strip it down to what format 1 held
        arrays = {k: archive[k] for k in ("W1", "b1", "W2", "b2", "__metadata__")}
    meta = json.loads(str(arrays["__metadata__"]))
    meta["format_version"] = 1
    for key in ("training", "metadata_sha256"):
        meta.pop(key)
    arrays["__metadata__"] = np.array(json.dumps(meta))
    with open(tmp_path / "old.npz", "wb") as file:
        np.savez(file, **arrays)
    old = DeepNetwork.load(tmp_path / "old.npz")
    assert old.epochs_trained == 0 and old.optimizer is None
    history = old.fit(X, Y, epochs=2, warm_start=True)  # crashed before: no generator
    assert len(history) == 2 and np.isfinite(history.cost).all()
