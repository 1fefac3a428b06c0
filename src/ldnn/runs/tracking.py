"""A run in the ecosystem's tracking tools: MLflow and TensorBoard, optional extras.

Each tracker is a training callback (called after every epoch with the epoch's record)
with :meth:`start` (before training: the run's settings and provenance) and
:meth:`finish` (after the run folder is written: its scores and files). ``ldnn train
--mlflow [URI] --tensorboard [DIR]`` uses them; from Python::

    tracker = MlflowTracker("sqlite:///mlflow.db")
    tracker.start(run, "my-run")
    run.fit([tracker]); metrics = run.write(folder)
    tracker.finish(run, folder.path, metrics)

What is logged, by both: the hyperparameters (the resolved config.toml, flattened as
``model.layers``, ``training.learning_rate``, ...), per epoch the training cost and
accuracy (mini-batch means, as history.csv has them), the validation cost and accuracy
and the learning rate, and at the end the scalar scores of metrics.json
(``test.accuracy``, ``test.roc_auc``, ...). MLflow also gets tags (ldnn's version, the
git commit, the data's SHA-256, the run folder) and the run folder's files as
artifacts: the model, config, provenance, metrics, history and pictures.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigurationError, MissingPackageError, TrackingWarning

#: Where ``--mlflow`` without a URI logs: MLflow's own default local store (a SQLite
#: file in the current directory; artifacts under ./mlruns).
DEFAULT_MLFLOW_URI = "sqlite:///mlflow.db"
#: How long :func:`check_tracking_uri` waits for a tracking server to answer, in seconds.
CONNECT_SECONDS = 3.0
#: The ports of the servers a tracking URI may name, where it names none.
_PORTS = {"http": 80, "https": 443, "postgresql": 5432, "mysql": 3306, "mssql": 1433}
#: The epoch record's fields, and what MLflow and TensorBoard call them.
EPOCH_METRICS = {
    "cost": ("train_cost", "cost/train"),
    "accuracy": ("train_accuracy", "accuracy/train"),
    "val_cost": ("val_cost", "cost/validation"),
    "val_accuracy": ("val_accuracy", "accuracy/validation"),
    "learning_rate": ("learning_rate", "learning_rate"),
}
#: The run folder's files that go to MLflow as artifacts, where present.
ARTIFACTS = (
    "model.npz",
    "config.toml",
    "provenance.json",
    "metrics.json",
    "history.csv",
    "columns.csv",
    "learning_curve.png",
    "confusion_matrix.png",
    "decision_boundary.png",
    "weights.png",
    "predicted_vs_actual.png",
    "residuals.png",
)


def flat_settings(config: dict, limit: int = 500) -> dict[str, str | float | int | bool]:
    """{"model.layers": "[32, 16]", "training.learning_rate": 0.01, ...}: the config's
    tables flattened, lists as text (cut at ``limit`` characters)."""
    flat = {}
    for table, values in config.items():
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if isinstance(value, bool | int | float | str):
                flat[f"{table}.{key}"] = value
            else:
                flat[f"{table}.{key}"] = str(value)[:limit]
    return flat


def final_scores(metrics: dict) -> dict[str, float]:
    """The scalar scores of metrics.json: {"train.accuracy": ..., "test.roc_auc": ...}."""
    scores = {}
    for part in ("train", "test"):
        for key, value in metrics.get(part, {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "m":
                scores[f"{part}.{key}"] = float(value)
        for key, value in metrics.get(part, {}).get("macro", {}).items():
            scores[f"{part}.macro_{key}"] = float(value)
    return scores


class Steps:
    """A tracker's step for each epoch it is given: the epoch itself, or one past the
    last step when the epochs start again (an ensemble's next member counts on from the
    one before, so that its curve follows, not overwrites, the last)."""

    def __init__(self):
        self.last = -1

    def __call__(self, epoch: int) -> int:
        self.last = max(epoch, self.last + 1)
        return self.last


def _epoch_values(record: dict, which: int) -> dict[str, float]:
    """The epoch's values by their MLflow (``which`` 0) or TensorBoard (1) names."""
    return {
        names[which]: float(record[key])
        for key, names in EPOCH_METRICS.items()
        if record.get(key) is not None
    }


