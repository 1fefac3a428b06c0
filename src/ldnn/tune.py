"""Hyperparameter search on Optuna: the search space, one trial's training, the study.

The notes separate the parameters W, b (learned by gradient descent) from the
hyperparameters (alpha, the number of layers L, the units n[l], the optimizer, ...),
which are chosen by trying. This module runs those tries on Optuna, an existing engine:

- a :class:`SearchSpace` says, per hyperparameter, a fixed value, a list of choices or a
  range; the defaults are in :data:`DEFAULT_SPACE` and a TOML file changes them;
- :func:`train_trial` trains one network for a trial, reports the validation value
  after every epoch and raises :class:`optuna.TrialPruned` when the pruner says so;
- :func:`open_study` opens (or joins) a study in an SQLite or PostgreSQL storage with
  heartbeats, so that a worker that dies loses only its running trial, which is failed
  and queued again by the next worker that asks for a trial;
- :func:`summary_rows` and :func:`write_plots` report a study.

A suggestion comes back as the ``[model]`` and ``[training]`` tables of a run's
config.toml, so the best trial is retrained by the same code as ``ldnn train``.
Optuna is imported lazily: ``import ldnn`` does not need it.
"""

from __future__ import annotations

import copy
import math
import os
import socket
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigurationError, LdnnError

#: The default search space. Each entry is a fixed value, a list of choices, or a range
#: ``{low, high, log}`` (integers when low and high are integers).
DEFAULT_SPACE: dict = {
    "learning_rate": {"low": 1e-4, "high": 3e-2, "log": True},
    "hidden_layers": {"low": 1, "high": 3},  # L - 1
    "units": {"low": 16, "high": 256, "log": True},  # n[l] of each hidden layer
    "activation": ["relu", "tanh", "leaky_relu"],
    "optimizer": ["adam", "rmsprop", "momentum"],
    "batch_size": [32, 64, 128, 256],
    "lambd": {"low": 1e-5, "high": 1.0, "log": True},
    "keep_prob": {"low": 0.6, "high": 1.0},
    "epochs": 30,
}

#: Settings of the search itself: the [tune] table of a space file.
DEFAULT_SETTINGS: dict = {
    "objective": "val_accuracy",  # or "val_cost"
    "pruner": "median",  # median, halving or none
    "validation_split": 0.2,  # of the training part, fixed for every trial
    "startup_trials": 5,  # trials the pruner lets finish before it compares
    "warmup_epochs": 3,  # epochs of each trial before it may be pruned
}

OBJECTIVES = {"val_accuracy": "maximize", "val_cost": "minimize"}
PRUNERS = ("median", "halving", "none")
#: Where each searched name lands in a run's config.toml.
_TABLE = {
    "activation": "model",
    "keep_prob": "model",
    "learning_rate": "training",
    "optimizer": "training",
    "batch_size": "training",
    "lambd": "training",
    "epochs": "training",
}
_INTEGER = {"hidden_layers", "units", "batch_size", "epochs"}


class TuneError(LdnnError, ValueError):
    """A study cannot be opened, created or continued as asked."""


def _need_optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigurationError("ldnn tune needs Optuna: pip install 'ldnn[tune]'") from None
    return optuna


