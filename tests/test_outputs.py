"""Outputs never replace inputs: `ldnn predict -o`, `evaluate -o` and `export -o` refuse the
model, any file of its run folder and every input (by path, through a symbolic link, or
under another name by a hard link), replace an existing file only with --overwrite, and
keep a replaced file's permission bits; on real files, and once through the real console
script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ldnn.cli import main
from ldnn.errors import ConfigurationError
from ldnn.io import atomic_write_text, check_output
from ldnn.runs.folders import run_folder_of

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with data files and a run folder runs/m, trained once for the module."""
    folder = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    np.savez(folder / "data.npz", X=X, y=y)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    argv = ["train", "data.npz", "--epochs", "3", "--layers", "4", "-q", "--no-plots"]
    old = Path.cwd()
    os.chdir(folder)
    try:
        assert main([*argv, "--name", "m"]) == 0
    finally:
        os.chdir(old)
    return folder


@pytest.fixture
def work(trained, tmp_path, monkeypatch, capsys):
    """A copy of ``trained`` as the working folder, for each test to damage if it can."""
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True, symlinks=True)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    return tmp_path


def snapshot(folder: Path) -> dict:
    """Every file under ``folder``: its bytes and mode."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode & 0o777)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def refused(argv, capsys, *fragments) -> str:
    """Assert ``ldnn argv`` exits 2 with one line naming -o and every fragment."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in ("error: -o ", *fragments):
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- the model and its run folder ------------------------------------------------------------
@pytest.mark.parametrize("model", ["runs/m", "runs/m/model.npz"])
@pytest.mark.parametrize(
    "target",
    ["model.npz", "config.toml", "metrics.json", "provenance.json", ".ldnn-run", "new.csv"],
)
def test_predict_never_writes_into_the_model_or_its_run_folder(work, capsys, model, target):
    before = snapshot(work)
    path = f"runs/m/{target}"
    line = refused(["predict", model, "data.npz", "-o", path, "--overwrite"], capsys, path)
    assert "the model" in line and "write it elsewhere" in line
    assert snapshot(work) == before


def test_the_model_is_named_as_the_model(work, capsys):
    argv = ["predict", "runs/m/model.npz", "data.npz", "-o", "runs/m/model.npz", "--overwrite"]
    assert "would replace the model runs/m/model.npz" in refused(argv, capsys)


def test_a_model_outside_a_run_folder_is_refused_too(work, capsys):
    shutil.copy("runs/m/model.npz", "alone.npz")
    before = snapshot(work)
    argv = ["predict", "alone.npz", "data.npz", "-o", "alone.npz", "--overwrite"]
    refused(argv, capsys, "the model alone.npz")
    assert snapshot(work) == before
    # its folder is no run folder: a new file beside it is fine
    assert main(["predict", "alone.npz", "data.npz", "-o", "beside.csv"]) == 0


# -- the inputs: by path, through a symbolic link, under another name -------------------------
def test_predict_never_replaces_its_data(work, capsys):
    before = snapshot(work)
    argv = ["predict", "runs/m", "data.npz", "-o", "./data.npz", "--overwrite"]
    refused(argv, capsys, "would replace DATA data.npz")
    assert snapshot(work) == before


def test_a_symbolic_link_to_an_input_is_the_input(work, capsys):
    os.symlink("data.npz", "link.npz")
    os.symlink("runs/m/model.npz", "model-link.npz")
    before = snapshot(work)
    refused(["predict", "runs/m", "data.npz", "-o", "link.npz", "--overwrite"], capsys, "DATA")
    argv = ["predict", "runs/m", "data.npz", "-o", "model-link.npz", "--overwrite"]
    refused(argv, capsys, "runs/m")
    assert snapshot(work) == before
    assert os.readlink("link.npz") == "data.npz"


