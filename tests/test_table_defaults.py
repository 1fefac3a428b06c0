"""The defaults for tables (issue 25): a validation part and early stopping with the best
epoch restored unless asked otherwise, on the command line, in config files, in a search's
retraining and in the estimators; the initialisers they may pick."""

import csv
import json
import tomllib

import numpy as np
import pytest

from ldnn.cli import main
from ldnn.core.initializers import initialize_parameters
from ldnn.runs import config as configuration
from ldnn.sklearn import DNNClassifier

pytest.importorskip("matplotlib")


@pytest.fixture
def table(tmp_path, monkeypatch):
    """A noisy two-class table of 300 rows that 200 epochs of 256 x 256 overfit."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + rng.normal(scale=1.5, size=300) > 0).astype(int)
    with open("noisy.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*(f"x{j}" for j in range(5)), "label"])
        writer.writerows([*(f"{v:.5f}" for v in x), t] for x, t in zip(X, y, strict=True))
    return tmp_path


def train(capsys, *flags) -> dict:
    """metrics.json and the resolved config.toml of ``ldnn train noisy.csv flags``."""
    status = main(
        ["train", "noisy.csv", "--target", "label", "--name", "r", "--overwrite", "-q", *flags]
    )
    capsys.readouterr()
    assert status == 0
    metrics = json.loads(open("runs/r/metrics.json").read())
    metrics["config"] = tomllib.loads(open("runs/r/config.toml").read())
    with open("runs/r/history.csv") as file:
        metrics["rows"] = list(csv.DictReader(file))
    return metrics


def test_a_table_gets_a_validation_part_and_stops_at_its_best_epoch(table, capsys):
    found = train(capsys, "--no-plots")
    training = found["config"]["training"]
    assert training["validation_split"] == 0.2
    assert training["early_stopping"] == configuration.AUTO_PATIENCE  # resolved from auto
    assert found["stop_reason"] == "early stopping" and found["epochs_run"] < 200
    # the parameters kept are the best epoch's: the lowest validation cost in the history
    costs = {int(r["epoch"]): float(r["val_cost"]) for r in found["rows"]}
    assert found["best_epoch"] == min(costs, key=costs.get)
    # epochs count from 0: the best one, then the patience's epochs without a better one
    assert found["epochs_run"] == found["best_epoch"] + 1 + configuration.AUTO_PATIENCE
    assert found["validation"]["epoch"] == found["best_epoch"]
    assert all(r["val_cost"] for r in found["rows"])


def test_val_split_0_trains_on_everything_for_every_epoch(table, capsys):
    found = train(capsys, "--no-plots", "--val-split", "0", "--epochs", "30")
    assert found["config"]["training"]["early_stopping"] == 0
    assert found["epochs_run"] == 30 and found["best_epoch"] is None
    assert "validation" not in found and found["train"]["m"] == 240


def test_no_early_stopping_keeps_the_validation_curve(table, capsys):
    found = train(capsys, "--no-plots", "--no-early-stopping", "--epochs", "30")
    assert found["epochs_run"] == 30 and found["best_epoch"] is None
    assert all(r["val_cost"] for r in found["rows"]) and found["validation"]["epoch"] == 29


def test_a_config_file_may_say_auto_or_a_patience(table, capsys):
    open("c.toml", "w").write('[training]\nearly_stopping = "auto"\nvalidation_split = 0.0\n')
    assert train(capsys, "--no-plots", "--config", "c.toml", "--epochs", "12")["epochs_run"] == 12
    open("c.toml", "w").write('[training]\nearly_stopping = "soon"\n')
    status = main(["train", "noisy.csv", "--target", "label", "--config", "c.toml", "-q"])
    err = capsys.readouterr().err
    assert status == 2 and "early_stopping must be a whole number of epochs" in err


def test_the_presets_train_on_the_whole_training_part(table):
    for name in configuration.PRESETS:
        training = configuration.preset(name)["training"]
        assert training["validation_split"] == 0.0 and training["early_stopping"] == 0, name
        assert training["lambd"] == 0.0, name  # as measured, not the tables' L2
        assert configuration.preset(name)["model"]["keep_prob"] != 0.8, name  # nor dropout


def test_the_estimators_stop_early_from_100_examples_on():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + rng.normal(scale=1.5, size=300) > 0).astype(int)
    clf = DNNClassifier(random_state=0).fit(X, y)
    assert clf.stop_reason_ == "early stopping" and len(clf.validation_scores_) == clf.n_iter_
    small = DNNClassifier(random_state=0, epochs=15).fit(X[:60], y[:60])
    assert small.validation_scores_ is None and small.n_iter_ == 15
    with pytest.raises(ValueError, match="early_stopping must be True, False or 'auto'"):
        DNNClassifier(early_stopping="yes").fit(X, y)


def test_uniform_draws_pytorchs_default_linear_weights():
    # nn.Linear's default: U(-1/sqrt(n[l-1]), 1/sqrt(n[l-1])), standard deviation 1/sqrt(3 n)
    W = initialize_parameters([400, 300, 1], "uniform", rng=0)["W1"]
    bound = 1 / np.sqrt(400)
    assert W.shape == (300, 400) and np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.99 * bound
    assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)
    again = initialize_parameters([400, 300, 1], "uniform", rng=0)["W1"]
    np.testing.assert_array_equal(W, again)


def test_categories_the_training_part_never_saw_are_counted_in_the_test_scores(table, capsys):
    rows = [["colour", "x", "label"]]
    rows += [[("red", "blue")[k % 2], k % 7, k % 2] for k in range(60)]
    rows += [["green", 1, 0], ["mauve", 2, 1], ["green", 3, 1]]
    with open("train.csv", "w", newline="") as file:
        csv.writer(file).writerows(rows[:61])
    with open("test.csv", "w", newline="") as file:
        csv.writer(file).writerows([rows[0], *rows[-3:], rows[1]])
    argv = ["train", "train.csv", "--test-data", "test.csv", "--target", "label"]
    assert main([*argv, "--name", "u", "--epochs", "3", "--no-plots", "-q"]) == 0
    err = capsys.readouterr().err
    assert "the test part holds categories the training part did not: colour 3" in err
    metrics = json.loads(open("runs/u/metrics.json").read())
    assert metrics["test"]["unseen_categories"] == {"colour": 3}
