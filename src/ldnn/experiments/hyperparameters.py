"""How the hyperparameters alpha, the number of iterations, L and n[l] change training.

On ``planar`` (the course's flower) and ``mnist1d``:

* alpha: cost curves of full-batch gradient descent for a range of learning rates, from
  too small to divergent; a divergent run is stopped by ldnn's divergence guard, which
  warns with :class:`ldnn.DivergenceWarning` and keeps the last finite parameters;
* iterations: train, validation and test accuracy after every epoch of a large network,
  and the epoch at which early stopping (patience P on the validation cost, exactly the
  rule of ``early_stopping=P``) would have stopped;
* L and n[l]: final train and test accuracy against the number of hidden layers at a
  fixed width and against the width at a fixed depth, each with and without L2.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from ..data import load_dataset
from ..errors import DivergenceWarning
from ..model.build import network_for
from ..model.network import DeepNetwork
from .results import figure, markdown_table, save, standardized, write_csv
from .tasks import spread


def _data(name: str, quick: bool):
    """Standardised (X_train, Y_train, X_test, Y_test); mnist1d's training part cut in quick."""
    X, Y, X_test, Y_test = standardized(load_dataset(name))
    if name == "mnist1d" and quick:
        X, Y = X[:, :1000], Y[:, :1000]
    return X, Y, X_test, Y_test


# Per data set: the alpha grid (gd, full batch), and the settings of the other sweeps.
SETTINGS = {
    "planar": {
        "alphas": (0.001, 0.01, 0.1, 1.0, 10.0),
        "alpha_net": [16, 16],
        "alpha_epochs": (300, 1500),
        "big_net": [64, 64],
        "train": {"optimizer": "adam", "learning_rate": 0.01},
        "iter_epochs": (600, 3000),
        "patience": (50, 200),
        "sweep_epochs": (300, 1500),
        "width": 16,
        "depths": ((1, 2, 4), (1, 2, 3, 4, 5)),
        "widths": ((2, 8, 32), (1, 2, 4, 8, 16, 32, 64)),
        "fixed_depth": 2,
        "lambd": 1.0,
    },
    "mnist1d": {
        "alphas": (0.001, 0.01, 0.1, 1.0, 10.0),
        "alpha_net": [64, 64],
        "alpha_epochs": (60, 300),
        "big_net": [256, 256],
        "train": {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 128},
        "iter_epochs": (25, 120),
        "patience": (5, 15),
        "sweep_epochs": (10, 60),
        "width": 64,
        "depths": ((1, 3), (1, 2, 3, 4)),
        "widths": ((8, 64), (8, 16, 32, 64, 128, 256)),
        "fixed_depth": 2,
        "lambd": 1.0,
    },
}


def _pick(value, quick: bool):
    return value[0] if quick else value[1]


def _network(X, Y, hidden, seed, **settings) -> DeepNetwork:
    """A classifier for X (n[0], m) and class indices Y (1, m), with ReLU hidden layers
    unless ``settings`` names other activations."""
    settings.setdefault("activations", "relu")
    classes = max(2, int(Y.max()) + 1)
    return network_for(X.shape[0], hidden, task="classification", n=classes, seed=seed, **settings)


def alpha_sweep(name, data, quick, seed):
    """One full-batch gd run per alpha; rows for the CSV and the histories to draw."""
    X, Y, X_test, Y_test = data
    config = SETTINGS[name]

    def one_run(alpha):
        # leaky ReLU units cannot all die, so a too-large alpha blows the activations up
        # (and the guard fires) instead of silently freezing a dead network.
        network = _network(
            X,
            Y,
            config["alpha_net"],
            seed,
            activations="leaky_relu",
            learning_rate=alpha,
            epochs=_pick(config["alpha_epochs"], quick),
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DivergenceWarning)
            history = network.fit(X, Y)
        warned = any(issubclass(w.category, DivergenceWarning) for w in caught)
        # After divergence the kept (last finite) parameters can be huge, and scoring
        # them overflows in the forward pass; that is expected here, not news.
        with np.errstate(over="ignore", invalid="ignore"):
            train_acc = network.evaluate(X, Y)["accuracy"]
            test_acc = network.evaluate(X_test, Y_test)["accuracy"]
        row = {
            "dataset": name,
            "alpha": alpha,
            "epochs_run": len(history),
            "stop_reason": history.stop_reason,
            "divergence_warning": warned,
            "first_cost": history.cost[0] if len(history) else math.nan,
            "final_cost": history.cost[-1] if len(history) else math.nan,
            "train_accuracy": train_acc,
            "test_accuracy": test_acc,
        }
        return row, history.cost

    runs = spread(one_run, config["alphas"])
    rows = [row for row, _ in runs]
    curves = {alpha: cost for alpha, (_, cost) in zip(config["alphas"], runs, strict=True)}
    finished = [r for r in rows if r["stop_reason"] == "completed"]
    good = min(finished, key=lambda r: r["final_cost"])["alpha"] if finished else None
    for r in rows:
        if r["stop_reason"] == "diverged":
            r["verdict"] = "divergent"
        elif r["alpha"] == good:
            r["verdict"] = "good (lowest final cost)"
        else:
            r["verdict"] = "too small" if good is not None and r["alpha"] < good else "too large"
    return rows, curves