@dataclass
class SearchSpace:
    """What each trial may choose, and how the search runs.

    Attributes
    ----------
    space : dict
        name -> fixed value, list of choices, or {"low", "high", "log", "step"}; the names
        of :data:`DEFAULT_SPACE`.
    settings : dict
        The [tune] table: objective, pruner, validation_split, startup_trials,
        warmup_epochs.
    """

    space: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_SPACE))
    settings: dict = field(default_factory=lambda: dict(DEFAULT_SETTINGS))

    @classmethod
    def from_toml(cls, path: str | os.PathLike | None) -> SearchSpace:
        """The defaults, changed by the [space] and [tune] tables of a TOML file."""
        result = cls()
        if path is None:
            return result
        path = Path(path)
        if not path.is_file():
            raise ConfigurationError(f"search space file {str(path)!r} does not exist")
        try:
            with open(path, "rb") as file:
                data = tomllib.load(file)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"{path}: not valid TOML: {error}") from None
        unknown = set(data) - {"space", "tune"}
        if unknown:
            raise ConfigurationError(
                f"{path}: unknown table(s) {sorted(unknown)}; tables: space, tune"
            )
        for table, known, target in (
            ("space", DEFAULT_SPACE, result.space),
            ("tune", DEFAULT_SETTINGS, result.settings),
        ):
            for key, value in data.get(table, {}).items():
                if key not in known:
                    raise ConfigurationError(
                        f"{path}: unknown key {key!r} in [{table}]; keys: {', '.join(known)}"
                    )
                target[key] = value
        result.check(str(path))
        return result

    def check(self, origin: str = "search space") -> None:
        """Raise ConfigurationError for a malformed entry, naming it."""
        for name, spec in self.space.items():
            if isinstance(spec, dict):
                if set(spec) - {"low", "high", "log", "step"} or not {"low", "high"} <= set(spec):
                    raise ConfigurationError(
                        f"{origin}: range {name!r} needs low and high (and optionally log, "
                        f"step), got {spec!r}"
                    )
                low, high = spec["low"], spec["high"]
                if not (isinstance(low, int | float) and isinstance(high, int | float)):
                    raise ConfigurationError(f"{origin}: {name!r} low/high must be numbers")
                if low > high or (spec.get("log") and low <= 0):
                    raise ConfigurationError(
                        f"{origin}: range {name!r} must have 0 < low <= high for log, "
                        f"low <= high otherwise; got low={low}, high={high}"
                    )
            elif isinstance(spec, list) and not spec:
                raise ConfigurationError(f"{origin}: the choices for {name!r} are empty")
        objective, pruner = self.settings["objective"], self.settings["pruner"]
        if objective not in OBJECTIVES:
            raise ConfigurationError(
                f"{origin}: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}"
            )
        if pruner not in PRUNERS:
            raise ConfigurationError(
                f"{origin}: pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}"
            )
        split = self.settings["validation_split"]
        if not isinstance(split, int | float) or not 0 < split < 1:
            raise ConfigurationError(f"{origin}: validation_split must lie in (0, 1), got {split}")

    @property
    def direction(self) -> str:
        return OBJECTIVES[self.settings["objective"]]

    def suggest(self, trial) -> dict:
        """Draw one configuration for ``trial``.

        Returns
        -------
        dict
            ``{"model": {...}, "training": {...}}``: tables to merge into a run's config,
            with ``layers`` = [n1, ..., n[L-1]].
        """
        pick = lambda name: _suggest(trial, name, self.space[name])  # noqa: E731
        depth = pick("hidden_layers")
        config = {"model": {"layers": [_suggest(trial, f"n{l}", self.space["units"])
                                       for l in range(1, depth + 1)]},
                  "training": {}}  # fmt: skip
        for name, table in _TABLE.items():
            value = pick(name)
            config[table][name] = float(value) if name == "keep_prob" else value
        return config

    def config_of(self, params: dict) -> dict:
        """The configuration tables of a finished trial's ``params`` (fixed values added)."""
        values = {
            name: spec for name, spec in self.space.items() if not isinstance(spec, dict | list)
        }
        values.update(params)
        depth = values["hidden_layers"]
        config = {
            "model": {"layers": [int(values[f"n{l}"]) for l in range(1, depth + 1)]},
            "training": {},
        }
        for name, table in _TABLE.items():
            config[table][name] = float(values[name]) if name == "keep_prob" else values[name]
        return config


def _suggest(trial, name: str, spec):
    """One value for ``name``: fixed, categorical or a (log-)uniform range."""
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    if not isinstance(spec, dict):
        return spec
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if name in _INTEGER or name.startswith("n") and name[1:].isdigit():
        return trial.suggest_int(name, int(low), int(high), log=log)
    step = spec.get("step")
    return trial.suggest_float(name, float(low), float(high), log=log, step=step)


def worker_name() -> str:
    """``host:pid``: which process ran a trial, stored with the trial."""
    return f"{socket.gethostname()}:{os.getpid()}"


def train_trial(trial, network, X, Y, validation: tuple, objective: str) -> float:
    """Train ``network`` for ``trial`` and return the last epoch's validation value.

    After every epoch the value of ``objective`` ("val_accuracy" or "val_cost") is
    reported to Optuna; when the pruner judges the trial unpromising against the other
    trials at the same epoch, training stops and :class:`optuna.TrialPruned` is raised.

    Parameters
    ----------
    trial : optuna.Trial
    network : DeepNetwork
    X : ndarray of shape (n[0], m), Y : ndarray of shape (n[L], m)
    validation : (X_val, Y_val)
    objective : str

    Returns
    -------
    float
        The objective at the last epoch (the retrained model runs the same epochs).
    """
    optuna = _need_optuna()
    pruned = []

    def report(epoch: int, record: dict, parameters: dict) -> bool:
        value = record[objective]
        trial.report(float(value), epoch)
        if trial.should_prune():
            pruned.append(epoch)
            return True  # stops training; raised below, outside the training loop
        return False

    with warnings.catch_warnings(), _quiet_numpy():
        warnings.simplefilter("ignore")  # divergence is reported as a failed trial below
        history = network.fit(X, Y, validation_data=validation, callbacks=[report])
    trial.set_user_attr("epochs_run", len(history))
    if pruned:
        raise optuna.TrialPruned(f"pruned after epoch {pruned[0]}")
    if history.stop_reason == "diverged" or not len(history):
        raise TuneError(f"trial {trial.number} diverged: {history.stop_message}")
    last = history.rows()[-1]
    for key in ("val_cost", "val_accuracy"):
        if last.get(key) is not None:
            trial.set_user_attr(key, float(last[key]))
    value = float(last[objective])
    if not math.isfinite(value):
        raise TuneError(f"trial {trial.number}: the validation value is {value}")
    return value


