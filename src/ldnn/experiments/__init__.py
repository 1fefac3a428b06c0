"""The notes' claims as experiments anyone can rerun: ``ldnn experiment NAME [--quick]``.

Each experiment is a module with ``run(folder, *, quick, seed) -> dict`` that writes its
CSV results and PNG figures into ``folder`` and returns the report's title, markdown
text and file names. :func:`run_experiment` gives it a run folder (see :mod:`ldnn.runs.folders`:
complete only once ``report.md`` is written beside the results; a failed or killed run
leaves no folder behind).
"""

from __future__ import annotations

import importlib
import os
import platform
import tempfile
import time
from pathlib import Path

from ..errors import ConfigurationError
from ..runs.folders import RunFolder
from .tasks import ranks

#: Experiment name -> module (imported only when run, so the CLI starts fast).
EXPERIMENTS = {
    "depth-vs-width": "depth_vs_width",
    "feature-hierarchy": "feature_hierarchy",
    "hyperparameters": "hyperparameters",
}
REPORT = "report.md"


def run_experiment(
    name: str,
    folder: str | os.PathLike,
    *,
    quick: bool = False,
    seed: int = 0,
    overwrite: bool = False,
    comm=None,
) -> dict:
    """Run experiment ``name`` and write its run folder.

    Parameters
    ----------
    name : str
        One of :data:`EXPERIMENTS`.
    folder : path
        The run folder to create.
    quick : bool
        The small configuration (well under a minute) used by the tests.
    seed : int
        Seeds every network and search; equal seeds give equal results.
    overwrite : bool
        Replace ``folder`` if it exists.
    comm : mpi4py communicator, optional
        Share the experiment's independent runs among these MPI ranks
        (:mod:`ldnn.experiments.tasks`); rank 0 writes ``folder``, the others nothing.

    Returns
    -------
    dict
        ``title``, ``text``, ``files`` (names inside the folder, report first) and
        ``seconds`` (wall-clock run time).
    """
    if name not in EXPERIMENTS:
        raise ConfigurationError(
            f"unknown experiment {name!r}; valid names: {', '.join(EXPERIMENTS)}"
        )
    module = importlib.import_module(f".{EXPERIMENTS[name]}", __name__)
    start = time.perf_counter()
    if comm is not None and comm.Get_rank() != 0:  # its share of the runs, written nowhere
        with tempfile.TemporaryDirectory() as scratch, ranks(comm):
            return module.run(Path(scratch), quick=quick, seed=seed)
    with ranks(comm), RunFolder.create(folder, overwrite=overwrite, kind="experiment") as run:
        result = module.run(run.path, quick=quick, seed=seed)
        result["seconds"] = time.perf_counter() - start
        mode = "quick" if quick else "full"
        listing = "\n".join(f"- `{f}`" for f in result["files"])
        report = (
            f"# {result['title']}\n\n"
            f"`ldnn experiment {name}{' --quick' if quick else ''} --seed {seed}` "
            f"({mode} configuration), {result['seconds']:.1f} s on {platform.machine()} "
            f"with {os.cpu_count()} CPU(s).\n\n"
            f"{result['text'].strip()}\n\nFiles:\n\n{listing}\n"
        )
        (run.path / REPORT).write_text(report)
        run.finish()
    result["files"] = [REPORT, *result["files"]]
    return result


__all__ = ["EXPERIMENTS", "run_experiment"]