def early_stop_epoch(val_costs, patience: int) -> tuple[int, int]:
    """(epoch at which training would stop, best epoch) under ``early_stopping=patience``.

    The rule of ldnn's training loop: the best epoch is the last strict improvement of the
    validation cost; training stops once ``patience`` epochs pass without one.
    """
    best_cost, best = math.inf, None
    for epoch, cost in enumerate(val_costs):
        if cost < best_cost:
            best_cost, best = cost, epoch
        elif epoch - best >= patience:
            return epoch, best
    return len(val_costs) - 1, best


def iterations(name, data, quick, seed):
    """Train, validation and test accuracy per epoch of a large network (over-fitting)."""
    X, Y, X_test, Y_test = data
    config = SETTINGS[name]
    network = _network(
        X,
        Y,
        config["big_net"],
        seed,
        validation_split=0.2,
        epochs=_pick(config["iter_epochs"], quick),
        **config["train"],
    )
    test = []
    # A second network object sharing the hyperparameters scores the callback's
    # parameters: during fit, network.parameters need not be the dict being trained.
    scorer = DeepNetwork.from_hyperparameters(network.hyperparameters)

    def score_test(epoch, record, parameters):
        scorer.parameters = parameters
        test.append(scorer.evaluate(X_test, Y_test)["accuracy"])

    history = network.fit(X, Y, callbacks=[score_test])
    patience = _pick(config["patience"], quick)
    stop, best = early_stop_epoch(history.val_cost, patience)
    rows = [
        {
            "dataset": name,
            "epoch": e,
            "cost": c,
            "train_accuracy": a,
            "val_cost": vc,
            "val_accuracy": va,
            "test_accuracy": t,
        }
        for e, c, a, vc, va, t in zip(
            history.epoch,
            history.cost,
            history.accuracy,
            history.val_cost,
            history.val_accuracy,
            test,
            strict=True,
        )
    ]
    summary = {
        "dataset": name,
        "epochs": len(history),
        "patience": patience,
        "early_stop_epoch": stop,
        "best_epoch": best,
        "test_accuracy_at_best": test[best],
        "test_accuracy_at_end": test[-1],
        "train_accuracy_at_end": history.accuracy[-1],
    }
    return rows, summary


def architecture_sweep(name, data, quick, seed):
    """Final accuracies against L (fixed width) and against width (fixed L), +/- L2."""
    X, Y, X_test, Y_test = data
    config = SETTINGS[name]
    grid = [("depth", d, config["width"]) for d in _pick(config["depths"], quick)]
    grid += [("width", config["fixed_depth"], w) for w in _pick(config["widths"], quick)]

    def one_run(setting):
        sweep, depth, width, lambd = setting
        network = _network(
            X,
            Y,
            [width] * depth,
            seed,
            lambd=lambd,
            epochs=_pick(config["sweep_epochs"], quick),
            **config["train"],
        )
        history = network.fit(X, Y)
        return {
            "dataset": name,
            "sweep": sweep,
            "hidden_layers": depth,
            "width": width,
            "lambd": lambd,
            "final_cost": history.cost[-1],
            "train_accuracy": network.evaluate(X, Y)["accuracy"],
            "test_accuracy": network.evaluate(X_test, Y_test)["accuracy"],
        }

    settings = [(*point, lambd) for point in grid for lambd in (0.0, config["lambd"])]
    return spread(one_run, settings)


def _alpha_plot(curves_by_name, path) -> str:
    fig = figure(10.0, 4.2)
    for index, (name, curves) in enumerate(curves_by_name.items()):
        axes = fig.add_subplot(1, 2, index + 1)
        for alpha, cost in curves.items():
            label = f"alpha = {alpha:g}" + (
                " (diverged, stopped)" if len(cost) < max(len(c) for c in curves.values()) else ""
            )
            axes.plot(
                np.arange(len(cost)), cost, label=label, marker="x" if len(cost) < 20 else None
            )
        axes.set_yscale("log")
        axes.set_xlabel("iteration (full-batch gradient descent)")
        axes.set_ylabel("cost J")
        axes.set_title(f"{name}: cost for a range of alpha")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return save(fig, path)