def test_a_hard_link_to_an_input_is_the_input(work, capsys):
    os.link("data.npz", "hard.npz")
    os.link("runs/m/model.npz", "model-hard.npz")
    before = snapshot(work)
    argv = ["predict", "runs/m", "data.npz", "-o", "hard.npz", "--overwrite"]
    refused(argv, capsys, "hard.npz is DATA data.npz under another name (a hard link)")
    argv = ["predict", "runs/m/model.npz", "data.npz", "-o", "model-hard.npz", "--overwrite"]
    refused(argv, capsys, "is the model runs/m/model.npz under another name")
    assert snapshot(work) == before
    assert os.stat("hard.npz").st_nlink == 2


def test_labels_are_an_input(work, capsys):
    before = snapshot(work)
    argv = ["evaluate", "runs/m", "X.npy", "--labels", "y.npy", "-o", "y.npy", "--overwrite"]
    refused(argv, capsys, "would replace --labels y.npy")
    assert snapshot(work) == before


# -- an existing file: only with --overwrite, and its mode kept --------------------------------
def test_an_existing_file_needs_overwrite(work, capsys):
    Path("out.csv").write_text("mine\n")
    refused(["predict", "runs/m", "data.npz", "-o", "out.csv"], capsys, "exists", "--overwrite")
    assert Path("out.csv").read_text() == "mine\n"
    assert main(["predict", "runs/m", "data.npz", "-o", "out.csv", "--overwrite"]) == 0
    assert Path("out.csv").read_text().startswith("prediction,")


def test_overwrite_keeps_the_mode_and_a_new_file_gets_the_umask(work, capsys):
    Path("private.csv").write_text("mine\n")
    os.chmod("private.csv", 0o600)
    old = os.umask(0o022)
    try:
        assert main(["predict", "runs/m", "data.npz", "-o", "private.csv", "--overwrite"]) == 0
        assert main(["predict", "runs/m", "data.npz", "-o", "fresh.csv"]) == 0
    finally:
        os.umask(old)
    assert os.stat("private.csv").st_mode & 0o777 == 0o600
    assert Path("private.csv").read_text().startswith("prediction,")
    assert os.stat("fresh.csv").st_mode & 0o777 == 0o644
    assert not list(work.glob(".*.tmp"))


