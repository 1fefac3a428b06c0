"""Studies on Optuna's storages (SQLite or PostgreSQL) shared by any number of workers:
the storage with heartbeats, the study, the pruner, and which trials count."""

from __future__ import annotations

import os
import socket
import time
import warnings

from ..errors import MissingPackageError, TuneError


def need_optuna():
    """The optuna module, or a clear error saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise MissingPackageError("ldnn tune needs Optuna: pip install 'ldnn[tune]'") from None
    return optuna


def worker_name() -> str:
    """``host:pid``: which process ran a trial, stored with the trial."""
    return f"{socket.gethostname()}:{os.getpid()}"


def make_pruner(settings: dict):
    """The pruner the [tune] table names: median, halving (successive halving) or none."""
    optuna = need_optuna()
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
    optuna = need_optuna()
    storages = optuna.storages
    url = storage_url(url)
    # Several processes on one SQLite file wait for its lock instead of failing at once;
    # a server connection left idle between trials is checked before it is used.
    engine = (
        {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    )
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
    optuna = need_optuna()
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
    """Trials that count towards --trials: finished, pruned or running. Not failed ones,
    and not queued ones (the starting points, a dead worker's trial queued again): a
    worker runs those first, and they count once they run."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    return len(study.get_trials(deepcopy=False, states=states))


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
