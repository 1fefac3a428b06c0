"""Run folders: where a run goes, what ldnn may replace, and what a kill leaves.

A run folder ``runs/<name>/`` is made when a run starts and holds a marker file,
``.ldnn-run`` (JSON: the kind of run, its status, the process writing it), so that ldnn
knows its own folders from everything else:

- ``--name`` is one plain path component (no ``/``, ``..`` or leading ``.``), so a run
  is always written inside the runs folder;
- ``--overwrite`` replaces only a folder with the marker, and never one that a live
  process is writing;
- the status goes from "running" to "complete", or to "interrupted" (the folder holds a
  checkpoint to continue from).

Replacing a folder is two renames: the old one is moved aside to ``.<name>.<pid>.old``
when the new run starts, and removed when the new run has something to show (it
completes, or it is interrupted with a checkpoint). A kill leaves one of a few states,
and :func:`recover`, called whenever a run folder is made or resumed, puts each right
(docs/cli.md has the table): an old folder set aside by a process that is gone comes
back if the new run left nothing worth keeping, and is removed otherwise; a run killed
while running is marked interrupted if it has a checkpoint and removed if it has none;
temporary files of atomic writes that a killed process left are removed. A process is
known to be gone when it ran on this machine and its pid is no longer alive.

Recovery acts only inside the runs folder, on what ldnn made there: it never follows a
symbolic link (an entry of the runs folder, or a marker, that is a link is left alone),
removes only entries of the runs folder itself, and trusts a marker only when it is a
file in its folder that names that folder (markers record their folder's name; one from
an ldnn before that names none). What it leaves alone for these reasons it says once, in
a note, and remembers in ``.ldnn-noted`` in the runs folder, so as not to say it again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
import zipfile
from datetime import datetime
from pathlib import Path

from .._version import __version__
from ..errors import ConfigurationError
from ..io import atomic_write_text

MARKER = ".ldnn-run"
CHECKPOINT = "checkpoint.npz"
#: What recovery left alone and said so once (in the runs folder).
NOTED = ".ldnn-noted"
#: Temporary folders an older ldnn built a run in; gone that long, they are stale.
_LEGACY_TEMPORARY_AGE = 600.0


def check_run_name(name: str, what: str = "--name") -> str:
    """``name`` if it is one plain path component that names a visible folder."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or name in (".", "..")
        or name.startswith(".")
        or any(sep in name for sep in ("/", "\\", os.sep, os.altsep or "/"))
        or "\0" in name
        or Path(name).is_absolute()
    ):
        raise ConfigurationError(
            f"{what} must be one plain folder name (no '/', '\\', '..' or leading '.'), "
            f"got {name!r}"
        )
    return name


