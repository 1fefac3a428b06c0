"""The feature-hierarchy page: what each hidden layer's units respond to on the 8x8
digits (scikit-learn's bundled set), drawn as small images while the network trains.

The network and the pictures are those of :mod:`ldnn.experiments.feature_hierarchy`'s
digits run: a deep ReLU net (hidden [64, 32, 16], Adam, α = 0.002, mini-batches of 64,
λ = 1, float64) on standardised pixels; for each hidden layer l, the units whose
activation varies most over the training set (dead units are not shown), and for each
the mean of the k training images that excite it most and an input found by gradient
ascent on its activation (the experiment's ``ascend``, with the input's norm bounded by
the median norm of the training inputs). The experiment's functions, its
``layer_activations`` and ``ascend`` and its counts, are given by the command line
(:class:`Recipe`, from ldnn.experiments.feature_hierarchy) rather than imported: the
playground and the experiments are rooms of one floor, and the chain of imports stays
short (as :class:`ldnn.playground.parity.Constructions`).

Training runs in a thread of its own, never in a request handler: :data:`CHUNK` epochs
at a time (a warm start continues a fit as if it had not stopped), the pictures made
after each chunk from a consistent network, and the page polls them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..data import load_dataset
from ..data.preparation import standardize
from ..errors import ConfigurationError
from ..model.build import network_for_dataset
from .background import BackgroundRun
from .frames import as_bytes
from .parity import checked_whole

#: The most epochs of a run, and the epochs trained between two pictures.
MAX_EPOCHS, CHUNK = 500, 2


@dataclass(frozen=True)
class Recipe:
    """The experiment's computation: ``layer_activations(network, X)`` ->
    [A[0], ..., A[L-1]], ``ascend(network, l, units, X0, radius)`` -> inputs (n[0], k),
    ``varied_units(A, count)`` -> the units shown, ``top_examples(a, k)`` -> the
    examples a unit's picture averages; how many (``top_k``) and how many units of a
    layer are shown (``units_shown``); the network's ``hidden`` sizes and the rest of its
    ``training`` (activations, optimizer, alpha, batch size, L2, dtype) for the digits."""

    layer_activations: Callable
    ascend: Callable
    varied_units: Callable
    top_examples: Callable
    top_k: int
    units_shown: int
    hidden: tuple
    training: dict


def image(values: np.ndarray) -> str:
    """An 8x8 image's values, stretched to bytes 0..255 from their least to their most
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


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


class HierarchySession(BackgroundRun):
    """The hierarchy page's one run: its network, pictures, curves and training thread."""

    def __init__(self, recipe: Recipe | None):
        super().__init__()
        self.recipe = recipe
        self.shown: dict = {}
        self.network = None  # the run's network (the pictures are of it, at their epoch)

    def train(self, document) -> dict:
        """Stop the run there is, start a new one (``{"epochs", "seed"}``); its settings."""
        if self.recipe is None:
            raise ConfigurationError("this playground has no feature-hierarchy page", field="path")
        document = {} if document is None else document
        if not isinstance(document, dict):
            raise ConfigurationError("a run is a JSON object", field="epochs")
        epochs = checked_whole(document, "epochs", 1, MAX_EPOCHS, 40)
        seed = checked_whole(document, "seed", 0, 2**31 - 1, 0)
        self.stop()
        recipe = self.recipe
        run = {"epochs": epochs, "seed": seed, "hidden": list(recipe.hidden), **recipe.training}
        self.begin("ldnn-hierarchy", self._train, (run,), run=run, shown={})
        return run

    def state(self) -> dict:
        """The run, running or not, and its latest pictures and curves."""
        with self.lock:
            run, shown = self.run, dict(self.shown)
        return {"running": self.running(), "run": run, **shown}

    def _train(self, run: dict, stopping: threading.Event) -> None:
        dataset = load_dataset("digits")
        prepared, _, _ = standardize(dataset)
        X, Y = prepared.X_train, prepared.Y_train
        training = {k: v for k, v in run.items() if k not in ("epochs", "seed", "hidden")}
        network = network_for_dataset(
            dataset, run["hidden"], epochs=run["epochs"], seed=run["seed"], **training
        )
        # the training part's cost and accuracy per epoch; the test part's accuracy as
        # [epoch, accuracy] after each chunk
        curves = {"cost": [], "accuracy": [], "test": []}
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
            if len(curves["cost"]) == done:  # diverged (or stopped): nothing more to show
                break
            test = network.evaluate(prepared.X_test, prepared.Y_test)["accuracy"]
            curves["test"].append([len(curves["cost"]), _number(test)])
            layers = pictures(self.recipe, network, X, dataset.X_train)
            with self.lock:
                self.shown = {
                    "epoch": len(curves["cost"]),
                    "layer_dims": [int(d) for d in network.layer_dims],
                    "layers": layers,
                    "curves": {k: list(v) for k, v in curves.items()},
                    "image_shape": list(dataset.image_shape),
                }
