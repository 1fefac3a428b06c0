"""What made a run: the code, the libraries, the machine's threads, the command, the data
(as given, its size and SHA-256), the resolved features and the split.

:func:`provenance` gathers it as plain JSON; a run writes it to ``provenance.json`` when
it starts and keeps it in its model's metadata, so a model file says where it came from.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from .._version import __version__
from ..base.threads import blas_info, current
from ..data.datasets import Dataset
from ..io import arrays_sha256, file_sha256

FILE = "provenance.json"
#: The installed packages whose versions a run records (numpy's always).
LIBRARIES = ("scipy", "scikit-learn", "pyarrow", "matplotlib", "cupy-cuda12x", "threadpoolctl")


def git_commit(folder: str | os.PathLike | None = None) -> dict | None:
    """{"commit", "dirty"} of the git checkout ``folder`` (default: ldnn's own source) is
    in, or None where it is not a checkout or git is missing."""
    folder = Path(folder or Path(__file__).parent)

    def git(*args) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(changes)}


def data_provenance(data: dict, dataset: Dataset) -> dict:
    """The data as given in the [data] table, and what identifies it."""
    source = data.get("source", "")
    if not Path(source).is_file():  # a built-in set: its arrays identify it
        arrays = [
            a
            for a in (dataset.X_train, dataset.Y_train, dataset.X_test, dataset.Y_test)
            if a is not None
        ]
        return {"source": source, "built_in": True, "sha256": arrays_sha256(*arrays)}
    found = {
        "source": source,
        "path": str(Path(source).resolve()),
        "bytes": Path(source).stat().st_size,
        "sha256": dataset.sha256 or file_sha256(source),
    }
    labels = data.get("labels")
    if labels and Path(labels).is_file():
        found["labels"] = {
            "source": labels,
            "bytes": Path(labels).stat().st_size,
            "sha256": file_sha256(labels),
        }
    return found


def provenance(config: dict, dataset: Dataset, command=None, threads: int | None = None) -> dict:
    """Plain JSON saying what made a run of ``config`` on ``dataset`` (before preparation).

    Parameters
    ----------
    command : list of str, optional
        The command line (default: this process's ``sys.argv``).
    threads : int, optional
        The BLAS thread count (default: the count in force, :func:`ldnn.base.threads.current`).
    """
    command = sys.argv if command is None else command
    libraries = {"numpy": np.__version__}
    for name in LIBRARIES:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    encoding = dataset.encoding
    return {
        "ldnn": __version__,
        "git": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": libraries,
        "blas": blas_info(),
        "threads": threads or current(),
        "command": shlex.join(str(c) for c in command),
        "cwd": os.getcwd(),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
        "data": data_provenance(config["data"], dataset),
        "columns": [r.name for r in encoding.rules] if encoding is not None else None,
        "features": list(dataset.feature_names),
        "split": dataset.split or {"built_in": True},
    }


def recorded_threads(folder) -> int | None:
    """The BLAS thread count a run folder's provenance.json records (None where it has
    none): what a resumed run must use to end with the numbers of one that never stopped."""
    try:
        threads = json.loads((Path(folder) / FILE).read_text()).get("threads")
    except (OSError, ValueError, AttributeError):
        return None
    whole = isinstance(threads, int) and not isinstance(threads, bool)
    return threads if whole and threads > 0 else None