def default_run_name(data: str) -> str:
    """``<data>-<date>-<time>``, with the data set's name made safe for a folder."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(data).stem if "." in data else data)
    return f"{stem.lstrip('.') or 'run'}-{datetime.now():%Y%m%d-%H%M%S}"


def free_path(runs_dir: Path, name: str) -> Path:
    """runs_dir / name, or name-2, name-3, ... when it is taken."""
    path, k = runs_dir / name, 2
    while path.exists():
        path, k = runs_dir / f"{name}-{k}", k + 1
    return path


def run_target(runs_dir: str | os.PathLike, name: str | None, data: str, overwrite: bool) -> Path:
    """The folder a run writes: ``runs_dir/name``, or a new ``<data>-<date>-<time>``.

    Raises
    ------
    ConfigurationError
        If ``name`` is not a plain folder name, or the folder exists and ``overwrite``
        is False.
    """
    runs_dir = Path(runs_dir)
    if name:
        target = runs_dir / check_run_name(name)
    else:
        target = free_path(runs_dir, default_run_name(data))
    if target.exists() and not overwrite:
        raise ConfigurationError(
            f"run folder {str(target)!r} exists; choose another --name or pass --overwrite"
        )
    return target


# -- who is writing ---------------------------------------------------------------------------
def _me() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(owner) -> bool:
    """Whether the process ``owner`` may still be writing (unknown: yes)."""
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


def read_marker(folder: Path) -> dict | None:
    """The marker of an ldnn run folder, or None for any other folder (and for a marker
    that is a symbolic link: ldnn writes its markers as files, never as links)."""
    path = Path(folder) / MARKER
    try:
        if path.is_symlink():
            return None
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("ldnn") == "run folder" else None


def _write_marker(path: Path, /, **fields) -> dict:
    folder = _resolved(path).name  # (a run resumed through a link: the folder's own name)
    marker = {"ldnn": "run folder", "ldnn_version": __version__, **fields, "folder": folder}
    atomic_write_text(path / MARKER, json.dumps(marker, indent=1) + "\n")
    return marker


def run_folder_of(model: str | os.PathLike) -> Path | None:
    """The run folder a model comes from: MODEL itself when it is a folder, else the
    folder the model file really is in (links followed) when that is an ldnn run folder
    (it holds a marker, or is one of an ldnn from before the marker); None otherwise."""
    path = Path(model)
    if path.is_dir():
        return path
    folder = _resolved(path).parent if path.is_symlink() else path.parent
    if os.path.lexists(folder / MARKER) or _legacy_run(folder):
        return folder
    return None


#: What an ldnn run folder held before the marker existed.
_LEGACY_FILES = {
    "model.npz",
    "config.toml",
    "history.csv",
    "metrics.json",
    "learning_curve.png",
    "confusion_matrix.png",
    "decision_boundary.png",
    "weights.png",
}


def _legacy_run(folder: Path) -> bool:
    """Whether ``folder`` is a run folder of an ldnn from before the marker: nothing but
    run files, among them config.toml and a model file with ldnn's metadata member."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    names = {p.name for p in folder.iterdir()}
    if not {"model.npz", "config.toml"} <= names <= _LEGACY_FILES:
        return False
    if any((folder / name).is_symlink() or not (folder / name).is_file() for name in names):
        return False
    try:
        with zipfile.ZipFile(folder / "model.npz") as archive:
            return "__metadata__.npy" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links
        return Path(os.path.abspath(path))


def _inside(path: Path, runs_dir: Path) -> bool:
    """Whether ``path`` is an entry of ``runs_dir`` itself and no symbolic link: all that
    recovery may remove or write in."""
    return not path.is_symlink() and _resolved(path).parent == _resolved(runs_dir)


def _remove(path: Path, runs_dir: Path) -> bool:
    """Remove the folder ``path``, an entry of ``runs_dir``; whether it is gone. A link, or
    anything that is not an entry of ``runs_dir``, is left as it is."""
    if not _inside(path, runs_dir):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


# -- recovery ---------------------------------------------------------------------------------
def recover(runs_dir: str | os.PathLike) -> list[str]:
    """Put right what killed ldnn processes left in ``runs_dir``; return what was done,
    one line each (see the module docstring)."""
    runs_dir, notes = Path(runs_dir), []
    if not runs_dir.is_dir():
        return notes
    for entry in sorted(runs_dir.iterdir()):
        try:
            notes += _recover_entry(runs_dir, entry)
        except OSError as error:  # another process got there first, or no permission
            notes.append(f"could not tidy {entry}: {error}")
    return notes


def _recover_entry(runs_dir: Path, entry: Path) -> list[str]:
    name = entry.name
    aside = re.fullmatch(r"\.(.+)\.(\d+)\.old", name)
    if aside and entry.is_dir():
        return _recover_aside(runs_dir, entry, runs_dir / aside.group(1), int(aside.group(2)))
    if re.fullmatch(r"\..+\.tmp", name) and entry.is_dir():
        # A run folder an older ldnn was building when it was killed.
        if entry.is_symlink():
            return _doubt(runs_dir, entry, "it is a symbolic link, which ldnn never makes")
        if time.time() - entry.stat().st_mtime <= _LEGACY_TEMPORARY_AGE:
            return []
        return _removed(runs_dir, entry, "a run folder left half-written by a killed ldnn")
    if name.startswith(".") or not entry.is_dir():
        return []
    return _recover_run(runs_dir, entry)


