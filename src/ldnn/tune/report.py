"""What a study reports: one row per trial, and Optuna's pictures of the search."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..io import tables
from ..plots import save_png
from .space import SearchSpace
from .study import need_optuna


def summary_rows(study, space: SearchSpace) -> list[dict]:
    """One row per trial: number, state, value, worker, seconds, epochs and the params."""
    names = [n for n in space.space if n != "units"]
    max_depth = max((t.params.get("hidden_layers", 0) for t in study.trials), default=0)
    names += [f"n{l}" for l in range(1, max_depth + 1)]
    rows = []
    for trial in study.trials:
        seconds = None
        if trial.datetime_start and trial.datetime_complete:
            seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
        row = {
            "number": trial.number,
            "state": trial.state.name.lower(),
            "value": trial.value,
            "epochs_run": trial.user_attrs.get("epochs_run"),
            "seconds": None if seconds is None else round(seconds, 2),
            "worker": trial.user_attrs.get("worker", ""),
        }
        for name in names:
            row[name] = trial.params.get(name, space.space.get(name))
        rows.append(row)
    return rows


def format_table(rows: list[dict], limit: int | None = None) -> str:
    """A plain text table of ``rows`` (dicts with the same keys), the first ``limit``."""
    if not rows:
        return "(no trials)"
    rows = rows[:limit] if limit else rows
    header = list(rows[0])

    def cell(value) -> str:
        if isinstance(value, dict | list):
            return "range"
        return tables.cell(value, "{:.4g}")

    return tables.text_table(header, ([cell(r.get(k)) for k in header] for r in rows))


def write_plots(study, folder: Path) -> list[str]:
    """Optuna's optimisation history and parameter importances as PNGs in ``folder``.

    Returns the names written; importances need two finished trials that differ, so
    with fewer only the history is drawn.
    """
    need_optuna()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    written = []
    plots = (("history.png", vis.plot_optimization_history), ("importance.png",
             vis.plot_param_importances))  # fmt: skip
    for name, plot in plots:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the matplotlib backend is "experimental"
            try:
                axes = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # too few finished trials for this picture
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        save_png(figure, folder / name)
        plt.close(figure)
        written.append(name)
    return written
