"""Run folders: names that stay inside the runs folder, --overwrite only of ldnn's own
folders, what the next start makes of what a kill left, the umask, and real signals sent
to real `ldnn train` processes, whose runs then continue to bit-identical results."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ldnn.cli import main
from ldnn.runs.folders import CHECKPOINT, MARKER, read_marker, recover

pytest.importorskip("matplotlib")

QUICK = ["--epochs", "3", "--layers", "4", "-q", "--no-plots"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    np.savez("data.npz", X=X, y=(X[:, 0] > 0).astype(int))
    return tmp_path


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def marked(folder: Path, status: str, pid: int | None = None, checkpoint=False) -> Path:
    folder.mkdir(parents=True)
    owner = {"host": os.uname().nodename, "pid": pid or dead_pid()}
    (folder / MARKER).write_text(
        json.dumps({"ldnn": "run folder", "kind": "train", "status": status, "owner": owner})
    )
    (folder / "config.toml").write_text("[data]\n")
    if checkpoint:
        (folder / CHECKPOINT).write_bytes(b"checkpoint")
    return folder


# -- names and --overwrite ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["../src", ".", "..", "/tmp/abs", "a/b", ".hidden", " "])
def test_a_run_name_is_one_plain_folder_name(work, capsys, name):
    (work / "src").mkdir()
    (work / "src" / "keep.py").write_text("x = 1\n")
    status, _, err = run(["train", "data.npz", *QUICK, "--name", name, "--overwrite"], capsys)
    assert status == 2 and "--name must be one plain folder name" in err
    assert len(err.strip().splitlines()) == 1
    assert (work / "src" / "keep.py").read_text() == "x = 1\n"
    assert not (work / "runs").exists() or not any((work / "runs").iterdir())


def test_overwrite_replaces_only_ldnn_run_folders(work, capsys):
    (work / "runs" / "mine").mkdir(parents=True)
    (work / "runs" / "mine" / "notes.txt").write_text("precious")
    status, _, err = run(["train", "data.npz", *QUICK, "--name", "mine", "--overwrite"], capsys)
    assert status == 2 and "not a run folder ldnn made" in err
    assert (work / "runs" / "mine" / "notes.txt").read_text() == "precious"
    assert run(["train", "data.npz", *QUICK, "--name", "r"], capsys)[0] == 0
    first = (work / "runs" / "r" / "model.npz").read_bytes()
    assert (
        run(["train", "data.npz", *QUICK, "--name", "r", "--overwrite", "--seed", "5"], capsys)[0]
        == 0
    )
    assert (work / "runs" / "r" / "model.npz").read_bytes() != first
    assert sorted(p.name for p in (work / "runs").iterdir()) == ["mine", "r"]  # nothing aside


def test_overwrite_refuses_a_folder_a_live_process_is_writing(work, capsys):
    marked(work / "runs" / "busy", "running", pid=os.getppid())
    status, _, err = run(["train", "data.npz", *QUICK, "--name", "busy", "--overwrite"], capsys)
    assert status == 2 and "is being written by process" in err


def test_a_failed_run_leaves_the_old_folder_as_it_was(work, capsys, monkeypatch):
    assert run(["train", "data.npz", *QUICK, "--name", "r"], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in (work / "runs" / "r").iterdir()}

    from ldnn.runs import run as training_run

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(training_run, "history_csv", broken)
    status, _, err = run(["train", "data.npz", *QUICK, "--name", "r", "--overwrite"], capsys)
    assert status == 2 and "disk full" in err
    assert {p.name: p.read_bytes() for p in (work / "runs" / "r").iterdir()} == before
    assert sorted(p.name for p in (work / "runs").iterdir()) == ["r"]


# -- what the next start makes of what a kill left ----------------------------------------------
def test_recovery_of_every_state_a_kill_can_leave(tmp_path):
    runs = tmp_path / "runs"
    pid = dead_pid()
    # killed between the two renames of an overwrite: the old run comes back
    marked(runs / f".a.{pid}.old", "complete")
    # killed while the new run trained, before its first checkpoint: the old run comes back
    marked(runs / f".b.{pid}.old", "complete")
    marked(runs / "b", "running")
    # killed after the new run wrote a checkpoint: the new run stays, interrupted
    marked(runs / f".c.{pid}.old", "complete")
    marked(runs / "c", "running", checkpoint=True)
    # killed after the new run completed, before the old was removed
    marked(runs / f".d.{pid}.old", "complete")
    marked(runs / "d", "complete")
    # a run killed before its first checkpoint, with nothing to replace
    marked(runs / "e", "running")
    (runs / "e" / ".model.npz.x1y2.tmp").write_bytes(b"half")
    # a run killed with a checkpoint, and a half-written file of its atomic writes
    marked(runs / "f", "running", checkpoint=True)
    (runs / "f" / ".model.npz.a1b2.tmp").write_bytes(b"half")
    # a folder ldnn did not make, and one a live process is writing: untouched
    (runs / "notes").mkdir()
    marked(runs / "live", "running", pid=os.getppid())
    # an older ldnn's half-built run folder, long gone, and one that may still be building
    (runs / ".g.abc123.tmp").mkdir()
    os.utime(runs / ".g.abc123.tmp", (time.time() - 3600,) * 2)
    (runs / ".h.def456.tmp").mkdir()
    notes = recover(runs)
    assert len(notes) == 8, notes
    assert sorted(p.name for p in runs.iterdir()) == [
        ".h.def456.tmp",
        "a",
        "b",
        "c",
        "d",
        "f",
        "live",
        "notes",
    ]
    assert read_marker(runs / "a")["status"] == "complete"
    assert read_marker(runs / "b")["status"] == "complete"  # the old b
    assert read_marker(runs / "c")["status"] == "interrupted"
    assert read_marker(runs / "f")["status"] == "interrupted"
    assert not list((runs / "f").glob(".*.tmp"))
    assert read_marker(runs / "live")["status"] == "running"
    assert recover(runs) == []  # nothing left to do


def test_the_umask_is_honoured(work, capsys):
    for umask, file_mode, folder_mode in ((0o022, 0o644, 0o755), (0o077, 0o600, 0o700)):
        old = os.umask(umask)
        try:
            assert run(["train", "data.npz", *QUICK, "--name", f"u{umask:o}"], capsys)[0] == 0
        finally:
            os.umask(old)
        folder = work / "runs" / f"u{umask:o}"
        assert folder.stat().st_mode & 0o777 == folder_mode
        for path in folder.iterdir():
            assert path.stat().st_mode & 0o777 == file_mode, path


# -- --resume -------------------------------------------------------------------------------------
def test_resume_refuses_what_it_cannot_continue(work, capsys):
    assert run(["train", "data.npz", *QUICK, "--name", "done"], capsys)[0] == 0
    status, _, err = run(["train", "--resume", "runs/done"], capsys)
    assert status == 2 and "complete already" in err
    (work / "plain").mkdir()
    status, _, err = run(["train", "--resume", "plain"], capsys)
    assert status == 2 and "not a run folder ldnn made" in err
    status, _, err = run(["train", "--resume", "runs/done", "--epochs", "9"], capsys)
    assert status == 2 and "takes no epochs" in err


# -- real signals to real processes ------------------------------------------------------------
@pytest.fixture(scope="module")
def slow_data(tmp_path_factory):
    """A table on which `ldnn train` takes a few seconds, so that a signal lands mid-run."""
    folder = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 20))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    with open(folder / "table.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([f"x{i}" for i in range(20)] + ["y"])
        writer.writerows(
            [[f"{v:.4f}" for v in row] + [label] for row, label in zip(X, y, strict=True)]
        )
    return folder


TRAIN = [
    "--layers",
    "256,256",
    "--epochs",
    "25",
    "--batch-size",
    "32",
    "--keep-prob",
    "0.9",
    "--val-split",
    "0.1",
    "--early-stopping",
    "50",
    "--ensemble",  # two networks: a signal may land in either, and resume ends alike
    "2",
    "-q",
    "--no-plots",
]


def ldnn(folder, *argv, **popen):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "ldnn.cli", *map(str, argv)]
    return subprocess.Popen(
        command,
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def wait_for(path: Path, process, timeout=60.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < end, f"{path} did not appear"
        time.sleep(0.02)


def parameters_of(path: Path) -> dict:
    with np.load(path) as archive:
        return {k: archive[k] for k in archive.files if k[0] in "Wb" and k[1:].isdigit()}


@pytest.fixture(scope="module")
def uninterrupted(slow_data):
    process = ldnn(slow_data, "train", "table.csv", *TRAIN, "--name", "whole")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return slow_data / "runs" / "whole"


def same_run(folder: Path, whole: Path) -> None:
    for key, value in parameters_of(whole / "model.npz").items():
        assert np.array_equal(parameters_of(folder / "model.npz")[key], value), key
    assert (folder / "history.csv").read_text() == (whole / "history.csv").read_text()
    a, b = (json.loads((f / "metrics.json").read_text()) for f in (folder, whole))
    for metrics in (a, b):
        metrics.pop("train_seconds")
    assert a == b
    assert read_marker(folder)["status"] == "complete" and not (folder / CHECKPOINT).exists()


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_training_and_resume_ends_bit_identical(slow_data, uninterrupted, sent):
    name = f"stopped-{sent.name}"
    folder = slow_data / "runs" / name
    process = ldnn(
        slow_data, "train", "table.csv", *TRAIN, "--name", name, "--checkpoint-every", "1"
    )
    wait_for(folder / CHECKPOINT, process)
    process.send_signal(sent)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and f"ldnn train --resume {folder.relative_to(slow_data)}" in err
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["stop_reason"] == "interrupted" and metrics["interrupted_at"]["epoch"] < 25
    assert read_marker(folder)["status"] == "interrupted" and (folder / CHECKPOINT).exists()
    resumed = ldnn(
        slow_data, "train", "--resume", folder.relative_to(slow_data), "-q", "--no-plots"
    )
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    same_run(folder, uninterrupted)


def test_a_killed_run_resumes_from_its_last_checkpoint_bit_identical(slow_data, uninterrupted):
    folder = slow_data / "runs" / "killed"
    process = ldnn(
        slow_data, "train", "table.csv", *TRAIN, "--name", "killed", "--checkpoint-every", "3"
    )
    wait_for(folder / CHECKPOINT, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert read_marker(folder)["status"] == "running"  # as the kill left it
    resumed = ldnn(
        slow_data, "train", "--resume", folder.relative_to(slow_data), "-q", "--no-plots"
    )
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    same_run(folder, uninterrupted)


def test_overwrite_replaces_a_run_folder_of_an_ldnn_from_before_the_marker(work, capsys):
    assert run(["train", "data.npz", *QUICK, "--name", "old"], capsys)[0] == 0
    (work / "runs" / "old" / MARKER).unlink()  # as an older ldnn left it ...
    (work / "runs" / "old" / "provenance.json").unlink()  # ... which wrote no provenance
    assert run(["train", "data.npz", *QUICK, "--name", "old", "--overwrite"], capsys)[0] == 0
    assert read_marker(work / "runs" / "old")["status"] == "complete"
    # ... but not one that holds anything else
    (work / "runs" / "old" / MARKER).unlink()
    (work / "runs" / "old" / "notes.txt").write_text("mine")
    status, _, err = run(["train", "data.npz", *QUICK, "--name", "old", "--overwrite"], capsys)
    assert status == 2 and "not a run folder ldnn made" in err


# -- recovery acts only inside the runs folder, on what ldnn made --------------------------------
def tree(folder: Path) -> dict:
    """Every entry under ``folder``: a file's bytes, a link's target, or "folder"."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_dir():
            found[name] = "folder"
        else:
            found[name] = path.read_bytes()
    return found