def _recover_aside(runs_dir: Path, entry: Path, target: Path, pid: int) -> list[str]:
    """``.<name>.<pid>.old``: the old run folder that process ``pid`` set aside to replace."""
    why = _distrust(entry, target.name)
    if why:
        return _doubt(runs_dir, entry, why)
    if _alive({"host": socket.gethostname(), "pid": pid}) or target.is_symlink():
        return []  # (a link at <name> is an entry of its own, left alone there)
    if not target.exists():
        os.replace(entry, target)
        return [f"put back {target}: the run that was to replace it was killed first"]
    marker = read_marker(target)
    why = _distrust(target, target.name) if marker else None
    if why:
        return _doubt(runs_dir, target, why)
    if marker and marker.get("status") == "running" and not _alive(marker.get("owner")):
        if not (target / CHECKPOINT).exists():
            if not _remove(target, runs_dir):
                return [f"could not remove {target} to put back the old run {entry}"]
            os.replace(entry, target)
            return [f"put back {target}: the run that was to replace it was killed early"]
    if marker and not (marker.get("status") == "running" and _alive(marker.get("owner"))):
        return _removed(runs_dir, entry, f"the old run that {target} replaced", ", ")
    return []


def _recover_run(runs_dir: Path, entry: Path) -> list[str]:
    """A run folder: killed while running, it is marked interrupted or removed."""
    if entry.is_symlink() and _resolved(entry).parent == _resolved(runs_dir):
        return []  # a second name for a run folder of runs_dir, recovered under its own
    if entry.is_symlink() or (entry / MARKER).is_symlink():
        return _doubt(runs_dir, entry, _distrust(entry, entry.name))
    marker = read_marker(entry)
    if not marker or marker.get("status") != "running" or _alive(marker.get("owner")):
        return []
    why = _distrust(entry, entry.name)
    if why:
        return _doubt(runs_dir, entry, why)
    for stale in entry.glob(".*.tmp"):  # atomic writes the killed process did not finish
        if stale.is_symlink() or stale.is_file():
            stale.unlink(missing_ok=True)
    if (entry / CHECKPOINT).exists():
        _write_marker(entry, **{**marker, "status": "interrupted", "owner": None})
        return [
            f"{entry} was killed while training: continue it with `ldnn train --resume {entry}`"
        ]
    return _removed(runs_dir, entry, "killed before its first checkpoint", ": ")


def _removed(runs_dir: Path, entry: Path, what: str, joint: str = ", ") -> list[str]:
    """Remove ``entry`` and say so, or say that it could not be."""
    if _remove(entry, runs_dir):
        return [f"removed {entry}{joint}{what}"]
    return [f"could not remove {entry} ({what})"]


def _distrust(folder: Path, name: str) -> str | None:
    """Why recovery must not act on ``folder`` as the run folder ``name``, or None: it is
    a link, its marker is one, or its marker names another folder."""
    if folder.is_symlink():
        return f"it is a symbolic link to {_resolved(folder)}, which ldnn never makes"
    if (folder / MARKER).is_symlink():
        return f"its {MARKER} is a symbolic link, which ldnn never makes"
    marker = read_marker(folder)
    named = marker.get("folder") if marker else None
    if named is not None and named != name:
        return f"its {MARKER} is the marker of another folder, {named!r}"
    return None


def _doubt(runs_dir: Path, entry: Path, why: str) -> list[str]:
    """The note that recovery leaves ``entry`` alone because ``why``; none when an earlier
    recovery said so already (``runs_dir/.ldnn-noted`` remembers what it said)."""
    try:
        info = os.lstat(entry)
        said = {"name": entry.name, "file": f"{info.st_dev}:{info.st_ino}", "why": why}
    except OSError:
        said = {"name": entry.name, "why": why}
    noted = runs_dir / NOTED
    try:
        before = [] if noted.is_symlink() else json.loads(noted.read_text())
    except (OSError, ValueError):
        before = []
    before = [n for n in before if isinstance(n, dict) and isinstance(n.get("name"), str)]
    if said in before:
        return []
    kept = [n for n in before if os.path.lexists(runs_dir / n["name"])]
    try:
        atomic_write_text(noted, json.dumps([*kept, said], indent=1) + "\n")
    except OSError:
        pass  # a read-only runs folder: the note comes again next time
    return [f"left {entry} alone: {why} (ldnn tidies only what it made, and says this once)"]