def check_tracking_uri(uri: str, timeout: float = CONNECT_SECONDS) -> None:
    """Refuse, in one line and within ``timeout`` seconds, a tracking URI MLflow would
    take minutes to give up on (it retries): a SQLite file whose folder is missing or
    takes no files, a file store in such a folder, a server that does not answer. Other
    URIs are left to MLflow.

    Raises
    ------
    ConfigurationError
        Naming the URI and what is wrong with it.
    """
    scheme = urlsplit(uri).scheme.split("+")[0].lower()  # postgresql+psycopg2: postgresql
    problem = None
    if scheme == "sqlite":
        path = uri.split("?")[0][len("sqlite:///") :]
        if path and path != ":memory:":
            problem = _unwritable(Path(path), "the database")
    elif scheme == "file" or (scheme == "" and uri != "databricks"):
        problem = _unwritable(Path(urlsplit(uri).path if scheme else uri), "the store", folder=True)
    elif scheme in _PORTS:
        problem = _unanswered(uri, _PORTS[scheme], timeout)
    if problem:
        raise ConfigurationError(f"--mlflow {uri}: {problem}")


def _unwritable(path: Path, what: str, folder: bool = False) -> str | None:
    """What keeps MLflow from writing the file ``path``, or (``folder``) from making the
    folder ``path`` where it is missing and writing in it; None when nothing does."""
    path = path.absolute()
    try:
        if folder:
            where = next(p for p in (path, *path.parents) if p.exists())  # "/" exists
        else:
            where = path.parent
            if not where.is_dir():
                return f"the folder {where} of {what} does not exist"
            if path.exists() and not path.is_file():
                return f"{what} {path} is not a file"
        if not where.is_dir():
            return f"{what} {path} cannot be made: {where} is not a folder"
        # The one sure test (access() says yes to root): a file made and removed there.
        with tempfile.TemporaryFile(dir=where):
            pass
        if path.is_file():
            with open(path, "ab"):  # opened to append, left as it was
                pass
    except OSError as error:
        return f"cannot write {what} {path} in {where} ({error.strerror or error})"
    return None


def _unanswered(uri: str, default_port: int, timeout: float) -> str | None:
    """Why the server of ``uri`` did not take a connection within ``timeout`` seconds."""
    parts = urlsplit(uri)
    try:
        host, port = parts.hostname, parts.port or default_port
    except ValueError as error:  # a port that is no number
        return str(error)
    if not host:
        return "it names no host"
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        reason = "no answer" if isinstance(error, TimeoutError) else error.strerror or error
        return f"cannot connect to {host}:{port} within {timeout:g} s ({reason})"
    return None


