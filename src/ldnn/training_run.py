"""The ``ldnn train`` job as a library: a configuration in, a run folder out.

A :class:`TrainingRun` reads the data its [data] table names, prepares them (fitted on
the training part only), builds the network its [model] and [training] tables describe,
trains it, scores it on both parts and writes the run folder: ``model.npz``, the fully
resolved ``config.toml`` (which reruns the same run bit for bit), ``history.csv``,
``metrics.json`` and the pictures. The command line (``ldnn train``) and the search
(``ldnn tune``, which retrains its best trial) both run it.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from .backend import get_xp, to_device
from .config import network_from_config, resolved
from .data.preparation import Preparation, prepare
from .data.sources import load_training_data
from .errors import DivergenceWarning
from .history import History
from .io import csv_text, dumps_toml
from .losses import get_loss
from .metrics import class_probabilities, cost_and_accuracy
from .predictions import score_network
from .runs import run_folder

MODEL_FILE = "model.npz"


class WatchTestCost:
    """Callback recording the test part's cost after every epoch, for the learning curve
    only: nothing is decided on it. The test data are prepared once, and moved once to
    the device the parameters live on."""

    def __init__(self, network, X_test, Y_test):
        hp = network.hyperparameters
        self.data = network.check_data(X_test, Y_test, "X_test", "Y_test")
        self.activations, self.loss = hp.activations, get_loss(hp.loss)
        self.costs: list[float] = []

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        xp = get_xp(parameters["W1"])
        self.data = tuple(to_device(a, xp) for a in self.data)
        self.costs.append(cost_and_accuracy(parameters, *self.data, self.activations, self.loss)[0])


class TrainingRun:
    """One run: data, preparation and network from ``config``; :meth:`fit`, then :meth:`write`.

    Parameters
    ----------
    config : dict
        The [data], [model] and [training] tables (see :mod:`ldnn.config`).

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
    warnings : list of str
        The warnings :meth:`fit` caught (the divergence guard's, printed by the CLI).
    metrics : dict or None
        What :meth:`write` wrote to metrics.json.
    """

    def __init__(self, config: dict):
        self.raw = load_training_data(config["data"])
        self.dataset, self.info = prepare(self.raw, config["data"]["standardize"])
        self.network = network_from_config(config, self.dataset)
        self.config = resolved(config, self.network.hyperparameters)
        self.history: History | None = None
        self.seconds = 0.0
        self.test_costs: list[float] = []
        self.warnings: list[str] = []
        self.metrics: dict | None = None

    def fit(self, callbacks=()) -> History:
        """Train, recording the test cost per epoch when there is a test part."""
        data = self.dataset
        callbacks = list(callbacks)
        watch = None
        if data.X_test is not None:
            watch = WatchTestCost(self.network, data.X_test, data.Y_test)
            callbacks.insert(0, watch)
        start = time.perf_counter()
        # A diverging run overflows on its way to the guard, which reports it once.
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always", DivergenceWarning)
            self.history = self.network.fit(data.X_train, data.Y_train, callbacks=callbacks)
        self.seconds = time.perf_counter() - start
        self.test_costs = [] if watch is None else watch.costs
        self.warnings = [str(w.message) for w in caught]
        return self.history

    def scores(self) -> dict:
        """metrics.json's scores: each part's, then how training ended."""
        data, history = self.dataset, self.history
        with np.errstate(all="ignore"):  # a diverged model scores NaN, said by fit
            scores = {"train": score_network(self.network, data.X_train, data.Y_train, self.info)}
            if data.X_test is not None:
                scores["test"] = score_network(self.network, data.X_test, data.Y_test, self.info)
        metrics = {
            **scores,
            "epochs_run": len(history),
            "stop_reason": history.stop_reason,
            "best_epoch": history.best_epoch,
            "train_seconds": round(self.seconds, 3),
        }
        if self.raw.reference:
            metrics["reference"] = self.raw.reference
        return metrics

    def write(self, target, *, overwrite: bool = False, pictures: bool = True) -> dict:
        """Write the run folder ``target`` (atomically) and return its metrics."""
        target = Path(target)
        metrics = self.scores()
        self.network.metadata = {"data": self.info, "run": target.name}
        with run_folder(target, overwrite=overwrite) as folder:
            self.network.save(folder / MODEL_FILE)
            comment = f"ldnn run {target.name}: rerun with `ldnn train --config config.toml`"
            (folder / "config.toml").write_text(dumps_toml(self.config, comment))
            (folder / "history.csv").write_text(history_csv(self.history, self.test_costs))
            metrics["pictures"] = self._pictures(folder, metrics) if pictures else []
            (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        self.metrics = metrics
        return metrics

    def _pictures(self, folder: Path, scores: dict) -> list[str]:
        from . import plots

        raw, info, network = self.raw, self.info, self.network
        extra = {"test cost": self.test_costs} if self.test_costs else None
        plots.learning_curve(
            self.history, folder / "learning_curve.png", f"Learning curve: {raw.name}", extra
        )
        written = ["learning_curve.png"]
        if info["task"] != "classification":
            return written
        name = "test" if "test" in scores else "train"
        plots.confusion_matrix(
            np.array(scores[name]["confusion_matrix"]),
            info["classes"],
            folder / "confusion_matrix.png",
            f"Confusion matrix: {raw.name} ({name} part)",
        )
        written.append("confusion_matrix.png")
        if raw.n_features == 2:
            preparation = Preparation.from_metadata(info)

            def predict(X):
                AL = network.predict_proba(preparation.transform_x(X))
                return class_probabilities(AL).argmax(axis=0)

            plots.decision_boundary(
                predict,
                raw.X_train,
                raw.Y_train,
                folder / "decision_boundary.png",
                info["classes"],
                f"Decision boundary: {raw.name} (training part)",
            )
            written.append("decision_boundary.png")
        if raw.image_shape is not None:
            plots.first_layer_weights(
                network.parameters["W1"], raw.image_shape, folder / "weights.png"
            )
            written.append("weights.png")
        return written


def history_csv(history: History, test_costs: list) -> str:
    """One row per epoch: the History's columns, then the test cost (empty without one)."""
    rows = (
        [*row.values(), test_costs[k] if k < len(test_costs) else None]
        for k, row in enumerate(history.rows())
    )
    return csv_text([*history.COLUMNS, "test_cost"], rows)