def forged(folder: Path, name: str, checkpoint: bool = False) -> Path:
    """A folder outside runs/ dressed as a run killed while running: a forged marker,
    half-written files of atomic writes, and someone's own file."""
    marked(folder, "running", checkpoint=checkpoint)
    marker = json.loads((folder / MARKER).read_text())
    (folder / MARKER).write_text(json.dumps({**marker, "folder": name}))
    (folder / ".precious.tmp").write_bytes(b"not ldnn's")
    (folder / "keep.txt").write_text("mine")
    return folder


@pytest.mark.parametrize("checkpoint", [False, True], ids=["no-checkpoint", "checkpoint"])
def test_a_planted_link_leads_recovery_nowhere_and_is_said_once(work, checkpoint):
    outside = forged(work / "outside", "evil", checkpoint)
    (work / "runs").mkdir()
    os.symlink(outside, work / "runs" / "evil")
    before = tree(outside)
    said = []
    for name in ("r1", "r2"):
        process = ldnn(work, "train", "data.npz", *QUICK, "--name", name)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        said.append([line for line in err.splitlines() if "evil" in line])
        assert tree(outside) == before
        assert os.readlink(work / "runs" / "evil") == str(outside)
    assert len(said[0]) == 1 and "left runs/evil alone" in said[0][0], said
    assert "symbolic link" in said[0][0] and "removed" not in said[0][0]
    assert said[1] == []
    marker = read_marker(work / "runs" / "r2")
    assert marker["status"] == "complete" and marker["folder"] == "r2"