def _quiet_numpy():
    import numpy as np

    return np.errstate(all="ignore")


def make_pruner(settings: dict):
    """The pruner the [tune] table names: median, halving (successive halving) or none."""
    optuna = _need_optuna()
    name = settings["pruner"]
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=settings["startup_trials"], n_warmup_steps=settings["warmup_epochs"]
        )
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=settings["warmup_epochs"])
    return optuna.pruners.NopPruner()


def make_storage(url: str, heartbeat: int = 30):
    """An RDB storage at ``url`` (sqlite:///..., postgresql://...) with heartbeats.

    A running trial records a heartbeat every ``heartbeat`` seconds; one whose worker
    was killed stops beating, and after two intervals the next worker to start a trial
    marks it failed and queues its parameters again (once), so a dead worker loses only
    the trial it was running.
    """
    optuna = _need_optuna()
    storages = optuna.storages
    url = storage_url(url)
    # Several processes on one SQLite file wait for its lock instead of failing at once;
    # a server connection left idle between trials is checked before it is used.
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {
        "pool_pre_ping": True}  # fmt: skip
    try:
        with warnings.catch_warnings():
            # Heartbeats are marked experimental; they are what a killed worker relies on.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            kwargs = {"heartbeat_interval": heartbeat, "grace_period": 2 * heartbeat}
            if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # Optuna >= 4.9
                retry = storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                kwargs["heartbeat_stale_trial_callback"] = retry
            else:
                kwargs["failed_trial_callback"] = storages.RetryFailedTrialCallback(max_retry=1)
            return _create_storage(storages.RDBStorage, url, engine, kwargs)
    except Exception as error:  # SQLAlchemy's errors (and a missing driver) vary by backend
        raise TuneError(f"cannot open storage {redact(url)}: {_first_line(error)}") from None


def open_study(storage, name: str, direction: str, pruner, *, resume: bool, seed=None):
    """Create the study ``name`` in ``storage``, or with ``resume`` join it if it exists.

    Raises
    ------
    TuneError
        If the study exists and ``resume`` is False, or its direction differs.
    """
    optuna = _need_optuna()
    sampler = optuna.samplers.TPESampler(seed=seed)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction=direction,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=resume,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise TuneError(
            f"study {name!r} exists in the storage; pass --resume to continue it "
            "(that is also how further workers join it)"
        ) from None
    actual = study.direction.name.lower()
    if actual != direction:
        raise TuneError(
            f"study {name!r} was created to {actual} its objective, but this run would "
            f"{direction} it: use the same objective"
        )
    return study


def counted_trials(study) -> int:
    """Trials that count towards --trials: finished, pruned, running or queued (not failed)."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    return len(study.get_trials(deepcopy=False, states=states))


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
    """A plain text table of ``rows`` (dicts with the same keys)."""
    if not rows:
        return "(no trials)"
    rows = rows[:limit] if limit else rows
    header = list(rows[0])

    def cell(value) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, dict | list):
            return "range"
        return str(value)

    table = [header, *([cell(r.get(k)) for k in header] for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def write_plots(study, folder: Path) -> list[str]:
    """Optuna's optimisation history and parameter importances as PNGs in ``folder``.

    Returns the names written; importances need two finished trials that differ, so
    with fewer only the history is drawn.
    """
    _need_optuna()
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
        temporary = folder / f".{name}.tmp.png"
        figure.savefig(temporary, dpi=100)
        os.replace(temporary, folder / name)
        plt.close(figure)
        written.append(name)
    return written


def _create_storage(make, url: str, engine: dict, kwargs: dict, tries: int = 5):
    """``make(url, ...)``, tried again when workers race to create the tables.

    The first use of an empty database creates Optuna's tables; two workers started
    together both try, and on PostgreSQL the slower one fails on a unique constraint.
    A moment later the tables are there and opening succeeds.
    """
    import sqlalchemy.exc

    for attempt in range(tries):
        try:
            return make(url, engine_kwargs=engine, **kwargs)
        except sqlalchemy.exc.SQLAlchemyError:
            if attempt == tries - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def storage_url(url: str) -> str:
    """``postgresql://`` with the driver that is installed made explicit.

    SQLAlchemy's default driver for a bare ``postgresql://`` is psycopg2 before 2.1 and
    psycopg 3 from 2.1 on; ``ldnn[tune]`` installs psycopg2, so name whichever is there.
    """
    if not url.startswith(("postgresql://", "postgres://")):
        return url
    import importlib.util

    rest = url.split("://", 1)[1]
    for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://{rest}"
    return url


def redact(url: str) -> str:
    """``url`` with any password replaced by ***, for messages."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    if ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}://{credentials}@{host}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
