"""The feature-hierarchy page: what each hidden layer's units respond to, on the 8x8
digits (scikit-learn's bundled set) or the 25x25 faces (scikit-image's LFW subset, faces
against non-faces), drawn as small images while the network trains, and how much of the
class each layer's activations hold for a linear read-out.

The networks and the pictures are those of :mod:`ldnn.experiments.feature_hierarchy`:
a deep ReLU net (Adam, α = 0.002, float64; for the digits hidden [64, 32, 16],
mini-batches of 64, λ = 1; for the faces hidden [32, 16, 8], mini-batches of 32, λ = 5)
on standardised pixels; for each hidden layer l, the units whose activation varies most
over the training set (dead units are not shown), and for each the mean of the k
training images that excite it most and an input found by gradient ascent on its
activation (the experiment's ``ascend``, with the input's norm bounded by the median
norm of the training inputs); and the experiment's linear probe on every layer's
activations A[l] (l = 0: the inputs), the last row the network's own output. The
experiment's functions, its ``layer_activations``, ``ascend`` and probe and its counts
and networks, are given by the command line (:class:`Recipe`, from
ldnn.experiments.feature_hierarchy) rather than imported: the playground and the
experiments are rooms of one floor, and the chain of imports stays short (as
:class:`ldnn.playground.parity.Constructions`).

Training runs in a thread of its own, never in a request handler: :data:`CHUNK` epochs
at a time (a warm start continues a fit as if it had not stopped), the pictures made
after each chunk from a consistent network, the probes at most every
:data:`PROBE_SECONDS` (and after the last chunk), and the page polls them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..data import load_dataset
from ..data.preparation import standardize
from ..errors import ConfigurationError, LdnnError
from ..model.build import network_for_dataset
from .background import BackgroundRun
from .frames import as_bytes
from .parity import checked_whole

#: The most epochs of a run, and the epochs trained between two pictures.
MAX_EPOCHS, CHUNK = 500, 2
#: The fewest seconds between two rounds of probes: a round (a logistic regression per
#: layer) costs several chunks' training on the digits, so it is not made after each.
PROBE_SECONDS = 1.0
#: The keys of a run that are not the network's training.
RUN_KEYS = ("dataset", "epochs", "seed", "hidden")


@dataclass(frozen=True)
class Recipe:
    """The experiment's computation: ``layer_activations(network, X)`` ->
    [A[0], ..., A[L-1]], ``ascend(network, l, units, X0, radius)`` -> inputs (n[0], k),
    ``varied_units(A, count)`` -> the units shown, ``top_examples(a, k)`` -> the
    examples a unit's picture averages, ``probe(A_train, Y_train, A_test, Y_test)`` ->
    (train accuracy, test accuracy) of its linear probe on one layer's activations; how
    many examples a picture averages (``top_k``) and how many units of a layer are shown
    (``units_shown``); and per data set the page offers, the first its default,
    ``networks[name]``: the network's ``hidden`` sizes and the rest of its training
    (activations, optimizer, learning_rate, batch_size, lambd, dtype)."""

    layer_activations: Callable
    ascend: Callable
    varied_units: Callable
    top_examples: Callable
    probe: Callable
    top_k: int
    units_shown: int
    networks: dict


def image(values: np.ndarray) -> str:
    """An image's values, stretched to bytes 0..255 from their least to their most
    (as the experiment's grey images are drawn)."""
    low, high = float(values.min()), float(values.max())
    return as_bytes(255 * (values - low) / (high - low if high > low else 1.0))


def pictures(recipe: Recipe, network, X, X_raw) -> list[dict]:
    """Per hidden layer l = 1..L-1: its units, dead units, and for the ``units_shown``
    most varied, the mean of their top-k raw training images and the gradient-ascent
    input (standardised, as the network sees it); in layer 1 also the unit's row of W[1]
    (the experiment's layer-1 picture: what the unit weighs each pixel by)."""
    layers = recipe.layer_activations(network, X)
    radius = float(np.median(np.linalg.norm(X, axis=0)))
    shown = []
    for l in range(1, len(layers)):
        A = layers[l]
        units = recipe.varied_units(A, recipe.units_shown)
        tops = [recipe.top_examples(A[j], recipe.top_k) for j in units]
        starts = np.stack([X[:, top].mean(axis=1) for top in tops], axis=1)
        ascent = recipe.ascend(network, l, units, starts, radius)
        shown.append(
            {
                "layer": l,
                "n": int(A.shape[0]),
                "dead": int(np.sum(A.max(axis=1) <= 0)),
                "units": [
                    {
                        "unit": j,
                        "top": image(X_raw[:, top].mean(axis=1)),
                        "ascent": image(ascent[:, i]),
                        **({"weights": image(network.parameters["W1"][j])} if l == 1 else {}),
                    }
                    for i, (j, top) in enumerate(zip(units, tops, strict=True))
                ],
            }
        )
    return shown


def probes(recipe: Recipe, network, data, inputs: dict | None = None) -> list[dict]:
    """The experiment's probe table for the network as it stands: per layer l = 0..L-1,
    its linear probe fitted on A[l] of the training part (l = 0: the inputs X), its
    accuracy there (``train``) and on the test part (``test``); row L the network's own
    accuracy (``output``: not a probe), as the experiment's last row.

    Parameters
    ----------
    recipe : Recipe
    network : DeepNetwork
    data : Dataset
        The standardised data set the network trains on.
    inputs : dict, optional
        Layer 0's row, if known: the inputs do not change while a run trains.

    Returns
    -------
    list of dict
        ``{"layer", "units", "train", "test"}`` per row (accuracies None if not finite).
    """
    trains = recipe.layer_activations(network, data.X_train)
    tests = recipe.layer_activations(network, data.X_test)
    rows = [] if inputs is None else [inputs]
    for l in range(len(rows), len(trains)):
        train, test = recipe.probe(trains[l], data.Y_train, tests[l], data.Y_test)
        rows.append(_row(l, trains[l].shape[0], train, test))
    train = network.evaluate(data.X_train, data.Y_train)["accuracy"]
    test = network.evaluate(data.X_test, data.Y_test)["accuracy"]
    return rows + [{**_row(network.L, network.layer_dims[-1], train, test), "output": True}]


def _row(layer: int, units: int, train, test) -> dict:
    return {"layer": layer, "units": int(units), "train": _number(train), "test": _number(test)}


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def checked_name(document: dict, names: list[str]) -> str:
    """``document["dataset"]`` (the first of ``names`` if absent), one of ``names``,
    else a ConfigurationError naming the field."""
    value = document.get("dataset", names[0])
    if not isinstance(value, str) or value not in names:
        raise ConfigurationError(
            f"dataset must be one of {', '.join(names)}, got {value!r:.80}", field="dataset"
        )
    return value


class HierarchySession(BackgroundRun):
    """The hierarchy page's one run: its network, pictures, probes, curves and training
    thread; and the data sets it offers, each loaded once (or its reason not to be)."""

    def __init__(self, recipe: Recipe | None):
        super().__init__()
        self.recipe = recipe
        self.shown: dict = {}
        self.network = None  # the run's network (the pictures are of it, at their epoch)
        self._loading = threading.Lock()
        self._loaded: dict = {}  # data set name -> its Dataset, or why it cannot be loaded

    def dataset(self, name: str):
        """The data set ``name``, loaded at its first use and kept; or, where it cannot be
        loaded here (a package missing, its files unreadable), the reason, a str."""
        with self._loading:
            if name not in self._loaded:
                try:
                    self._loaded[name] = load_dataset(name)
                except (LdnnError, ImportError, OSError) as problem:
                    self._loaded[name] = str(problem) or type(problem).__name__
            return self._loaded[name]

    def datasets(self) -> list[dict]:
        """The page's data-set choices: ``{"name", "available"}`` and each one's
        ``image_shape``, or the ``reason`` it is not available here."""
        choices = []
        for name in self.recipe.networks if self.recipe is not None else ():
            loaded = self.dataset(name)
            if isinstance(loaded, str):
                choices.append({"name": name, "available": False, "reason": loaded})
            else:
                shape = [int(d) for d in loaded.image_shape]
                choices.append({"name": name, "available": True, "image_shape": shape})
        return choices

    def train(self, document) -> dict:
        """Stop the run there is, start a new one (``{"dataset", "epochs", "seed"}``);
        its settings."""
        if self.recipe is None:
            raise ConfigurationError("this playground has no feature-hierarchy page", field="path")
        document = {} if document is None else document
        if not isinstance(document, dict):
            raise ConfigurationError("a run is a JSON object", field="epochs")
        name = checked_name(document, list(self.recipe.networks))
        epochs = checked_whole(document, "epochs", 1, MAX_EPOCHS, 40)
        seed = checked_whole(document, "seed", 0, 2**31 - 1, 0)
        dataset = self.dataset(name)
        if isinstance(dataset, str):
            raise ConfigurationError(
                f"the {name} set is not available here: {dataset}", field="dataset"
            )
        network = self.recipe.networks[name]
        run = {"dataset": name, "epochs": epochs, "seed": seed, **network}
        run["hidden"] = list(network["hidden"])
        self.begin("ldnn-hierarchy", self._train, (run, dataset), run=run, shown={})
        return run

    def state(self) -> dict:
        """The data-set choices, the run, running or not, and its latest pictures,
        probes and curves."""
        choices = self.datasets()
        with self.lock:
            run, shown = self.run, dict(self.shown)
        return {"datasets": choices, "running": self.running(), "run": run, **shown}

    def _train(self, run: dict, dataset, stopping: threading.Event) -> None:
        prepared, _, _ = standardize(dataset)
        X, Y = prepared.X_train, prepared.Y_train
        training = {k: v for k, v in run.items() if k not in RUN_KEYS}
        network = network_for_dataset(
            dataset, run["hidden"], epochs=run["epochs"], seed=run["seed"], **training
        )
        # the training part's cost and accuracy per epoch; the test part's accuracy as
        # [epoch, accuracy] after each chunk
        curves = {"cost": [], "accuracy": [], "test": []}
        probed, last_probe = None, -math.inf  # the latest probes and when they were made
        self.network = network

        def record(epoch, entry, parameters):
            curves["cost"].append(_number(entry["cost"]))
            curves["accuracy"].append(_number(entry["accuracy"]))

        while not stopping.is_set() and len(curves["cost"]) < run["epochs"]:
            done = len(curves["cost"])
            network.fit(
                X,
                Y,
                warm_start=done > 0,
                epochs=min(CHUNK, run["epochs"] - done),
                stop=stopping.is_set,
                callbacks=[record],
            )
            epoch = len(curves["cost"])
            if epoch == done:  # diverged (or stopped): nothing more to show
                break
            test = network.evaluate(prepared.X_test, prepared.Y_test)["accuracy"]
            curves["test"].append([epoch, _number(test)])
            layers = pictures(self.recipe, network, X, dataset.X_train)
            if epoch >= run["epochs"] or time.monotonic() - last_probe >= PROBE_SECONDS:
                inputs = None if probed is None else probed["layers"][0]
                probed = {"epoch": epoch, "layers": probes(self.recipe, network, prepared, inputs)}
                last_probe = time.monotonic()
            with self.lock:
                self.shown = {
                    "epoch": epoch,
                    "layer_dims": [int(d) for d in network.layer_dims],
                    "layers": layers,
                    "probes": probed,
                    "curves": {k: list(v) for k, v in curves.items()},
                    "image_shape": list(dataset.image_shape),
                }
