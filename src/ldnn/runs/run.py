"""The ``ldnn train`` job as a library: a configuration in, a run folder out.

A :class:`TrainingRun` reads the data its [data] table names, prepares them (fitted on
the training part only), builds the network its [model] and [training] tables describe,
trains it and scores it on both parts. In its run folder (:class:`ldnn.runs.folders.RunFolder`)
it writes the fully resolved ``config.toml`` when it starts (which reruns the same run
bit for bit), ``checkpoint.npz`` now and then while it trains, and at the end
``model.npz``, ``history.csv``, ``metrics.json`` and the pictures. Stopped between two
steps (a signal), it writes all of those and a checkpoint, and
:meth:`TrainingRun.resume` continues it to the numbers of a run that never stopped.
The command line (``ldnn train``) and the search (``ldnn tune``, which retrains its best
trial) both run it.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from ..data.class_weights import class_weights
from ..data.hash_split import validation_held_out
from ..data.shared_stats import summed
from ..errors import ConfigurationError, DivergenceWarning, InvalidValueError, ModelFileError
from ..io import atomic_write_text, csv_text, dumps_toml
from ..io.tables import printable
from ..model.ensemble import merge as merge_members
from ..model.network import DeepNetwork
from ..training.history import History
from . import members as ensemble
from .config import data_and_network, ensemble_size, from_file, resolved
from .folders import CHECKPOINT, RunFolder
from .predictions import score_outputs
from .provenance import FILE as PROVENANCE
from .provenance import provenance
from .run_callbacks import Checkpoints, WatchTestCost
from .run_pictures import run_pictures
from .shared_scores import shared_scores

MODEL_FILE = "model.npz"
CONFIG_FILE = "config.toml"


class TrainingRun:
    """One run: data, preparation and network from ``config``; then :meth:`start` in a
    run folder, :meth:`fit`, :meth:`write`.

    Parameters
    ----------
    config : dict
        The [data], [model] and [training] tables (see :mod:`ldnn.runs.config`).

    Attributes
    ----------
    raw : Dataset
        The data as read, before preparation.
    dataset : Dataset
        The prepared data the network trains on.
    info : dict
        What the model remembers of its data (saved as ``metadata["data"]``).
    network : DeepNetwork
    config : dict
        ``config`` with every choice made explicit (what config.toml holds).
    history : History or None
    seconds : float
        Training time, a resumed run's earlier time included.
    test_costs : list of float
        The test part's cost after every epoch.
    warnings : list of str
        The warnings :meth:`fit` caught (the divergence guard's, printed by the CLI).
    metrics : dict or None
        What :meth:`write` wrote to metrics.json.
    """

    def __init__(self, config: dict, command=None):
        self.raw, self.dataset, self.info, self.network = data_and_network(config)
        hp = self.network.hyperparameters
        self.ensemble = ensemble_size(config["training"], self.dataset, hp)
        self.config = resolved(config, hp, self.ensemble)
        self.members: list[DeepNetwork] = []  # an ensemble's finished members
        self.kept_outputs: dict = {}  # each part's (A[L], Y) while write() draws them
        if self.raw.encoding is not None:  # a table: its target and columns, explicit
            self.config["data"].update(
                target=self.raw.target, features=[r.name for r in self.raw.encoding.rules]
            )
        self.provenance = provenance(config, self.raw, command)
        self._data = self.provenance["data"]  # the data as found now (start() may replace it)
        self.history: History | None = None
        self.seconds = 0.0
        self.test_costs: list[float] = []
        self.warnings: list[str] = []
        self.metrics: dict | None = None
        self._watch, self._started = None, None

    @classmethod
    def resume(cls, folder) -> TrainingRun:
        """The run of ``folder``'s config.toml, from its checkpoint if it has one (a run
        killed before its first checkpoint starts again, to the same numbers)."""
        folder = Path(folder)
        run = cls(from_file(folder / CONFIG_FILE))
        if run.ensemble > 1:
            run.members = ensemble.load_members(run.config, run.dataset, folder, run.ensemble)
            run.network = run._next_member()
        checkpoint = folder / CHECKPOINT
        if checkpoint.exists():
            network = DeepNetwork.load(checkpoint)
            member = network.metadata.get("progress", {}).get("member", 0)
            if member != len(run.members):  # a finished member's older checkpoint
                if member in range(len(run.members)):
                    return run
                raise ModelFileError(f"{checkpoint}: its run progress is damaged")
            if network.hyperparameters != run.network.hyperparameters:
                raise ModelFileError(
                    f"{checkpoint} does not hold the network of {folder / CONFIG_FILE}"
                )
            progress = network.metadata.pop("progress", {})
            costs, seconds = progress.get("test_costs", []), progress.get("seconds", 0.0)
            if not (
                isinstance(costs, list)
                and all(isinstance(c, int | float) for c in costs)
                and isinstance(seconds, int | float)
            ):
                raise ModelFileError(f"{checkpoint}: its run progress is damaged")
            run.network, run.test_costs, run.seconds = network, costs, float(seconds)
            run.history = network.history
        return run

    @property
    def epochs_left(self) -> int:
        """Epochs still to train, an interrupted one counted."""
        return self.network.hyperparameters.epochs - self.network.epochs_trained

    def start(self, folder: RunFolder) -> None:
        """Write config.toml and provenance.json into a new run folder (a resumed run
        keeps its own: they say how it began)."""
        path = folder.path / CONFIG_FILE
        if not path.exists():
            comment = f"ldnn run {folder.path.name}: rerun with `ldnn train --config config.toml`"
            atomic_write_text(path, dumps_toml(self.config, comment))
        record = folder.path / PROVENANCE
        if record.exists():
            self.provenance = json.loads(record.read_text())
        else:
            atomic_write_text(record, json.dumps(self.provenance, indent=2) + "\n")

    def fit(
        self, callbacks=(), *, stop=None, checkpoints: Checkpoints | None = None, comm=None
    ) -> History:
        """Train (on from the checkpoint, for a resumed run), recording the test cost
        per epoch when there is a test part; ``stop`` and ``checkpoints`` as
        :meth:`ldnn.DeepNetwork.fit` and :class:`Checkpoints` take them. With ``comm``
        (mpi4py), this is one rank of data-parallel training: it trains on its share
        of the training part (:meth:`shares`), and only rank 0 watches the test cost.

        An ensemble's members train one after another (:mod:`ldnn.runs.members`); once
        the last is done the network is their average, and the history and test costs
        are the last member's."""
        if self.ensemble > 1 and len(self.members) == self.ensemble:
            return self.history  # every member trained: the network is their average
        while True:
            history = self._fit_member(callbacks, stop, checkpoints, comm)
            if self.ensemble == 1 or self.interrupted:
                return history
            self.members.append(self.network)
            if len(self.members) == self.ensemble:
                for member in self.members:  # what a member was loaded with: write() says it
                    member.metadata = {}
                self.network = merge_members(self.members)
                return history
            self.network, self.test_costs = self._next_member(), []

    def _next_member(self) -> DeepNetwork:
        return ensemble.member_network(self.config, self.dataset, len(self.members))

    def _fit_member(self, callbacks, stop, checkpoints, comm) -> History:
        data, network = self.dataset, self.network
        callbacks = list(callbacks)
        self._watch = None
        if comm is not None:  # every rank stops, at once, where they were given different runs
            from ..training.mpi import MPIRanks

            hint = ": start every rank with the same data and settings"
            MPIRanks(comm).agree(self.alike(), hint)
        resuming = network.epochs_trained > 0 or network.unfinished is not None
        arguments = self.shares(comm, resuming)
        if data.X_test is not None and (comm is None or comm.Get_rank() == 0 or data.ranks):
            watch = WatchTestCost(network, data.X_test, data.Y_test, self.test_costs, data.ranks)
            self._watch = watch
            callbacks.insert(0, self._watch)
        if checkpoints is not None:
            callbacks.append(checkpoints)
        self._started = (time.perf_counter(), self.seconds)
        # A diverging run overflows on its way to the guard, which reports it once.
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always", DivergenceWarning)
            if self.epochs_left > 0:
                self.history = network.fit(
                    callbacks=callbacks,
                    stop=stop,
                    warm_start=resuming,
                    epochs=self.epochs_left if resuming else None,
                    comm=comm,
                    **arguments,
                )
        self.seconds = self._elapsed()
        self.test_costs = [] if self._watch is None else self._watch.costs
        self.warnings = [str(w.message) for w in caught]
        self._started = None
        return self.history

    def alike(self) -> dict:
        """What every MPI rank of this run must hold alike, in the order it is compared:
        the prepared training part's shape, the data's (and labels') SHA-256, then the
        resolved configuration but for where the data files are (ranks on other machines
        may find the same files at other paths; only rank 0 reads a test file)."""
        data = self._data
        alike = {
            "training data of shape": (self.dataset.n_features, self.dataset.m_train),
            "data of sha256": data["sha256"][:16],
        }
        if "labels" in data:
            alike["labels of sha256"] = data["labels"]["sha256"][:16]
        for table, values in self.config.items():
            for key, value in values.items() if isinstance(values, dict) else ():
                if table != "data" or key not in ("source", "labels", "test_data"):
                    alike[f"[{table}] {key}"] = value
        return alike

    def shares(self, comm, resuming: bool) -> dict:
        """network.fit's data: the training part (X, Y, sample_weight) for one process;
        with ``comm``, this rank's consecutive block (:func:`ldnn.training.mpi.share`) of the
        examples one process would train on, and of the validation part it would hold
        out, drawn here as fit draws it (from the seed's generator, which then goes on
        to the initialisation): so any number of ranks trains as one process does.
        After a split by hash the validation part is held out by a hash too, on one
        process as on ranks (:func:`~ldnn.data.hash_split.validation_held_out`), and
        where each rank holds its own examples (``Dataset.ranks``) they are its share."""
        data, hp = self.dataset, self.network.hyperparameters
        X, Y, weights = data.X_train, data.Y_train, self.sample_weight()
        hashed = data.train_keys is not None and hp.validation_split > 0
        if comm is None and not hashed:
            return {"X": X, "Y": Y, "sample_weight": weights}
        kept, held, rng = np.arange(X.shape[1]), None, None
        if hashed:
            out = validation_held_out(data.train_keys, hp.validation_split, hp.seed)
            kept, held = np.flatnonzero(~out), np.flatnonzero(out)
            _check_validation_part(held.size, kept.size, hp.validation_split, data.ranks)
        elif hp.validation_split > 0:
            from ..training.fit import validation_indices

            rng = np.random.default_rng(hp.seed)
            prepared = self.network.check_data(X, Y, keep_labels=True)[1]
            kept, held = validation_indices(hp, prepared, rng)
        mine, theirs = kept, held
        if comm is not None and data.ranks is None:  # every rank holds every example
            from ..training.mpi import share

            size, rank = comm.Get_size(), comm.Get_rank()
            mine = kept[share(len(kept), size, rank)]
            theirs = None if held is None else held[share(len(held), size, rank)]
        arguments = {"X": X[:, mine], "Y": Y[..., mine]}
        arguments["sample_weight"] = None if weights is None else weights[mine]
        if theirs is not None:
            arguments["validation_data"] = (X[:, theirs], Y[..., theirs])
        if not resuming:  # a resumed fit goes on with the checkpoint's generator
            arguments["rng"] = rng
        return arguments

    def sample_weight(self):
        """Each training example's weight from [data] class_weight (None: all 1)."""
        return class_weights(self.dataset, self.config["data"].get("class_weight"))

    def decisions(self) -> list[tuple[str, str, str]]:
        """(column, kind, what was done) for each column of a table; none for arrays."""
        encoding = self.dataset.encoding
        if encoding is None:
            return []
        rows = [(self.dataset.target, "target", f"{self.dataset.task}")]
        return rows + encoding.decisions(self.config["data"]["standardize"])

    def _elapsed(self) -> float:
        if self._started is None:
            return self.seconds
        start, before = self._started
        return before + time.perf_counter() - start

    def save_checkpoint(self, path) -> None:
        """The network as it stands, with the run's own progress (test costs, time)."""
        network = self.network
        kept = network.metadata
        costs = self.test_costs if self._watch is None else self._watch.costs
        progress = {"test_costs": list(costs), "seconds": self._elapsed()}
        if self.ensemble > 1:  # the finished members first, then the one under way
            ensemble.save_members(self.members, Path(path).parent)
            progress["member"] = len(self.members)
        network.metadata = {"data": self.info, "progress": progress}
        try:
            network.save(path)
        finally:
            network.metadata = kept

    @property
    def interrupted(self) -> bool:
        return self.history is not None and self.history.stop_reason == "interrupted"

    def part_scores(self) -> dict:
        """Each part's scores ({"train": ..., "test": ...}), its outputs (A[L], Y) kept for
        the pictures. Where MPI ranks hold the parts together (``Dataset.ranks``), every
        rank calls it at once, each computing its own examples' outputs, and the scores
        are summed across the ranks (:mod:`ldnn.runs.shared_scores`: rank 0 gets them,
        the others None); the outputs kept are this rank's. A test part whose outputs
        overflow gets its error instead."""
        data, scores = self.dataset, {}
        self.kept_outputs = {}
        for part in ("train", "test") if data.X_test is not None else ("train",):
            X, Y = (data.X_train, data.Y_train) if part == "train" else (data.X_test, data.Y_test)
            try:
                self.kept_outputs[part] = AL, Y = self._outputs(X), Y
                if data.ranks is None:
                    scores[part] = score_outputs(AL, Y, self.info)
                else:
                    scores[part] = shared_scores(AL, Y, self.info, data.ranks)
            except InvalidValueError as error:  # outputs overflow on the test part
                if part == "train":
                    raise
                scores[part] = {"m": data.m_test, "error": str(error)}
        return scores

    def _outputs(self, X):
        """A[L] of X; where ranks hold the part together, an overflow on any rank raises
        on every rank (they agree before going on)."""
        ranks = self.dataset.ranks
        if ranks is None:
            return self.network.predict_proba(X)
        AL, error = np.empty((self.network.layer_dims[-1], 0)), None
        try:
            AL = self.network.predict_proba(X) if X.shape[1] else AL
        except InvalidValueError as overflow:
            error = str(overflow)
        said = [e for e in ranks.allgather(error) if e is not None]
        if said:
            raise InvalidValueError(said[0])
        return AL

    def scores(self) -> dict:
        """metrics.json's scores: each part's, then how training ended."""
        history = self.history
        scores = self.part_scores()
        metrics = {
            **scores,
            "validation": validation_scores(history),
            "layer_dims": list(self.network.layer_dims),
            "epochs_run": len(history),
            "stop_reason": history.stop_reason,
            "best_epoch": history.best_epoch,
            "train_seconds": round(self.seconds, 3),
        }
        if metrics["validation"] is None:
            del metrics["validation"]
        unseen = (self.raw.test_unexpected or {}).get("unseen")
        if unseen and "test" in metrics:  # what the test part's scores rest on, never silent
            metrics["test"]["unseen_categories"] = unseen
            said = ", ".join(f"{printable(name)} {n:,}" for name, n in list(unseen.items())[:8])
            warning = (
                f"the test part holds categories the training part did not: {said} "
                "(all zeros, or (other) where pooled)"
            )
            self.warnings += [warning] if warning not in self.warnings else []
        one_class = one_class_warnings(scores)
        if one_class:
            metrics["warnings"] = one_class
            self.warnings += [w for w in one_class if w not in self.warnings]
        if self.interrupted:
            where = self.network.unfinished.position
            metrics["interrupted_at"] = {"epoch": where.epoch, "step": where.step}
            if self.ensemble > 1:
                metrics["interrupted_at"]["member"] = len(self.members) + 1
        if self.ensemble > 1:
            finished = self.members if not self.interrupted else self.members + [self.network]
            metrics["ensemble"] = ensemble.summary(finished, self.config["training"]["seed"])
        if self.raw.reference:
            metrics["reference"] = self.raw.reference
        return metrics

    def write(self, folder: RunFolder, *, pictures: bool = True, test_curve: bool = False) -> dict:
        """Write the run's files into ``folder`` (each atomically) and mark it complete,
        or interrupted with a fresh checkpoint; return the metrics. ``test_curve`` adds
        the test cost per epoch to the learning curve (labelled for reporting only)."""
        path = folder.path
        metrics = self.scores()
        if self.interrupted:
            self.save_checkpoint(path / CHECKPOINT)
        self.network.metadata = {"data": self.info, "run": path.name, "provenance": self.provenance}
        self.network.save(path / MODEL_FILE)
        atomic_write_text(path / "history.csv", history_csv(self.history, self.test_costs))
        if self.decisions():
            atomic_write_text(
                path / "columns.csv", csv_text(("column", "kind", "done"), self.decisions())
            )
        metrics["pictures"] = run_pictures(self, path, metrics, test_curve) if pictures else []
        self.kept_outputs = {}
        atomic_write_text(path / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        self.metrics = metrics
        if self.interrupted:
            folder.finish("interrupted")
        else:
            (path / CHECKPOINT).unlink(missing_ok=True)  # model.npz holds all of it
            ensemble.remove_members(path, self.ensemble)
            folder.finish("complete")
        return metrics


def one_class_warnings(scores: dict) -> list[str]:
    """What to say of a classifier that predicts the same class for every example of a
    part: it has learned the majority, whatever its accuracy says."""
    said = []
    for part in ("train", "test"):
        matrix = np.asarray(scores.get(part, {}).get("confusion_matrix", []))
        if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.sum() < 2:
            continue
        predicted = np.flatnonzero(matrix.sum(axis=0))
        if predicted.size == 1:
            name = scores[part]["classes"][predicted[0]]
            said.append(
                f"the model predicts {name!r} for every {part} example (accuracy "
                f"{scores[part]['accuracy']:.1%} is that class's share): it has learned no "
                "more than the majority; try another learning rate, initialisation or "
                "--standardize"
            )
    return said


def validation_scores(history: History) -> dict | None:
    """The validation part's cost and accuracy at the epoch whose parameters were kept
    (the best epoch under early stopping, else the last); None without a validation part."""
    rows = [r for r in history.rows() if r.get("val_cost") is not None]
    if not rows:
        return None
    kept = next((r for r in rows if r["epoch"] == history.best_epoch), rows[-1])
    return {"epoch": kept["epoch"], "cost": kept["val_cost"], "accuracy": kept["val_accuracy"]}


def history_csv(history: History, test_costs: list) -> str:
    """One row per epoch: the History's columns, then the test cost (empty without one).
    ``clipped`` appears only for a run that clips its gradients."""
    clipping = any(v is not None for v in history.clipped)
    columns = [c for c in history.COLUMNS if c != "clipped" or clipping]
    rows = (
        [*(row[c] for c in columns), test_costs[k] if k < len(test_costs) else None]
        for k, row in enumerate(history.rows())
    )
    return csv_text([*columns, "test_cost"], rows)


def _check_validation_part(held: int, kept: int, fraction: float, ranks) -> None:
    """Refuse a validation part held out by hash that is empty, or leaves no training
    examples (the counts of all ranks, where they hold the part together)."""
    if ranks is not None:
        held, kept = summed(ranks, held), summed(ranks, kept)
    if not held or not kept:
        raise ConfigurationError(
            f"validation_split {fraction} holds out {held} of the {held + kept} training "
            "examples (--split hash holds each out with that probability): choose another "
            "--val-split, or 0 for none",
            field="validation_split",
        )