def _iterations_plot(rows, summaries, path) -> str:
    fig = figure(10.0, 4.2)
    for index, summary in enumerate(summaries):
        part = [r for r in rows if r["dataset"] == summary["dataset"]]
        axes = fig.add_subplot(1, 2, index + 1)
        epochs = [r["epoch"] for r in part]
        for column in ("train_accuracy", "val_accuracy", "test_accuracy"):
            axes.plot(epochs, [r[column] for r in part], label=column.replace("_", " "))
        axes.axvline(
            summary["early_stop_epoch"],
            color="k",
            ls="--",
            lw=1,
            label=f"early stopping would stop (patience {summary['patience']})",
        )
        axes.axvline(summary["best_epoch"], color="grey", ls=":", lw=1, label="best val cost")
        axes.set_xlabel("epoch")
        axes.set_ylabel("accuracy")
        axes.set_title(f"{summary['dataset']}: accuracy against iterations")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return save(fig, path)


def _sweep_plot(rows, path) -> str:
    names = list(dict.fromkeys(r["dataset"] for r in rows))
    fig = figure(9.0, 3.4 * len(names))
    for i, name in enumerate(names):
        for j, (sweep, x) in enumerate((("depth", "hidden_layers"), ("width", "width"))):
            axes = fig.add_subplot(len(names), 2, 2 * i + j + 1)
            part = [r for r in rows if r["dataset"] == name and r["sweep"] == sweep]
            for lambd in dict.fromkeys(r["lambd"] for r in part):
                sub = [r for r in part if r["lambd"] == lambd]
                for column, style in (("train_accuracy", "o:"), ("test_accuracy", "o-")):
                    axes.plot(
                        [r[x] for r in sub],
                        [r[column] for r in sub],
                        style,
                        label=f"{column.split('_')[0]}, lambda = {lambd:g}",
                    )
            if sweep == "width":
                axes.set_xscale("log", base=2)
            axes.set_xlabel("hidden layers L - 1" if sweep == "depth" else "width n[l]")
            axes.set_ylabel("accuracy")
            fixed = (
                f"width {part[0]['width']}"
                if sweep == "depth"
                else f"{part[0]['hidden_layers']} hidden layers"
            )
            axes.set_title(f"{name}: against {sweep} ({fixed})")
            axes.grid(alpha=0.3)
            axes.legend(fontsize="small")
    return save(fig, path)


ALPHA_COLUMNS = [
    "dataset",
    "alpha",
    "epochs_run",
    "stop_reason",
    "divergence_warning",
    "first_cost",
    "final_cost",
    "train_accuracy",
    "test_accuracy",
    "verdict",
]
ITER_COLUMNS = [
    "dataset",
    "epoch",
    "cost",
    "train_accuracy",
    "val_cost",
    "val_accuracy",
    "test_accuracy",
]
SWEEP_COLUMNS = [
    "dataset",
    "sweep",
    "hidden_layers",
    "width",
    "lambd",
    "final_cost",
    "train_accuracy",
    "test_accuracy",
]


def run(folder: Path, *, quick: bool, seed: int) -> dict:
    """Run the experiment into ``folder``; return the report's title, text and files."""
    alpha_rows, curves, iter_rows, summaries, sweep_rows = [], {}, [], [], []
    for name in ("planar", "mnist1d"):
        data = _data(name, quick)
        rows, curves[name] = alpha_sweep(name, data, quick, seed)
        alpha_rows += rows
        rows, summary = iterations(name, data, quick, seed)
        iter_rows += rows
        summaries.append(summary)
        sweep_rows += architecture_sweep(name, data, quick, seed)
    files = [
        write_csv(folder / "alpha.csv", alpha_rows, ALPHA_COLUMNS),
        write_csv(folder / "iterations.csv", iter_rows, ITER_COLUMNS),
        write_csv(folder / "architecture.csv", sweep_rows, SWEEP_COLUMNS),
        _alpha_plot(curves, folder / "alpha_cost.png"),
        _iterations_plot(iter_rows, summaries, folder / "iterations.png"),
        _sweep_plot(sweep_rows, folder / "architecture.png"),
    ]
    m = {"planar": 300, "mnist1d": 1000 if quick else 4000}
    setup = "; ".join(
        f"{n}: m_train = {m[n]}, alpha sweep {_pick(c['alpha_epochs'], quick)} gd iterations "
        f"on hidden {c['alpha_net']} (leaky ReLU); big net {c['big_net']} for "
        f"{_pick(c['iter_epochs'], quick)} epochs with {c['train']}; sweeps "
        f"{_pick(c['sweep_epochs'], quick)} epochs, L2 lambda = {c['lambd']:g}"
        for n, c in SETTINGS.items()
    )
    text = f"""Standardised inputs, ReLU hidden layers unless noted, seed-fixed. {setup}.
Validation = 20% of the training part (validation_split = 0.2); test = the set's test part.

**Learning rate alpha** (full-batch gradient descent):

{markdown_table(alpha_rows, ALPHA_COLUMNS)}

**Iterations** (where early stopping with the given patience on the validation cost would
stop, and the test accuracy there against the test accuracy at the end):

{markdown_table(summaries, list(summaries[0]))}

**Depth and width, with and without L2:**

{markdown_table(sweep_rows, SWEEP_COLUMNS)}
"""
    return {"title": "hyperparameters: alpha, iterations, L and n[l]", "text": text, "files": files}
