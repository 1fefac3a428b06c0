"""MLflow and TensorBoard get what a run recorded, read back through each tool's own
reader (MlflowClient, TensorBoard's EventAccumulator), offline."""

from __future__ import annotations

import csv
import json
import socket
import time
from pathlib import Path

import pytest

from ldnn.cli import main
from ldnn.errors import ConfigurationError
from ldnn.runs.tracking import CONNECT_SECONDS, check_tracking_uri

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
    assert found.data.params["model.layers"] == "[256, 256]"
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
    assert values["training.learning_rate"].number_value == pytest.approx(0.001)
    metrics = json.loads((work / "runs" / "t" / "metrics.json").read_text())
    (final,) = hparams.Scalars("hparam/test.accuracy")
    assert final.value == pytest.approx(metrics["test"]["accuracy"], rel=1e-6)


# -- the URI, checked before MLflow is asked (MLflow retries for minutes) ----------------
def closed_port() -> int:
    """A port of this machine nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    "uri, expected",
    [
        ("sqlite:////proc/x.db", "cannot write the database /proc/x.db in /proc ("),
        ("sqlite:////proc/no/such/x.db", "the folder /proc/no/such of the database does not exist"),
        ("file:///proc/mlruns", "cannot write the store /proc/mlruns in /proc ("),
        ("http://127.0.0.1:{port}", "cannot connect to 127.0.0.1:{port} within 3 s ("),
    ],
)
def test_a_tracking_uri_mlflow_cannot_use_is_one_line_in_seconds(work, capsys, uri, expected):
    port = closed_port()
    uri, expected = uri.format(port=port), expected.format(port=port)
    start = time.monotonic()
    assert main(["train", "iris", "--name", "x", "--mlflow", uri, *QUICK]) == 2
    seconds = time.monotonic() - start
    err = capsys.readouterr().err
    assert err.startswith(f"ldnn train: error: --mlflow {uri}: {expected}"), err
    assert err.count("\n") == 1 and seconds < 10  # it took 109 s in MLflow's retries
    assert not (work / "runs" / "x").exists()


def test_tracking_uris_ldnn_can_use_pass_the_check(tmp_path):
    for uri in (
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        f"file://{tmp_path / 'not' / 'yet' / 'mlruns'}",  # MLflow makes the folders
        str(tmp_path / "mlruns"),
        "sqlite://",  # in memory
        "databricks",
        "nosuch://where",  # left to MLflow, which names it
    ):
        check_tracking_uri(uri)
    database = tmp_path / "kept.db"
    database.write_bytes(b"not touched")
    check_tracking_uri(f"sqlite:///{database}")
    assert database.read_bytes() == b"not touched"


def test_a_tracking_server_that_does_not_answer_is_given_seconds(monkeypatch):
    waited = []

    def silent(address, timeout):
        waited.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)
    with pytest.raises(
        ConfigurationError,
        match=r"^--mlflow https://mlflow.example:8443: "
        r"cannot connect to mlflow.example:8443 within 3 s \(no answer\)$",
    ):
        check_tracking_uri("https://mlflow.example:8443")
    with pytest.raises(ConfigurationError, match="cannot connect to db:5432"):
        check_tracking_uri("postgresql+psycopg2://user:secret@db/mlflow")
    assert waited == [CONNECT_SECONDS, CONNECT_SECONDS] and CONNECT_SECONDS <= 5


def test_an_ensemble_s_members_follow_one_another_in_the_metrics(work, capsys):
    """Each member's epochs count from 0; the trackers' steps go on from the last member's
    (Steps), so MLflow's curve is the members' one after another, never two values at
    one step."""
    from ldnn.runs.tracking import Steps

    steps = Steps()
    assert [steps(e) for e in (0, 1, 2, 0, 1, 0)] == [0, 1, 2, 3, 4, 5]
    resumed = Steps()
    assert [resumed(e) for e in (7, 8, 0)] == [7, 8, 9]  # a resumed run's first epoch
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{work / 'mlflow.db'}"
    argv = ["train", "iris", "--name", "e", "--mlflow", uri, "--ensemble", "2", *QUICK]
    assert main([*argv, "--no-early-stopping"]) == 0, capsys.readouterr().err
    client = MlflowClient(tracking_uri=uri)
    (found,) = client.search_runs([client.get_experiment_by_name("ldnn").experiment_id])
    costs = client.get_metric_history(found.info.run_id, "train_cost")
    assert [m.step for m in costs] == list(range(8))  # 2 members x 4 epochs
