"""The ``ldnn`` tool end to end: every command and file format, on tiny data.

Most tests call ``main(argv)`` in-process (fast); a few run the real console script in
a subprocess to check exit statuses and that no traceback reaches the user.
"""

import csv
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.image import imread  # noqa: E402

from ldnn.cli import main  # noqa: E402

QUICK = ["--epochs", "5", "--layers", "6", "-q"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A temporary working folder with tiny data files in every format."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    species = np.array(["setosa", "versicolor", "virginica"])[
        (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    ]
    with open("flowers.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["petal", "sepal", "species", "price"])
        for x, s in zip(X, species, strict=True):
            writer.writerow([f"{x[0]:.4f}", f"{x[1]:.4f}", s, f"{100 + 30 * x[0]:.3f}"])
    with open("new.csv", "w", newline="") as file:  # no target column, other order
        writer = csv.writer(file)
        writer.writerow(["sepal", "petal"])
        writer.writerows([[0.1, 2.0], [-1.0, -2.0], [1.5, 0.3]])
    np.savez("binary.npz", X=X, y=(X[:, 0] > 0).astype(int))
    np.save("X.npy", X)
    np.save("y.npy", (X[:, 1] > 0).astype(int))
    return tmp_path


def run(argv, capsys):
    """(exit status, stdout, stderr) of ``ldnn argv`` in-process."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def check_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    image = imread(path)
    assert image.shape[:2] == (480, 640), path
    assert image[..., :3].std() > 0.01, f"{path} is blank"


def fails(argv, capsys, *fragments):
    """Assert ``ldnn argv`` exits 2 with one line on stderr holding every fragment."""
    status, out, err = run(argv, capsys)
    assert status == 2, (out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- help and listing ----------------------------------------------------------------


def test_help_everywhere(capsys):
    assert run(["--help"], capsys)[0] == 0
    for command in ("train", "evaluate", "predict", "summary", "gradcheck", "datasets"):
        status, out, _ = run([command, "--help"], capsys)
        assert status == 0 and "usage: ldnn " + command in out
    status, out, err = run([], capsys)
    assert status == 2 and "train" in out


def test_datasets_lists_every_built_in(capsys):
    status, out, _ = run(["datasets"], capsys)
    assert status == 0
    for name in ("planar", "spirals", "xor", "parity", "digits", "breast_cancer", "iris"):
        assert name in out
    assert "mnist1d" in out and "faces" in out and "ldnn[data]" in out


# -- train: the run folder -----------------------------------------------------------------


def test_train_on_csv_writes_a_complete_run_folder(work, capsys):
    status, out, err = run(
        [
            "train",
            "flowers.csv",
            "--target",
            "species",
            "--features",
            "petal,sepal",
            "--name",
            "r1",
            "--epochs",
            "30",
        ],
        capsys,
    )
    assert status == 0, err
    folder = work / "runs" / "r1"
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "model.npz",
        "config.toml",
        "history.csv",
        "metrics.json",
        ".ldnn-run",
        "learning_curve.png",
        "confusion_matrix.png",
        "decision_boundary.png",
        "columns.csv",
        "provenance.json",
    }
    assert json.loads((folder / ".ldnn-run").read_text())["status"] == "complete"
    for picture in ("learning_curve", "confusion_matrix", "decision_boundary"):
        check_png(folder / f"{picture}.png")
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["train"]["m"] == 32 and metrics["test"]["m"] == 8
    assert metrics["train"]["classes"] == ["setosa", "versicolor", "virginica"]
    assert set(metrics["test"]["per_class"]["setosa"]) == {"precision", "recall", "f1", "support"}
    rows = list(csv.DictReader(open(folder / "history.csv")))
    assert len(rows) == 30 and float(rows[-1]["cost"]) < float(rows[0]["cost"])
    config = tomllib.loads((folder / "config.toml").read_text())
    assert config["model"]["output"] == "softmax" and config["model"]["init"] == "he"
    assert config["data"]["source"] == "flowers.csv"  # as given; provenance.json says where
    assert "run folder: runs/r1" in out and "test:" in out
    assert "training on flowers.csv" in err  # the progress bar, on stderr
    assert not [p for p in (work / "runs").iterdir() if p.name.startswith(".")]


def test_config_rerun_reproduces_the_history_exactly(work, capsys):
    # (the same thread count: what a rerun must match, with the seed and the data)
    args = [
        "train",
        "binary.npz",
        "--layers",
        "5,3",
        "--epochs",
        "8",
        "--batch-size",
        "7",
        "--keep-prob",
        "0.8",
        "--val-split",
        "0.2",
        "-q",
        "--no-plots",
        "--threads",
        "1",
    ]
    assert run([*args, "--name", "a"], capsys)[0] == 0
    again = ["train", "--config", "runs/a/config.toml", "--name", "b", "-q", "--threads", "1"]
    assert run(again, capsys)[0] == 0
    history = (work / "runs/a/history.csv").read_text()
    assert (work / "runs/b/history.csv").read_text() == history
    assert "val_cost" in history and ",," not in history.splitlines()[1]
    # flags override the config file
    status, _, _ = run(
        [
            "train",
            "--config",
            "runs/a/config.toml",
            "--epochs",
            "3",
            "--layers",
            "4",
            "--name",
            "c",
            "-q",
        ],
        capsys,
    )
    assert status == 0
    config = tomllib.loads((work / "runs/c/config.toml").read_text())
    assert config["training"]["epochs"] == 3 and config["model"]["layers"] == [4]
    assert len((work / "runs/c/history.csv").read_text().splitlines()) == 4


def test_progress_lines_presets_and_early_stopping(work, capsys):
    status, out, _ = run(
        [
            "train",
            "binary.npz",
            "--preset",
            "course-2layer",
            "--epochs",
            "5",
            "--print-every",
            "2",
            "--name",
            "p",
            "-q",
        ],
        capsys,
    )
    assert status == 0
    assert "Cost after iteration 0:" in out and "Cost after iteration 4:" in out
    config = tomllib.loads((work / "runs/p/config.toml").read_text())
    assert config["model"]["layers"] == [7] and config["model"]["init"] == "course"
    assert config["training"]["learning_rate"] == 0.0075 and config["training"]["batch_size"] == 0
    assert config["training"]["optimizer"] == "gd" and config["data"]["standardize"] is False
    status, _, _ = run(
        [
            "train",
            "binary.npz",
            "--val-split",
            "0.25",
            "--early-stopping",
            "2",
            "--epochs",
            "300",
            "--lr",
            "0.1",
            "--name",
            "e",
            "-q",
        ],
        capsys,
    )
    assert status == 0
    metrics = json.loads((work / "runs/e/metrics.json").read_text())
    assert metrics["stop_reason"] in ("early stopping", "completed")


def test_built_in_sets_and_image_weights(work, capsys):
    status, out, _ = run(
        ["train", "faces", "--epochs", "2", "--layers", "8", "--name", "f", "-q"], capsys
    )
    assert status == 0
    check_png(work / "runs/f/weights.png")
    assert run(["train", "parity:3", *QUICK, "--name", "par"], capsys)[0] == 0
    status, out, _ = run(["evaluate", "runs/f/model.npz", "faces"], capsys)
    assert status == 0 and "non-face" in out


# -- evaluate and predict ------------------------------------------------------------------


@pytest.fixture
def flowers_model(work, capsys):
    argv = [
        "train",
        "flowers.csv",
        "--target",
        "species",
        "--features",
        "petal,sepal",
        *QUICK,
        "--ensemble",
        "1",
        "--name",
        "m",
        "--no-plots",
    ]
    assert run(argv, capsys)[0] == 0
    return "runs/m/model.npz"


def test_evaluate_prints_a_table_and_json(flowers_model, capsys):
    status, out, _ = run(["evaluate", flowers_model, "flowers.csv"], capsys)
    assert status == 0
    assert "accuracy" in out and "virginica" in out and "confusion matrix" in out
    status, out, _ = run(["evaluate", flowers_model, "flowers.csv", "--json"], capsys)
    scores = json.loads(out)
    assert scores["m"] == 40 and sum(map(sum, scores["confusion_matrix"])) == 40


def test_predict_writes_one_row_per_example(flowers_model, work, capsys):
    status, out, _ = run(["predict", flowers_model, "new.csv", "-o", "out.csv"], capsys)
    assert status == 0 and "wrote 3 predictions" in out
    rows = list(csv.DictReader(open("out.csv")))
    assert len(rows) == 3
    assert set(rows[0]) == {"prediction", "p_setosa", "p_versicolor", "p_virginica"}
    for row in rows:
        p = [float(row[f"p_{c}"]) for c in ("setosa", "versicolor", "virginica")]
        assert abs(sum(p) - 1) < 1e-4
        assert row["prediction"] in ("setosa", "versicolor", "virginica")
    status, out, _ = run(["predict", flowers_model, "flowers.csv"], capsys)  # to stdout
    assert status == 0 and len(out.splitlines()) == 41


def test_regression_reports_in_the_data_units(work, capsys):
    argv = [
        "train",
        "flowers.csv",
        "--target",
        "price",
        "--features",
        "petal,sepal",
        "--epochs",
        "150",
        "--layers",
        "8",
        "--lr",
        "0.01",
        "--keep-prob",
        "1",
        "--val-split",
        "0",
        "-q",
        "--name",
        "reg",
    ]
    assert run(argv, capsys)[0] == 0
    assert not (work / "runs/reg/confusion_matrix.png").exists()
    status, out, _ = run(["evaluate", "runs/reg/model.npz", "flowers.csv", "--json"], capsys)
    scores = json.loads(out)
    assert status == 0 and scores["r2"] > 0.8
    status, out, _ = run(["predict", "runs/reg/model.npz", "new.csv"], capsys)
    values = [float(v) for v in out.splitlines()[1:]]
    assert 150 < values[0] < 190  # 100 + 30 * 2.0, in dollars, not standardised units


def test_npz_npy_and_h5_files(work, capsys):
    assert run(["train", "binary.npz", *QUICK, "--name", "z"], capsys)[0] == 0
    status, out, _ = run(["evaluate", "runs/z/model.npz", "binary.npz"], capsys)
    assert status == 0 and "m = 40" in out
    assert run(["train", "X.npy", "--labels", "y.npy", *QUICK, "--name", "y"], capsys)[0] == 0
    status, out, _ = run(["predict", "runs/y/model.npz", "X.npy"], capsys)
    assert status == 0 and len(out.splitlines()) == 41
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("ldnn.data.h5")
    images = np.random.default_rng(0).integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    with h5py.File("cats.h5", "w") as file:
        file["train_set_x"] = images
        file["train_set_y"] = np.arange(20) % 2
        file["list_classes"] = np.array([b"non-cat", b"cat"])
    assert run(["train", "cats.h5", *QUICK, "--name", "h"], capsys)[0] == 0
    check_png(work / "runs/h/weights.png")
    status, out, _ = run(["evaluate", "runs/h/model.npz", "cats.h5"], capsys)
    assert status == 0 and "non-cat" in out


# -- summary and gradcheck -----------------------------------------------------------------


def test_summary_of_a_model_and_of_layers(flowers_model, capsys):
    status, out, _ = run(["summary", flowers_model, "--m", "10"], capsys)
    assert status == 0 and "(6, 2)" in out and "(3, 10)" in out and "FLOPs" in out
    status, out, _ = run(["summary", "--layers", "12288,20,7,5,1"], capsys)
    assert status == 0 and "245,973" in out and "(20, 12288)" in out


def test_gradcheck_a_model_and_a_config(flowers_model, capsys):
    status, out, _ = run(["gradcheck", flowers_model, "flowers.csv"], capsys)
    assert status == 0 and "gradient check passed" in out
    status, out, _ = run(["gradcheck", "runs/m/config.toml", "flowers.csv"], capsys)
    assert status == 0 and "passed" in out


# -- bad input: exit 2, one line, naming the culprit -------------------------------------------


def test_bad_data_files(work, capsys):
    Path("stray.csv").write_text(
        "a,b,y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(20)) + "1,oops,0\n"
    )
    Path("no_target.csv").write_text("a,b,y\n1,2,0\n2,3,\n3,4,1\n")
    fails(["train", "missing.csv"], capsys, "missing.csv", "does not exist")
    fails(["train", "flowers.csv", "--target", "colour"], capsys, "flowers.csv", "'colour'")
    fails(["train", "stray.csv"], capsys, "stray.csv", "data row 21", "'b'", "--na-values 'oops'")
    fails(["train", "no_target.csv"], capsys, "no_target.csv", "target column 'y'", "data row 2")
    fails(["train", "imagenet"], capsys, "'imagenet'", "ldnn datasets")
    fails(["train", "flowers.csv", "--features", "petal,height"], capsys, "'height'")


def test_bad_flags_and_configs(work, capsys):
    fails(["train", "binary.npz", "--lr", "fast"], capsys, "--lr", "'fast'")
    fails(["train", "binary.npz", "--layers", "4,x"], capsys, "--layers")
    fails(["train", "binary.npz", "--lr", "-1", "-q"], capsys, "learning_rate", "(flag --lr)")
    fails(["train", "binary.npz", "--init", "zeros", "-q"], capsys, "unknown init", "(flag --init)")
    fails(
        ["train", "binary.npz", "--optimizer", "adam", "--nesterov", "-q"],
        capsys,
        "(flag --nesterov)",
    )
    fails(
        ["train", "binary.npz", "--val-split", "0", "--early-stopping", "3", "-q"],
        capsys,
        "--val-split",
    )
    fails(["train", "binary.npz", "--early-stopping", "-2", "-q"], capsys, "whole epochs")
    fails(["train", "binary.npz", "--task", "regression", "--preset", "x"], capsys, "--preset")
    fails(["train", "binary.npz", "--activation", "relu6", "-q"], capsys, "relu6")
    Path("bad.toml").write_text("[training]\nlearnin_rate = 0.1\n")
    fails(["train", "binary.npz", "--config", "bad.toml"], capsys, "bad.toml", "learnin_rate")
    Path("broken.toml").write_text("[training\n")
    fails(["train", "binary.npz", "--config", "broken.toml"], capsys, "broken.toml", "TOML")
    fails(["train", "--config", "none.toml"], capsys, "none.toml", "does not exist")
    fails(["train", "-q", "--epochs", "2"], capsys, "no DATA")
    assert run(["train", "binary.npz", *QUICK, "--name", "x", "--no-plots"], capsys)[0] == 0
    fails(["train", "binary.npz", *QUICK, "--name", "x"], capsys, "runs/x", "--overwrite")
    assert run(["train", "binary.npz", *QUICK, "--name", "x", "--overwrite"], capsys)[0] == 0


def test_models_meeting_the_wrong_data(flowers_model, work, capsys):
    np.savez("three.npz", X=np.ones((5, 3)))
    Path("odd.csv").write_text("petal,sepal,species\n1,2,tulip\n")
    Path("garbage.npz").write_bytes(b"not a zip file")
    fails(["predict", flowers_model, "three.npz"], capsys, "expects 2 features", "three.npz")
    fails(["predict", flowers_model, "binary.npz", "--x-key", "nope"], capsys, "'nope'")
    fails(["evaluate", flowers_model, "odd.csv"], capsys, "odd.csv", "'tulip'", "classes")
    fails(["evaluate", flowers_model, "wine"], capsys, "classes", "'wine'")
    fails(["evaluate", flowers_model, "iris"], capsys, "expects 2 features", "'iris' has 4")
    fails(["evaluate", "runs/none.npz", "flowers.csv"], capsys, "runs/none.npz", "does not exist")
    fails(["evaluate", "garbage.npz", "flowers.csv"], capsys, "garbage.npz")
    fails(["predict", flowers_model, "new.csv", "-o", "new.csv/out.csv"], capsys, "new.csv")


def test_divergence_is_one_warning_line_not_a_failure(work, capsys):
    argv = ["train", "binary.npz", "--lr", "1e9", "--optimizer", "gd", "--epochs", "5", "-q"]
    status, out, err = run([*argv, "--name", "d", "--no-plots"], capsys)
    assert status == 0 and "(diverged)" in out
    assert err.startswith("ldnn: warning: the cost became NaN")
    # (the parameters kept may predict one class only: that is a warning line too)
    assert all(line.startswith("ldnn: warning: ") for line in err.strip().splitlines())
    metrics = json.loads((work / "runs/d/metrics.json").read_text())
    assert metrics["stop_reason"] == "diverged"


def test_no_half_written_run_folder(work, capsys, monkeypatch):
    from ldnn.runs import plots

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(plots, "learning_curve", broken)
    fails(["train", "binary.npz", *QUICK, "--name", "half"], capsys, "disk full")
    assert list((work / "runs").iterdir()) == []


# -- the real console script ----------------------------------------------------------------


def console(*argv, cwd):
    ldnn = Path(sys.executable).with_name("ldnn")
    command = [str(ldnn)] if ldnn.exists() else [sys.executable, "-m", "ldnn.cli"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [*command, *argv], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def test_console_script_end_to_end(work):
    done = console("train", "binary.npz", *QUICK, "--name", "s", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "runs/s/model.npz").exists()
    done = console("evaluate", "runs/s/model.npz", "binary.npz", cwd=work)
    assert done.returncode == 0 and "accuracy" in done.stdout
    done = console("evaluate", "runs/s/model.npz", "nowhere.csv", cwd=work)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nowhere.csv" in done.stderr
    done = console("train", "binary.npz", "--epochs", "many", cwd=work)
    assert done.returncode == 2 and "--epochs" in done.stderr and "Traceback" not in done.stderr


def test_an_unwritable_tracking_store_is_refused_before_a_run_folder_is_made(work, capsys):
    argv = ["train", "binary.npz", *QUICK, "--name", "t", "--mlflow", "sqlite:////proc/x.db"]
    fails(argv, capsys, "--mlflow", "/proc")
    assert not (work / "runs" / "t").exists()


def test_running_out_of_memory_is_one_line(work, capsys, monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("ldnn.runs.run.TrainingRun.fit", exhausted)
    fails(["train", "binary.npz", *QUICK, "--name", "oom"], capsys, "out of memory")


def test_notes_from_run_folders_reach_the_terminal_escaped(capsys):
    from ldnn.cli.train import tell

    tell(["a folder named \x1b[31mred\x1b[0m"])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[31mred" in err
