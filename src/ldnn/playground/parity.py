"""The parity page: n-bit parity learned by a deep tree-shaped net, by one wide hidden
layer and by one narrow counting layer, their units counted, all trained live.

The networks are those of :mod:`ldnn.experiments.depth_vs_width`: the layer_dims of its
``deep_xor_tree`` (ceil(log2 n) hidden layers, pairwise XOR in a balanced tree), of its
``and_or`` (one hidden layer of 2^(n-1) AND units) and of its ``counting`` (one hidden
layer of n units relu(s - k) over the number of ones s), counted by its ``size``, on its
data (``make_parity``, the whole truth table); the plan says how many of the 2^n inputs
each construction's own exact weights get wrong (its ``exact_errors``: none). What the
page trains is a fresh network of each layer_dims, from the seed, with the settings the
experiment's trained rows use (tanh, Adam, α = 0.03, float64): can ldnn's own ``fit``
find what the construction knows exists?

Training runs in a thread of its own, never in a request handler: the networks take
turns, :data:`CHUNK` epochs each (a warm start continues a fit as if it had not stopped),
so their curves grow together. One parity run at a time: a new one stops the old first.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..data import make_parity
from ..errors import ConfigurationError
from ..model.build import network_for
from .background import BackgroundRun

#: Bits the page may ask for, and the most epochs of one run.
MIN_BITS, MAX_BITS, MAX_EPOCHS = 2, 10, 5000
#: Epochs one network trains before the other takes its turn.
CHUNK = 10


@dataclass(frozen=True)
class Constructions:
    """The experiment's constructions by the page's names ({"deep": n -> network, "wide":
    n -> network, "counting": n -> network}, each with its exact weights), its ``size``
    (network -> (hidden layers, units, parameters, ...)) and its ``exact_errors`` ((network,
    n) -> the inputs of the truth table it gets wrong; None: not counted). Given by the
    command line (ldnn.cli.playground, from ldnn.experiments.depth_vs_width) rather than
    imported: the playground and the experiments are rooms of one floor, and the chain of
    imports stays short."""

    networks: dict
    size: Callable
    errors: Callable | None = None


#: How depth_vs_width trains its nets (its ``_fits``), so the page's runs are its runs.
TRAINING = {"activations": "tanh", "optimizer": "adam", "learning_rate": 0.03, "dtype": "float64"}


def plan(bits: int, constructions: Constructions) -> dict:
    """{name: layer_dims, hidden layers, hidden units, units, parameters and exact_errors}
    of the experiment's networks over ``bits`` bits (units count hidden and output units,
    parameters every entry of W and b, as the experiment's ``size``; exact_errors the
    inputs its exact weights get wrong, None when not counted)."""
    networks, errors = {}, constructions.errors
    for name, build in constructions.networks.items():
        network = build(bits)
        hidden_layers, units, parameters, _ = constructions.size(network)
        dims = [int(d) for d in network.layer_dims]
        networks[name] = {
            "layer_dims": dims,
            "hidden_layers": hidden_layers,
            "hidden_units": units - dims[-1],
            "units": units,
            "parameters": parameters,
            "exact_errors": None if errors is None else errors(network, bits),
        }
    return networks


def checked_whole(document: dict, name: str, low: int, high: int, default: int) -> int:
    """``document[name]`` (``default`` if absent), a whole number from ``low`` to
    ``high``, else a ConfigurationError naming it."""
    value = document.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(
            f"{name} must be an integer from {low} to {high}, got {value!r}", field=name
        )
    return value


def checked(document) -> tuple[int, int, int]:
    """(bits, epochs, seed) of a train request (an empty body: the defaults); a
    ConfigurationError names the field."""
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise ConfigurationError("a parity run is a JSON object", field="bits")
    bits = checked_whole(document, "bits", MIN_BITS, MAX_BITS, 4)
    epochs = checked_whole(document, "epochs", 1, MAX_EPOCHS, 500)
    seed = checked_whole(document, "seed", 0, 2**31 - 1, 0)
    return bits, epochs, seed


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


class ParitySession(BackgroundRun):
    """The parity page's one run: its plan, its curves and the thread that trains it."""

    def __init__(self, constructions: Constructions):
        super().__init__()
        self.constructions = constructions

    def train(self, document) -> dict:
        """Stop the run there is, start a new one; its settings and plan."""
        bits, epochs, seed = checked(document)
        self.stop()
        networks = plan(bits, self.constructions)
        curves = {name: {"cost": [], "accuracy": []} for name in networks}
        run = {"bits": bits, "epochs": epochs, "seed": seed, "networks": networks}
        self.begin("ldnn-playground-parity", self._train, (run, curves), run=run, curves=curves)
        return run

    def state(self) -> dict:
        """The run's settings and plan, epochs done (by both), running or not, and each
        network's training cost and accuracy per epoch."""
        with self.lock:
            if self.run is None:
                return {"running": False, "epochs_done": 0, "run": None, "curves": {}}
            curves = {
                name: {kind: list(values) for kind, values in curve.items()}
                for name, curve in self.curves.items()
            }
            run = self.run
        return {
            "running": self.running(),
            "epochs_done": min(len(curve["cost"]) for curve in curves.values()),
            "run": run,
            "curves": curves,
        }

    def _train(self, run: dict, curves: dict, stopping: threading.Event) -> None:
        """The training thread: the two networks in turns of CHUNK epochs."""
        bits = run["bits"]
        X, Y = make_parity(bits)
        networks = {
            name: network_for(
                bits,
                shape["layer_dims"][1:-1],
                task="classification",
                n=2,
                epochs=run["epochs"],
                seed=run["seed"],
                **TRAINING,
            )
            for name, shape in run["networks"].items()
        }

        def recorder(curve):
            def record(epoch, record, parameters):
                with self.lock:
                    curve["cost"].append(_number(record["cost"]))
                    curve["accuracy"].append(_number(record["accuracy"]))
                return False

            return record

        while networks and not stopping.is_set():
            for name, network in list(networks.items()):
                done = len(curves[name]["cost"])
                if done >= run["epochs"] or stopping.is_set():
                    networks.pop(name, None)
                    continue
                network.fit(
                    X,
                    Y,
                    warm_start=bool(curves[name]["cost"]),
                    epochs=min(CHUNK, run["epochs"] - done),
                    stop=stopping.is_set,
                    callbacks=[recorder(curves[name])],
                )
                if len(curves[name]["cost"]) == done:  # diverged: no epoch more to show
                    networks.pop(name)