def test_recovery_trusts_no_marker_that_is_not_its_folders(tmp_path):
    runs, outside = tmp_path / "runs", tmp_path / "outside"
    pid = dead_pid()
    # an old folder "set aside" that is a link to a folder outside
    forged(outside / "aside", "x")
    runs.mkdir()
    os.symlink(outside / "aside", runs / f".x.{pid}.old")
    # a run folder whose marker says it is another folder
    b = marked(runs / "b", "running")
    (b / MARKER).write_text(json.dumps({**json.loads((b / MARKER).read_text()), "folder": "a"}))
    (b / ".model.npz.x1.tmp").write_bytes(b"half")
    # a run folder whose marker is a link to a forged one outside
    forged(outside / "c", "c")
    (runs / "c").mkdir()
    os.symlink(outside / "c" / MARKER, runs / "c" / MARKER)
    # a half-built folder of an older ldnn, long gone, that is a link to a folder outside
    forged(outside / "g", "g")
    os.symlink(outside / "g", runs / ".g.abc123.tmp")
    os.utime(runs / ".g.abc123.tmp", (time.time() - 3600,) * 2, follow_symlinks=False)
    # a second name for a run folder of runs/ itself: nothing to say
    os.symlink("b", runs / "also-b")
    # and runs really killed, their markers naming their folders: recovery still works
    for name, checkpoint in (("e", False), ("f", True)):
        folder = marked(runs / name, "running", checkpoint=checkpoint)
        marker = json.loads((folder / MARKER).read_text())
        (folder / MARKER).write_text(json.dumps({**marker, "folder": name}))
    before, inside = tree(outside), tree(runs / "b")
    notes = recover(runs)
    assert f"removed {runs / 'e'}: killed before its first checkpoint" in notes
    assert read_marker(runs / "f")["status"] == "interrupted"
    assert read_marker(runs / "f")["folder"] == "f"
    left = [note for note in notes if note.startswith("left ")]
    assert len(left) == 4 and len(notes) == 6, notes
    assert all(" alone: " in note and "says this once" in note for note in left), left
    assert any(f"{runs / 'b'}" in note and "'a'" in note for note in left), left
    assert tree(outside) == before and tree(runs / "b") == inside
    names = {p.name for p in runs.iterdir()}
    assert names == {f".x.{pid}.old", ".g.abc123.tmp", ".ldnn-noted", "also-b", "b", "c", "f"}
    assert recover(runs) == []  # said once
    (runs / f".x.{pid}.old").unlink()  # a new link in its place is news
    os.symlink(outside / "c", runs / f".x.{pid}.old")
    assert len(recover(runs)) == 1 and tree(outside) == before


def test_markers_name_their_folder(work, capsys):
    assert run(["train", "data.npz", *QUICK, "--name", "named"], capsys)[0] == 0
    assert read_marker(work / "runs" / "named")["folder"] == "named"
    (work / "runs" / "named" / MARKER).rename(work / "marker")
    os.symlink(work / "marker", work / "runs" / "named" / MARKER)
    assert read_marker(work / "runs" / "named") is None  # a link is no marker
