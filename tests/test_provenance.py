"""Every run says what made it (provenance.json and the model's metadata), its config.toml
names the data as given and the columns it resolved, and reruns from anywhere; `ldnn
runs` puts the runs side by side; help shows every default; threads are chosen."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.base.threads import busy_cores, choose_threads
from ldnn.cli import main
from ldnn.errors import ConfigurationError

pytest.importorskip("pyarrow")
from public_tables import passengers, write_csv  # noqa: E402

QUICK = ["--epochs", "3", "-q", "--no-plots", "--threads", "1"]  # reruns match: one thread count


@pytest.fixture
def work(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data" / "titanic.csv", passengers(200))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# -- provenance ---------------------------------------------------------------------------
def test_a_run_records_code_libraries_command_data_and_split(work, capsys):
    argv = [
        "train",
        "data/titanic.csv",
        "--target",
        "Survived",
        "--name",
        "p",
        "--threads",
        "1",
        *QUICK,
    ]
    assert run(argv, capsys)[0] == 0
    record = json.loads((work / "runs" / "p" / "provenance.json").read_text())
    data = (work / "data" / "titanic.csv").read_bytes()
    assert record["data"] == {
        "source": "data/titanic.csv",
        "path": str(work / "data" / "titanic.csv"),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert record["command"] == "ldnn " + " ".join(argv)
    assert record["cwd"] == str(work) and record["threads"] == 1
    assert record["ldnn"] and record["python"] and record["libraries"]["numpy"] == np.__version__
    assert record["git"] is None or len(record["git"]["commit"]) == 40
    assert "Sex=female" in record["features"] and "PassengerId" in record["columns"]
    assert len(record["split"]["sha256"]) == 64
    network = DeepNetwork.load(work / "runs" / "p" / "model.npz")
    assert network.metadata["provenance"] == record  # the model says where it came from


def test_config_names_the_data_as_given_and_reruns_from_elsewhere(work, capsys, monkeypatch):
    assert (
        run(["train", "data/titanic.csv", "--target", "Survived", "--name", "a", *QUICK], capsys)[0]
        == 0
    )
    config = tomllib.loads((work / "runs" / "a" / "config.toml").read_text())
    assert config["data"]["source"] == "data/titanic.csv"
    assert config["data"]["target"] == "Survived"
    assert config["data"]["features"][:3] == ["PassengerId", "Pclass", "Name"]  # resolved
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # data/titanic.csv is not here: found through provenance
    again = [
        "train",
        "--config",
        work / "runs" / "a" / "config.toml",
        "--name",
        "b",
        "--runs-dir",
        work / "runs",
        *QUICK,
    ]
    assert run(again, capsys)[0] == 0
    first = DeepNetwork.load(work / "runs" / "a" / "model.npz").parameters
    second = DeepNetwork.load(work / "runs" / "b" / "model.npz").parameters
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_evaluating_the_test_part_of_a_changed_file_warns(work, capsys):
    assert (
        run(["train", "data/titanic.csv", "--target", "Survived", "--name", "c", *QUICK], capsys)[0]
        == 0
    )
    status, _, err = run(["evaluate", "runs/c"], capsys)
    assert status == 0 and "warning" not in err
    path = work / "data" / "titanic.csv"
    path.write_text(path.read_text().replace("male,", "male ,", 1))  # one cell touched
    status, _, err = run(["evaluate", "runs/c"], capsys)
    assert status == 0
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        f"ldnn evaluate: warning: {path} has changed since the model was trained on it (its "
        "SHA-256 differs): its test part is not the rows the model was tested with"
    ]
    status, _, err = run(["evaluate", "runs/c", "data/titanic.csv"], capsys)
    assert status == 0 and "warning" not in err  # all rows: nothing depends on the split
    # (what stderr does say: the missing values the model filled, counted per column)
    assert err.startswith("data/titanic.csv: ") and "missing values" in err


# -- ldnn runs --------------------------------------------------------------------------------
def test_runs_side_by_side_sorted_and_one_in_full(work, capsys):
    for name, epochs in (("one", "2"), ("two", "6"), ("three", "4")):
        argv = [
            "train",
            "data/titanic.csv",
            "--target",
            "Survived",
            "--name",
            name,
            "--val-split",
            "0.2",
            "-q",
            "--no-plots",
            "--epochs",
            epochs,
        ]
        assert run(argv, capsys)[0] == 0
    (work / "runs" / "not-a-run").mkdir()
    status, out, _ = run(["runs"], capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "name",
        "status",
        "data",
        "layer_dims",
        "optimizer",
        "epochs",
        "stop",
        "val",
        "test",
        "seconds",
        "date",
    ]
    assert [line.split()[0] for line in lines[2:]] == ["one", "two", "three"]  # by date
    status, out, _ = run(["runs", "--sort", "epochs", "--desc", "--json"], capsys)
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["two", "three", "one"]
    # the model: the default ensemble of 5 networks of 256-256 as one network
    assert rows[0]["layer_dims"] == [11, 1280, 1280, 1] and rows[0]["data"] == "titanic.csv"
    metrics = json.loads((work / "runs" / "two" / "metrics.json").read_text())
    assert rows[0]["test"] == metrics["test"]["accuracy"]
    assert rows[0]["val"] == metrics["validation"]["accuracy"]
    status, out, _ = run(["runs", "show", "two", "--json"], capsys)
    details = json.loads(out)
    assert details["provenance"]["data"]["source"] == "data/titanic.csv"
    assert "model.npz" in details["files"]
    status, _, err = run(["runs", "show", "nope"], capsys)
    assert status == 2 and "no run 'nope'" in err and "one, three, two" in err
    status, _, err = run(["runs", "--sort", "colour"], capsys)
    assert status == 2 and "--sort must be one of" in err


# -- help and flags ---------------------------------------------------------------------------
def test_every_argument_has_help_and_every_default_is_shown():
    from ldnn.cli.parser import build_parser

    parser = build_parser()
    for name, command in parser.subcommands.items():
        for action in command._actions:
            assert action.help, f"ldnn {name}: {action.dest} has no help"
            if action.option_strings and action.nargs != 0 and action.default is not None:
                assert "default" in action.help, f"ldnn {name} {action.option_strings[0]}"
    text = parser.subcommands["train"].format_help()
    for shown in ("(default: 256,256)", "(default: adam)", "(default: 128)", "(default: auto)"):
        assert shown in text


def test_an_unknown_flag_points_to_the_subcommands_help(capsys):
    assert main(["predict", "m.npz", "d.csv", "--colour", "red"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "ldnn predict: error: unrecognized arguments: --colour red (see `ldnn predict --help`)"
    )


# -- threads ------------------------------------------------------------------------------------
def test_threads_are_chosen(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert choose_threads("auto") == 1 and choose_threads("2") == 2
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert busy_cores() >= 0
    monkeypatch.setattr("ldnn.base.threads.available_cores", lambda: 2)
    monkeypatch.setattr("ldnn.base.threads.busy_cores", lambda: 1)  # a neighbour on one core
    assert choose_threads(None) == 1
    monkeypatch.setattr("ldnn.base.threads.busy_cores", lambda: 0)
    assert choose_threads(None) == 2
    monkeypatch.setattr("ldnn.base.threads.busy_cores", lambda: 5)
    assert choose_threads("auto") == 1
    for bad in ("0", "two", "1.5", -1):
        with pytest.raises(ConfigurationError, match="--threads must be a whole number"):
            choose_threads(bad)


def test_the_demo_and_docs_name_the_files(work):
    root = Path(__file__).resolve().parents[1]
    cli_doc = (root / "docs" / "cli.md").read_text()
    for picture in ("learning_curve.png", "weights.png", "importance.png"):
        assert (root / "docs" / "cli" / picture).is_file() and f"cli/{picture}" in cli_doc
    for name in ("provenance.json", "ldnn runs", "--mlflow", "--tensorboard", "--threads"):
        assert name in cli_doc
