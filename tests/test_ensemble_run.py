"""A run that trains an ensemble (``[training] ensemble``, ``--ensemble K``): K members
drawn from seed, seed + 1, ..., trained one after another, averaged into one network
(model.npz, ldnn predict and ONNX unchanged); "auto" is K = 5 on a small table and 1 on
arrays; member 0 is the one-network run bit for bit; a run stopped in a later member
resumes to the uninterrupted model, through its folder's member files.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.core.propagation import forward
from ldnn.errors import ConfigurationError
from ldnn.runs import config as configuration
from ldnn.runs.folders import CHECKPOINT, RunFolder
from ldnn.runs.members import member_file
from ldnn.runs.run import TrainingRun

EPOCHS = 12


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A small table: two numbers, a text column, a binary target."""
    folder = tmp_path_factory.mktemp("ensemble")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 2))
    towns = rng.choice(["north", "south", "east"], 240)
    y = ((x[:, 0] + x[:, 1] * (towns == "north")) > 0).astype(int)
    with open(folder / "t.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "town", "y"])
        writer.writerows(zip(x[:, 0].round(4), x[:, 1].round(4), towns, y, strict=True))
    return folder / "t.csv"


def config_for(source, **training):
    changes = {
        "data": {"source": str(source), "target": "y"},
        "model": {"layers": [6, 5], "dtype": "float64"},
        "training": {"epochs": EPOCHS, "batch_size": 32, "learning_rate": 0.01, **training},
    }
    return configuration.merge(configuration.DEFAULTS, changes, "test")


def logits(network: DeepNetwork, X) -> np.ndarray:
    hp = network.hyperparameters
    return forward(X, network.parameters, hp.activations)[1][-1].Z


def test_auto_is_five_members_on_a_small_table_averaged_into_one_network(table):
    run = TrainingRun(config_for(table))
    assert run.ensemble == 5 and run.config["training"]["ensemble"] == 5
    history = run.fit()
    assert len(run.members) == 5 and history is run.members[-1].history
    seed = run.config["training"]["seed"]
    assert [m.hyperparameters.seed for m in run.members] == [seed + k for k in range(5)]
    n0 = run.dataset.X_train.shape[0]
    assert list(run.network.layer_dims) == [n0, 30, 25, 1]
    # The model's Z[L] is the members' mean; its A[L], sigmoid of it.
    X = run.dataset.X_test
    mean = np.mean([logits(m, X) for m in run.members], axis=0)
    np.testing.assert_allclose(logits(run.network, X), mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run.network.predict_proba(X), 1 / (1 + np.exp(-mean)), atol=1e-12)
    # Each member had its own validation part, initialisation and shuffles.
    assert len({float(m.parameters["W1"][0, 0]) for m in run.members}) == 5
    merged = run.network
    assert run.fit() is history and run.network is merged  # done: nothing more to train
    metrics = run.scores()
    assert metrics["ensemble"]["members"] == 5
    assert metrics["ensemble"]["epochs_run"] == [len(m.history) for m in run.members]


def test_member_0_is_the_one_network_run_and_arrays_train_one(table, tmp_path):
    one = TrainingRun(config_for(table, ensemble=1))
    one.fit()
    three = TrainingRun(config_for(table, ensemble=3))
    three.fit()
    for key, value in one.network.parameters.items():
        assert np.array_equal(three.members[0].parameters[key], value), key
    assert one.members == [] and one.ensemble == 1
    X = np.random.default_rng(1).normal(size=(60, 2))
    np.savez(tmp_path / "a.npz", X=X, y=(X[:, 0] > 0).astype(int))
    arrays = configuration.merge(
        configuration.DEFAULTS, {"data": {"source": str(tmp_path / "a.npz")}}, "test"
    )
    assert TrainingRun(arrays).ensemble == 1  # "auto": tables only


def test_a_bad_size_and_an_embedded_network_are_refused(table):
    with pytest.raises(ConfigurationError, match=r"\[training\] ensemble must be"):
        config_for(table, ensemble=0)
    embedded = config_for(table, ensemble=2)
    embedded["model"]["embedding_width"] = 1  # the town column: 3 categories > 1
    with pytest.raises(ConfigurationError, match="ensemble = 2: a network that embeds"):
        TrainingRun(embedded)
    embedded["training"]["ensemble"] = "auto"
    assert TrainingRun(embedded).ensemble == 1


class StopInMember:
    """A stop flag raised ``steps`` steps into member ``k`` (counted from 1)."""

    def __init__(self, run, k: int, steps: int):
        self.run, self.k, self.steps, self.polls = run, k, steps, 0

    def __call__(self) -> bool:
        if len(self.run.members) == self.k - 1:
            self.polls += 1
        return self.polls >= self.steps


@pytest.mark.parametrize("k, steps", [(1, 5), (2, 7), (3, 1)])
def test_a_run_stopped_in_a_member_resumes_to_the_uninterrupted_model(table, tmp_path, k, steps):
    whole = TrainingRun(config_for(table, ensemble=3))
    whole.fit()
    run = TrainingRun(config_for(table, ensemble=3))
    with RunFolder.create(tmp_path / "r") as folder:
        run.start(folder)
        run.fit(stop=StopInMember(run, k, steps))
        assert run.interrupted and len(run.members) == k - 1
        metrics = run.write(folder, pictures=False)
    assert metrics["interrupted_at"]["member"] == k
    assert (tmp_path / "r" / CHECKPOINT).exists()
    assert [member_file(tmp_path / "r", j).exists() for j in (1, 2)] == [k > 1, k > 2]
    resumed = TrainingRun.resume(tmp_path / "r")
    assert len(resumed.members) == k - 1
    with RunFolder.resume(tmp_path / "r") as folder:
        resumed.fit()
        resumed.write(folder, pictures=False)
    model = DeepNetwork.load(tmp_path / "r" / "model.npz")
    for key, value in whole.network.parameters.items():
        assert np.array_equal(model.parameters[key], value), key
    assert not any(member_file(tmp_path / "r", j).exists() for j in (1, 2, 3))
    assert not (tmp_path / "r" / CHECKPOINT).exists()
    saved = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert saved["ensemble"]["epochs_run"] == [len(m.history) for m in whole.members]


def test_a_checkpoint_of_a_finished_member_is_passed_over(table, tmp_path):
    """Killed after member 1's file was written but before the checkpoint that follows
    it: the checkpoint still holds member 1 under way; resume starts member 2 afresh."""
    whole = TrainingRun(config_for(table, ensemble=2))
    whole.fit()
    run = TrainingRun(config_for(table, ensemble=2))
    with RunFolder.create(tmp_path / "r") as folder:
        run.start(folder)
        run.fit(stop=StopInMember(run, 1, 3))
        run.save_checkpoint(tmp_path / "r" / CHECKPOINT)  # member 1, 3 steps in
        run.fit()  # member 1 to its end, then member 2 ...
    run.members[0].save(member_file(tmp_path / "r", 1))  # ... its file, then the kill
    resumed = TrainingRun.resume(tmp_path / "r")
    assert len(resumed.members) == 1 and resumed.network.epochs_trained == 0
    resumed.fit()
    for key, value in whole.network.parameters.items():
        assert np.array_equal(resumed.network.parameters[key], value), key


def test_the_command_line_says_it_and_writes_one_model(table, tmp_path, monkeypatch, capsys):
    from ldnn.cli import main

    monkeypatch.chdir(tmp_path)
    argv = ["train", str(table), "--target", "y", "--epochs", "8", "--no-plots"]
    assert main([*argv, "--ensemble", "2", "--threads", "1", "--name", "e"]) == 0
    out = capsys.readouterr().out
    assert "an ensemble of 2 (seeds 0..1, --ensemble), Z[L] averaged" in out
    assert "trained 2 networks (" in out
    folder = tmp_path / "runs" / "e"
    assert sorted(p.name for p in folder.glob("*.npz")) == ["model.npz"]
    assert main([*argv, "--ensemble", "none"]) == 2
    err = capsys.readouterr().err
    assert "--ensemble" in err and "got 'none'" in err
