"""Run folders: where a run goes, and how it appears there whole.

A run folder ``runs/<name>/`` is built under a temporary name beside it and renamed into
place only when everything in it is written, so a crash or Ctrl-C never leaves a
half-written run.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .errors import ConfigurationError


def default_run_name(data: str) -> str:
    """``<data>-<date>-<time>``, with the data set's name made safe for a folder."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(data).stem if "." in data else data)
    return f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


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
        If the named folder exists and ``overwrite`` is False.
    """
    runs_dir = Path(runs_dir)
    target = runs_dir / name if name else free_path(runs_dir, default_run_name(data))
    if target.exists() and not overwrite:
        raise ConfigurationError(
            f"run folder {str(target)!r} exists; choose another --name or pass --overwrite"
        )
    return target


@contextmanager
def run_folder(target: str | os.PathLike, *, overwrite: bool = False):
    """Yield a temporary folder; on success rename it to ``target``, on failure remove it.

    Raises
    ------
    ConfigurationError
        If ``target`` exists and ``overwrite`` is False (checked before and after).
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise ConfigurationError(
            f"run folder {str(target)!r} exists; choose another --name or pass --overwrite"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield temporary
        if target.exists():
            if not overwrite:
                raise ConfigurationError(f"run folder {str(target)!r} appeared while training")
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(temporary, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