def test_atomic_write_keeps_the_mode_and_replaces_a_link_not_its_file(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    os.chmod(tmp_path / "a.txt", 0o640)
    atomic_write_text(tmp_path / "a.txt", "b")
    assert (tmp_path / "a.txt").read_text() == "b"
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
    os.symlink("a.txt", tmp_path / "link.txt")
    atomic_write_text(tmp_path / "link.txt", "c")
    assert not (tmp_path / "link.txt").is_symlink() and (tmp_path / "a.txt").read_text() == "b"


def test_a_folder_is_no_output(work, capsys):
    refused(["predict", "runs/m", "data.npz", "-o", "runs", "--overwrite"], capsys, "is a folder")


# -- evaluate -o -------------------------------------------------------------------------------
def test_evaluate_writes_its_table_or_json_to_a_file(work, capsys):
    assert main(["evaluate", "runs/m", "data.npz", "-o", "scores.txt"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "wrote the scores to scores.txt"
    assert "accuracy" in Path("scores.txt").read_text()
    refused(["evaluate", "runs/m", "data.npz", "-o", "scores.txt"], capsys, "--overwrite")
    argv = ["evaluate", "runs/m", "data.npz", "--json", "-o", "scores.txt", "--overwrite"]
    assert main(argv) == 0
    assert json.loads(Path("scores.txt").read_text())["m"] == 60


def test_evaluate_never_replaces_the_data_it_scores(trained, work, capsys):
    # Without DATA it scores the test part of its own training file, which the model
    # names by its absolute path: the module's data.npz, reached here through a link.
    os.symlink(trained / "data.npz", "own.npz")
    before = snapshot(work)
    refused(["evaluate", "runs/m", "-o", "own.npz", "--overwrite"], capsys, "DATA", "data.npz")
    refused(["evaluate", "runs/m", "-o", "runs/m/metrics.json", "--overwrite"], capsys, "runs/m")
    assert snapshot(work) == before


# -- export -o ---------------------------------------------------------------------------------
def test_export_never_replaces_the_model_or_writes_into_its_run_folder(work, capsys):
    before = snapshot(work)
    argv = ["export", "runs/m/model.npz", "--overwrite", "-o"]
    refused([*argv, "runs/m/model.npz"], capsys, "would replace the model runs/m/model.npz")
    refused([*argv, "runs/m/model.onnx"], capsys, "inside the model's run folder")
    os.link("runs/m/model.npz", "hard.npz")
    refused([*argv, "hard.npz"], capsys, "under another name")
    Path("old.onnx").write_text("mine")
    refused(["export", "runs/m/model.npz", "-o", "old.onnx"], capsys, "--overwrite")
    after = snapshot(work)
    assert after.pop("old.onnx")[0] == b"mine" and after.pop("hard.npz")[0]
    assert after == before


def test_export_overwrite_keeps_the_mode(work, capsys):
    pytest.importorskip("onnx")
    Path("old.onnx").write_text("mine")
    os.chmod("old.onnx", 0o600)
    assert main(["export", "runs/m/model.npz", "-o", "old.onnx", "--overwrite"]) == 0
    assert os.stat("old.onnx").st_mode & 0o777 == 0o600
    assert Path("old.onnx").read_bytes() != b"mine"
    # MODEL may be the run folder, as for predict; nothing goes into it
    assert main(["export", "runs/m", "-o", "new.onnx"]) == 0
    assert Path("new.onnx").read_bytes() == Path("old.onnx").read_bytes()
    capsys.readouterr()
    refused(["export", "runs/m", "-o", "runs/m/m.onnx"], capsys, "the model's run folder")


def test_export_file_refuses_the_model_whatever_overwrite_says(work):
    from ldnn.onnx import export_file

    with pytest.raises(ConfigurationError, match="out_path .* would replace the model"):
        export_file("runs/m/model.npz", "runs/m/model.npz")
    Path("x.onnx").write_text("mine")
    with pytest.raises(ConfigurationError, match="pass overwrite=True"):
        export_file("runs/m/model.npz", "x.onnx", overwrite=False)


# -- the library check -------------------------------------------------------------------------
def test_check_output(tmp_path):
    (tmp_path / "in.csv").write_text("x")
    (tmp_path / "folder").mkdir()
    os.symlink("nowhere", tmp_path / "dangling")
    os.symlink("loop", tmp_path / "loop")
    reading = [tmp_path / "in.csv", tmp_path / "folder", None]
    assert check_output(tmp_path / "new.csv", reading=reading) == tmp_path / "new.csv"
    with pytest.raises(ConfigurationError, match="inside the input") as caught:
        check_output(tmp_path / "folder" / "sub" / "new.csv", reading=reading)
    assert caught.value.field == "-o"
    with pytest.raises(ConfigurationError, match="exists"):
        check_output(tmp_path / "dangling", reading=reading)
    assert check_output(tmp_path / "dangling", reading=reading, overwrite=True)
    with pytest.raises(ConfigurationError, match="--out .*exists; pass --overwrite"):
        check_output(tmp_path / "loop", reading=reading, flag="--out")
    with pytest.raises(ConfigurationError, match="would replace the input"):
        check_output(tmp_path / "." / "in.csv", reading=reading, overwrite=True)


def test_run_folder_of(work):
    assert run_folder_of("runs/m") == Path("runs/m")
    assert run_folder_of("runs/m/model.npz") == Path("runs/m")
    os.symlink("runs/m/model.npz", "link.npz")
    assert run_folder_of("link.npz") == (work / "runs/m").resolve()
    shutil.copy("runs/m/model.npz", "alone.npz")
    assert run_folder_of("alone.npz") is None


# -- a real process ------------------------------------------------------------------------------
def test_the_console_script_refuses_in_one_line(work):
    before = snapshot(work)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    argv = ["predict", "runs/m", "data.npz", "-o", "runs/m/model.npz", "--overwrite"]
    done = subprocess.run(
        [sys.executable, "-m", "ldnn.cli", *argv],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "-o runs/m/model.npz" in done.stderr
    assert snapshot(work) == before