class MlflowTracker:
    """Log a run to MLflow through its client (no global MLflow state is touched).

    Parameters
    ----------
    uri : str
        A tracking URI: ``sqlite:///mlflow.db`` (the default), ``http://host:5000``, ...;
        checked first (:func:`check_tracking_uri`).
    experiment : str
        The MLflow experiment, created when missing.
    """

    def __init__(self, uri: str = DEFAULT_MLFLOW_URI, experiment: str = "ldnn"):
        check_tracking_uri(uri)  # in seconds, before MLflow retries for minutes
        try:
            from mlflow.entities import Metric
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise MissingPackageError("--mlflow needs MLflow: pip install 'ldnn[mlflow]'") from None
        for name in ("mlflow", "alembic"):  # their set-up notes are not the user's news
            logging.getLogger(name).setLevel(logging.WARNING)
        self._Metric = Metric
        self.uri, self.experiment, self.run_id = uri, experiment, None
        self.steps = Steps()
        self.client = self._said(MlflowClient, tracking_uri=uri)

    def start(self, run, name: str) -> None:
        """Open the MLflow run of training run ``run`` (its folder's ``name``).

        Raises
        ------
        ConfigurationError
            Naming the URI, where MLflow cannot open it.
        """
        self._said(self._start, run, name)

    def _said(self, function, *args, **kwargs):
        """``function(...)``, its MLflow error as one line naming the URI."""
        try:
            return function(*args, **kwargs)
        except Exception as error:  # MLflow's errors have no common base outside it
            text = str(error).strip()
            first = text.splitlines()[0] if text else type(error).__name__
            raise ConfigurationError(f"--mlflow {self.uri}: {first}") from None

    def _start(self, run, name: str) -> None:
        found = self.client.get_experiment_by_name(self.experiment)
        experiment_id = (
            found.experiment_id if found else self.client.create_experiment(self.experiment)
        )
        provenance = run.provenance
        tags = {
            "ldnn.version": provenance["ldnn"],
            "ldnn.run_folder": name,
            "ldnn.data_sha256": provenance["data"]["sha256"],
            "ldnn.command": provenance["command"][:5000],
        }
        if provenance.get("git"):
            tags["ldnn.git_commit"] = provenance["git"]["commit"]
            tags["mlflow.source.git.commit"] = provenance["git"]["commit"]
        created = self.client.create_run(experiment_id, run_name=name, tags=tags)
        self.run_id = created.info.run_id
        for key, value in flat_settings(run.config).items():
            self.client.log_param(self.run_id, key, value)

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        if self.run_id is None:  # tracking failed earlier: training goes on without it
            return
        now = int(time.time() * 1000)
        step = self.steps(epoch)
        metrics = [self._Metric(k, v, now, step) for k, v in _epoch_values(record, 0).items()]
        try:
            self.client.log_batch(self.run_id, metrics=metrics)
        except Exception as error:
            warnings.warn(
                f"MLflow stopped taking the run's metrics: {error}", TrackingWarning, stacklevel=2
            )
            self.run_id = None

    def finish(self, run, folder, metrics: dict) -> None:
        """Log the scores and the run folder's files; close the MLflow run."""
        if self.run_id is None:
            return
        now = int(time.time() * 1000)
        scores = [self._Metric(k, v, now, 0) for k, v in final_scores(metrics).items()]
        if scores:
            self.client.log_batch(self.run_id, metrics=scores)
        for name in ARTIFACTS:
            if (Path(folder) / name).is_file():
                self.client.log_artifact(self.run_id, str(Path(folder) / name))
        status = "KILLED" if run.interrupted else "FINISHED"
        self.client.set_terminated(self.run_id, status=status)


class TensorBoardTracker:
    """Write TensorBoard event files: scalars per epoch, the hyperparameters at the end.

    Parameters
    ----------
    logdir : path
        Where the event files go (``runs/<name>/tensorboard`` for ``--tensorboard``).
    """

    def __init__(self, logdir):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise MissingPackageError(
                "--tensorboard needs tensorboardX: pip install 'ldnn[tensorboard]'"
            ) from None
        self.logdir = Path(logdir)
        self._SummaryWriter, self.writer = SummaryWriter, None
        self.steps = Steps()

    def start(self, run, name: str) -> None:
        self.writer = self._SummaryWriter(str(self.logdir))

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        step = self.steps(epoch)
        for tag, value in _epoch_values(record, 1).items():
            self.writer.add_scalar(tag, value, step)

    def finish(self, run, folder, metrics: dict) -> None:
        """The hyperparameters beside the final scores (TensorBoard's HPARAMS tab)."""
        scores = {f"hparam/{k}": v for k, v in final_scores(metrics).items()}
        self.writer.add_hparams(flat_settings(run.config), scores, name="hparams")
        self.writer.close()
