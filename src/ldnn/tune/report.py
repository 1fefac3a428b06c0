"""What a study reports: one row per trial, and Optuna's pictures of the search."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..io import tables
from ..runs.plots import save_png
from .space import SearchSpace
from .study import need_optuna


def summary_rows(study, space: SearchSpace) -> list[dict]:
    """One row per trial: number, state, value, the epochs run and kept (up to the best
    one), seconds, worker and the params."""
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
            "kept_epochs": trial.user_attrs.get("kept_epochs"),
            "seconds": None if seconds is None else round(seconds, 2),
            "worker": trial.user_attrs.get("worker", ""),
        }
        for name in names:
            # a fixed setting shows its value; one this trial did not draw (another
            # optimizer's, a layer it does not have) shows nothing
            fixed = space.space.get(name)
            row[name] = trial.params.get(name, None if isinstance(fixed, dict | list) else fixed)
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


#: Below this many finished trials the importance picture carries a caveat.
FEW_TRIALS = 20


def caveat(finished: int) -> str:
    """The subtitle of an importance picture drawn from ``finished`` complete trials."""
    return f"from {finished} finished trials: a rough guide, not a ranking"


def study_figures(study) -> dict:
    """Optuna's optimisation history and parameter importances as matplotlib Figures.

    Returns ``{file name: Figure}``; importances need two finished trials that differ, so
    with fewer only the history is there. From fewer than ``FEW_TRIALS`` complete trials
    the importance figure gets a subtitle saying it is a rough guide: the importances
    are fitted to those few points and change from one study to the next. The caller
    closes the figures (they are pyplot figures, Optuna draws through pyplot).
    """
    need_optuna()
    import matplotlib

    matplotlib.use("Agg")
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as vis

    finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    figures = {}
    plots = (
        ("history.png", vis.plot_optimization_history),
        ("importance.png", vis.plot_param_importances),
    )
    for name, plot in plots:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the matplotlib backend is "experimental"
            try:
                axes = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # too few finished trials for this picture
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(8, 5)
        if name == "importance.png" and finished < FEW_TRIALS:
            figure.suptitle(caveat(finished), color="firebrick", fontsize="medium")
        figure.tight_layout()
        figures[name] = figure
    return figures


def write_plots(study, folder: Path) -> list[str]:
    """Optuna's optimisation history and parameter importances as PNGs in ``folder``.

    Returns the names written; importances need two finished trials that differ, so
    with fewer only the history is drawn (see :func:`study_figures`, which also says
    when the importance picture carries a caveat).
    """
    figures = study_figures(study)
    import matplotlib.pyplot as plt

    written = []
    try:
        for name, figure in figures.items():
            save_png(figure, folder / name)
            written.append(name)
    finally:
        for figure in figures.values():
            plt.close(figure)  # pyplot keeps every figure it made until it is closed
    return written
