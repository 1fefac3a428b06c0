"""ldnn.runs.run: the `ldnn train` job as a library, from a configuration to a run
folder, and the test cost it records for the learning curve."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from ldnn.runs import config as configuration  # noqa: E402
from ldnn.runs.folders import RunFolder  # noqa: E402
from ldnn.runs.run import TrainingRun  # noqa: E402


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "c", "y"])
        for x in X:
            writer.writerow([*(f"{v:.5f}" for v in x), int(x[0] + x[1] ** 2 > 0.5)])
    return path


def config_for(path, **training):
    model = {"layers": [5], "keep_prob": 1.0}  # L-BFGS below takes no dropout
    changes = {"data": {"source": str(path)}, "model": model, "training": training}
    return configuration.merge(configuration.DEFAULTS, changes, "test")


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
def test_the_test_cost_follows_the_parameters_being_trained(table, optimizer):
    settings = {"optimizer": optimizer, "epochs": 6, "batch_size": 0, "learning_rate": 0.5}
    run = TrainingRun(config_for(table, **settings, ensemble=1))  # one network's curve
    history = run.fit()
    assert len(run.test_costs) == len(history) == 6
    assert len(set(run.test_costs)) == 6  # a new value every epoch (L-BFGS included)
    final = run.network.evaluate(run.dataset.X_test, run.dataset.Y_test)["cost"]
    assert run.test_costs[-1] == pytest.approx(final, rel=1e-6)


def test_a_run_writes_its_folder_and_reruns_from_its_config(table, tmp_path):
    run = TrainingRun(config_for(table, epochs=4, seed=3))
    with RunFolder.create(tmp_path / "runs" / "first") as folder:
        run.start(folder)
        run.fit()
        metrics = run.write(folder, pictures=False)
    path = tmp_path / "runs" / "first"
    assert sorted(p.name for p in path.iterdir()) == [
        ".ldnn-run",
        "columns.csv",
        "config.toml",
        "history.csv",
        "metrics.json",
        "model.npz",
        "provenance.json",
    ]
    assert metrics["epochs_run"] == 4 and metrics["pictures"] == []
    again = TrainingRun(configuration.from_file(path / "config.toml"))
    again.fit()
    for key, value in run.network.parameters.items():
        assert np.array_equal(again.network.parameters[key], value), key