# -- a run folder being written ----------------------------------------------------------------
class RunFolder:
    """An ldnn run folder being written by this process.

    Use :meth:`create` (a new run, or one that replaces an old) or :meth:`resume` (an
    interrupted run), then :meth:`finish`. As a context manager, an exception that
    escapes the block leaves the folder as :meth:`abandon` says.

    Attributes
    ----------
    path : Path
    notes : list of str
        What :func:`recover` did in the runs folder first.
    """

    def __init__(self, path: Path, kind: str, aside: Path | None, notes: list[str]):
        self.path, self.kind, self.aside, self.notes = path, kind, aside, notes
        self.status = "running"

    @classmethod
    def create(cls, target, *, overwrite: bool = False, kind: str = "train") -> RunFolder:
        """Make ``target`` (marked "running"); with ``overwrite``, set aside the old run
        folder there, which must be ldnn's and not being written.

        Raises
        ------
        ConfigurationError
            If ``target`` exists and may not be replaced.
        """
        target = Path(target)
        notes = recover(target.parent)
        aside = None
        if target.exists() or target.is_symlink():
            if not overwrite:
                raise ConfigurationError(
                    f"run folder {str(target)!r} exists; choose another --name or pass --overwrite"
                )
            marker = read_marker(target) if target.is_dir() and not target.is_symlink() else None
            if marker is None and _legacy_run(target):
                marker = {"status": "complete"}
            if marker is None:
                raise ConfigurationError(
                    f"{str(target)!r} exists and is not a run folder ldnn made (it has no "
                    f"{MARKER}): --overwrite replaces only those; move it away or choose "
                    "another --name"
                )
            if marker.get("status") == "running" and _alive(marker.get("owner")):
                raise ConfigurationError(
                    f"run folder {str(target)!r} is being written by process "
                    f"{marker['owner'].get('pid')}; wait for it or choose another --name"
                )
            aside = target.with_name(f".{target.name}.{os.getpid()}.old")
            _remove(aside, target.parent)
            os.replace(target, aside)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir()
        folder = cls(target, kind, aside, notes)
        folder._mark("running")
        return folder

    @classmethod
    def resume(cls, path) -> RunFolder:
        """Take over an interrupted run folder (marked again "running", by this process).

        Raises
        ------
        ConfigurationError
            If ``path`` is not an ldnn run folder, or is complete, or is being written.
        """
        path = Path(path)
        notes = recover(path.parent)
        marker = read_marker(path) if path.is_dir() else None
        if marker is None:
            raise ConfigurationError(
                f"--resume {str(path)!r}: not a run folder ldnn made (no {MARKER} in it)"
            )
        status = marker.get("status")
        if status == "running" and _alive(marker.get("owner")):
            raise ConfigurationError(
                f"--resume {str(path)!r}: the run is being written by process "
                f"{marker['owner'].get('pid')}"
            )
        if status == "complete":
            raise ConfigurationError(f"--resume {str(path)!r}: the run is complete already")
        folder = cls(path, marker.get("kind", "train"), None, notes)
        folder._mark("running")
        return folder

    def _mark(self, status: str) -> None:
        self.status = status
        owner = _me() if status == "running" else None
        _write_marker(
            self.path,
            kind=self.kind,
            status=status,
            owner=owner,
            updated=datetime.now().isoformat(timespec="seconds"),
        )

    def finish(self, status: str = "complete") -> None:
        """Mark the run ``status`` ("complete" or "interrupted"), and remove the old run
        folder it replaced."""
        self._mark(status)
        if self.aside is not None:
            _remove(self.aside, self.path.parent)
            self.aside = None

    def abandon(self) -> None:
        """After a failure: a folder with a checkpoint stays, marked interrupted;
        otherwise it is removed and the old run folder it was to replace comes back."""
        if (self.path / CHECKPOINT).exists():
            self.finish("interrupted")
            return
        _remove(self.path, self.path.parent)
        if self.aside is not None:
            os.replace(self.aside, self.path)
            self.aside = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None and self.status == "running":
            self.abandon()
