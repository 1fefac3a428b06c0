"""Every misuse the reliability issue lists ends in one clear line: through the CLI with
exit status 2 and no traceback, through Python as an ldnn error naming the argument."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from ldnn import ArgumentTypeError, ConfigurationError, DeepNetwork
from ldnn.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    X = np.random.default_rng(0).normal(size=(30, 2))
    lines = ["a,b,y"] + [f"{x[0]:.3f},{x[1]:.3f},{int(x[0] > 0)}" for x in X]
    body = "\n".join(lines) + "\n"

    def write(name, text, encoding="utf-8"):
        (folder / name).write_text(text, encoding=encoding)

    write("ok.csv", body)
    write("latin1.csv", body.replace("a,b,y", "\xe9t\xe9,b,y"), "latin-1")
    (folder / "binary.csv").write_bytes(b"\x00\x01\x02" * 100)
    write("huge_cell.csv", "a,b,y\n" + "x" * 140_000 + ",1,0\n" + "\n".join(lines[1:]) + "\n")
    write("duplicate.csv", body.replace("a,b,y", "a,a,y"))
    decimal_commas = [f'"{x[0]:.3f}",{x[1]:.3f},{int(x[0] > 0)}'.replace(".", ",", 1) for x in X]
    write("decimal_commas.csv", "a,b,y\n" + "\n".join(decimal_commas) + "\n")
    for name, text in {
        "keep_prob.toml": '[model]\nkeep_prob = "a"\n',
        "test_split.toml": '[data]\ntest_split = "x"\n',
        "features.toml": "[data]\nfeatures = 7\n",
        "split_seed.toml": "[data]\nsplit_seed = -1\n",
        "standardize.toml": '[data]\nstandardize = "no"\n',
    }.items():
        write(name, text)
    return folder


CLI_CASES = {
    "latin-1 file": (["train", "latin1.csv"], "is not UTF-8 text"),
    "binary file": (["train", "binary.csv"], "is not a text file"),
    "stray text among numbers": (["train", "huge_cell.csv"], "column 'a' holds numbers"),
    "--seed -1": (["train", "ok.csv", "--seed", "-1"], "seed must be a whole number >= 0"),
    "--split-seed -1": (["train", "ok.csv", "--split-seed", "-1"], "split_seed must be"),
    'keep_prob = "a"': (["train", "ok.csv", "--config", "keep_prob.toml"], "keep_prob must be"),
    'test_split = "x"': (["train", "ok.csv", "--config", "test_split.toml"], "test_split must"),
    "features = 7": (["train", "ok.csv", "--config", "features.toml"], "features must be"),
    "split_seed = -1": (["train", "ok.csv", "--config", "split_seed.toml"], "split_seed must"),
    'standardize = "no"': (["train", "ok.csv", "--config", "standardize.toml"], "true or false"),
    "duplicate header": (["train", "duplicate.csv"], "more than one column is named 'a'"),
    "--print-every 0": (["train", "ok.csv", "--print-every", "0"], "--print-every must be"),
    "leaky_relu:nan": (["train", "ok.csv", "--activation", "leaky_relu:nan"], "not a finite"),
    "--batch-size 0": (["train", "ok.csv", "--batch-size", "0"], "must be positive (or 'full')"),
    "decimal commas": (["train", "decimal_commas.csv"], "pass --decimal ','"),
    "--delimiter ;;": (["train", "ok.csv", "--delimiter", ";;"], "must be one character"),
    "--encoding nope": (["train", "ok.csv", "--encoding", "nope"], "not an encoding Python"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_misuse_is_one_line_and_exit_2(files, case, capsys, monkeypatch):
    monkeypatch.chdir(files)
    argv, fragment = CLI_CASES[case]
    status = main([*argv, "--epochs", "2", "-q", "--no-plots"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert fragment in err, err


def test_gradcheck_with_a_negative_epsilon_is_a_usage_error(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert main(["train", "ok.csv", "--epochs", "2", "-q", "--no-plots", "--name", "m"]) == 0
    capsys.readouterr()
    assert main(["gradcheck", "runs/m/model.npz", "ok.csv", "--epsilon", "-1"]) == 2
    assert "--epsilon must be a positive number" in capsys.readouterr().err


def test_a_traceback_never_reaches_a_real_process(files):
    """The same through a real process: what users see in a terminal."""
    process = subprocess.run(
        [sys.executable, "-m", "ldnn.cli", "train", "latin1.csv", "-q"],
        cwd=files,
        capture_output=True,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert process.returncode == 2 and "Traceback" not in process.stderr


X = np.random.default_rng(0).normal(size=(2, 20))
Y = (X[:1] > 0).astype(float)

PYTHON_CASES = {
    "activations=None": (
        lambda: DeepNetwork([2, 3, 1], activations=None),
        ArgumentTypeError,
        "activations must be a name",
    ),
    "activations=3": (
        lambda: DeepNetwork([2, 3, 1], activations=3),
        ArgumentTypeError,
        "activations must be a name",
    ),
    "keep_prob=None": (
        lambda: DeepNetwork([2, 3, 1], keep_prob=None),
        ConfigurationError,
        "keep_prob must be a number",
    ),
    'keep_prob="0.5"': (
        lambda: DeepNetwork([2, 3, 1], keep_prob="0.5"),
        ConfigurationError,
        "keep_prob must be a number",
    ),
    "seed=-1": (
        lambda: DeepNetwork([2, 3, 1], seed=-1),
        ConfigurationError,
        "seed must be a whole number >= 0",
    ),
    "an unknown setting": (
        lambda: DeepNetwork([2, 3, 1], epoch=3),
        ConfigurationError,
        "unknown setting(s) ['epoch']",
    ),
    "beta='x'": (lambda: DeepNetwork([2, 3, 1], beta="x"), ConfigurationError, "beta must lie"),
    "callbacks=[1]": (
        lambda: DeepNetwork([2, 3, 1], epochs=1).fit(X, Y, callbacks=[1]),
        ArgumentTypeError,
        "callbacks[0] must be callable",
    ),
    "terabytes of parameters": (
        lambda: DeepNetwork([10**6, 10**6, 1]).initialize(),
        ConfigurationError,
        "make 1,000,002,000,001 parameters",
    ),
}


@pytest.mark.parametrize("case", sorted(PYTHON_CASES))
def test_python_misuse_names_the_argument(case):
    make, kind, fragment = PYTHON_CASES[case]
    with pytest.raises(kind) as caught:
        make()
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("sizes", ["ten", None, [4, 0], 2.5])
def test_estimators_name_hidden_layer_sizes(sizes):
    from ldnn.sklearn import DNNClassifier

    with pytest.raises(ConfigurationError, match="hidden_layer_sizes must be a positive whole"):
        DNNClassifier(sizes).fit(X.T, Y.ravel())


def test_save_names_the_path_asked_for(tmp_path):
    net = DeepNetwork([2, 3, 1], epochs=1)
    net.fit(X, Y)
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match=str(tmp_path / "folder")):
        net.save(tmp_path / "folder")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere
        with pytest.raises(PermissionError, match=str(locked / "model.npz")):
            net.save(locked / "model.npz")
    assert not [p for p in tmp_path.rglob("*.tmp")]
