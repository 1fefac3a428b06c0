"""MLflow and TensorBoard get what a run recorded, read back through each tool's own
reader (MlflowClient, TensorBoard's EventAccumulator), offline."""

from __future__ import annotations

import csv
import json

import pytest

from ldnn.cli import main

QUICK = ["--epochs", "4", "--val-split", "0.25", "-q", "--no-plots", "--threads", "1"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def history(folder):
    return list(csv.DictReader(open(folder / "history.csv")))


def test_mlflow_gets_parameters_metrics_per_epoch_tags_and_artifacts(work, capsys):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{work / 'mlflow.db'}"
    argv = [
        "train",
        "iris",
        "--name",
        "m",
        "--mlflow",
        uri,
        "--mlflow-experiment",
        "flowers",
        *QUICK,
    ]
    assert main(argv) == 0, capsys.readouterr().err
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("flowers")
    (found,) = client.search_runs([experiment.experiment_id])
    run_id = found.info.run_id
    assert found.info.status == "FINISHED" and found.info.run_name == "m"
    assert found.data.params["training.optimizer"] == "adam"
    assert found.data.params["model.layers"] == "[32, 16]"
    provenance = json.loads((work / "runs" / "m" / "provenance.json").read_text())
    assert found.data.tags["ldnn.data_sha256"] == provenance["data"]["sha256"]
    rows = history(work / "runs" / "m")
    costs = client.get_metric_history(run_id, "train_cost")
    assert [m.step for m in costs] == [0, 1, 2, 3]
    assert [m.value for m in costs] == pytest.approx([float(r["cost"]) for r in rows])
    assert len(client.get_metric_history(run_id, "val_accuracy")) == 4
    metrics = json.loads((work / "runs" / "m" / "metrics.json").read_text())
    assert found.data.metrics["test.accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"model.npz", "config.toml", "provenance.json", "metrics.json"} <= artifacts


def test_a_bad_mlflow_uri_is_one_line(work, capsys):
    pytest.importorskip("mlflow")
    assert main(["train", "iris", "--name", "x", "--mlflow", "nosuch://where", *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ldnn train: error: --mlflow nosuch://where:") and err.count("\n") == 1


def test_tensorboard_gets_scalars_per_epoch_and_the_hyperparameters(work, capsys):
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    from tensorboard.plugins.hparams import plugin_data_pb2

    assert main(["train", "iris", "--name", "t", "--tensorboard", *QUICK]) == 0
    logdir = work / "runs" / "t" / "tensorboard"
    events = accumulator.EventAccumulator(str(logdir))
    events.Reload()
    rows = history(work / "runs" / "t")
    scalars = events.Scalars("cost/train")
    assert [s.step for s in scalars] == [0, 1, 2, 3]
    assert [s.value for s in scalars] == pytest.approx([float(r["cost"]) for r in rows], rel=1e-6)
    assert {"accuracy/validation", "cost/validation", "learning_rate"} <= set(
        events.Tags()["scalars"]
    )
    hparams = accumulator.EventAccumulator(str(logdir / "hparams"))
    hparams.Reload()
    start = hparams.SummaryMetadata("_hparams_/session_start_info")
    info = plugin_data_pb2.HParamsPluginData.FromString(start.plugin_data.content)
    values = info.session_start_info.hparams
    assert values["training.optimizer"].string_value == "adam"
    assert values["training.learning_rate"].number_value == pytest.approx(0.01)
    metrics = json.loads((work / "runs" / "t" / "metrics.json").read_text())
    (final,) = hparams.Scalars("hparam/test.accuracy")
    assert final.value == pytest.approx(metrics["test"]["accuracy"], rel=1e-6)
