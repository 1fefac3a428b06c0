"""What successive layers learn: weights, top inputs, optimised inputs and linear probes.

A deep ReLU net is trained on ``faces`` (scikit-image's LFW subset, 25x25) and on
``digits`` (8x8). Then, per layer:

* layer 1: each unit's row of W1 drawn as an image (:func:`ldnn.runs.plots.first_layer_weights`);
* layers 2..L-1: for a few units (those whose activation varies most over the training
  set, so that dead units are not shown), the k training images that excite the unit most,
  their mean, and an input found by gradient ascent on the unit's activation with the
  norm of the (standardised) input bounded by the median norm of the training inputs;
* a linear probe: a logistic regression trained on each layer's activations A[l]
  (l = 0 is the input itself), scored on the test part.

The gradient of a unit's activation with respect to the input comes from ldnn's own
``backward``: on the sub-network of layers 1..l with a mean-squared-error loss and
targets Y = A[l] + e_j, dA[l] = A[l] - Y = -e_j, so dA0 = -d a_j[l] / dX.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.propagation import backward, forward
from ..data import load_dataset
from ..model.build import network_for_dataset
from ..model.network import DeepNetwork
from ..runs.plots import first_layer_weights
from .results import figure, markdown_table, save, standardized, write_csv

TOP_K = 5
UNITS_SHOWN = 6
ASCENT_STEPS = 30
#: The training every data set shares (:func:`config` gives the rest).
TRAINING = {
    "activations": "relu",
    "optimizer": "adam",
    "learning_rate": 0.002,
    "dtype": "float64",
}


def config(name: str, quick: bool) -> dict:
    """A data set's network and training: its hidden sizes, epochs, batch size and L2."""
    if name == "faces":
        return {
            "hidden": [32, 16, 8],
            "epochs": 60 if quick else 200,
            "batch_size": 32,
            "lambd": 5.0,
        }
    return {"hidden": [64, 32, 16], "epochs": 15 if quick else 60, "batch_size": 64, "lambd": 1.0}


def train(name: str, quick: bool, seed: int):
    """(network, dataset, X_train, Y_train, X_test, Y_test) for one data set, standardised."""
    dataset = load_dataset(name)
    X, Y, X_test, Y_test = standardized(dataset)
    settings = config(name, quick)
    network = network_for_dataset(
        dataset,
        settings["hidden"],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lambd=settings["lambd"],
        seed=seed,
        **TRAINING,
    )
    network.fit(X, Y)
    return network, dataset, X, Y, X_test, Y_test


def varied_units(A: np.ndarray, count: int) -> list[int]:
    """The ``count`` units of A (n[l], m) whose activation varies most over the examples
    (a dead unit varies not at all)."""
    return [int(j) for j in np.argsort(-A.std(axis=1))[:count]]


def top_examples(a: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """The indices of the k examples that excite a unit most (its activations a (m,))."""
    return np.argsort(-a)[:k]


def layer_activations(network: DeepNetwork, X) -> list[np.ndarray]:
    """[A[0] = X, A[1], ..., A[L-1]]: the input and every hidden layer's activations."""
    _, caches = forward(X, network.parameters, network.hyperparameters.activations)
    return [X] + [cache.A for cache in caches[:-1]]


def ascend(network: DeepNetwork, l: int, units, X0, radius: float, steps: int = ASCENT_STEPS):
    """Inputs (n[0], len(units)) that raise unit units[i] of layer l, with ||x|| <= radius.

    Starts from X0 (one column per unit) and takes normalised gradient steps, projecting
    back onto the ball after each, so the result shows a direction, not a blown-up scale.
    """
    parameters = {k: v for k, v in network.parameters.items() if int(k[1:]) <= l}
    activations = network.hyperparameters.activations[:l]
    X = X0.copy()
    onehot = np.zeros((network.layer_dims[l], len(units)))
    onehot[list(units), np.arange(len(units))] = 1.0
    step = 0.03 * radius
    for _ in range(steps):
        AL, caches = forward(X, parameters, activations)
        grads = backward(AL, AL + onehot, caches, activations, "mse")
        gradient = -grads["dA0"]
        norms = np.linalg.norm(gradient, axis=0, keepdims=True)
        X = X + step * gradient / np.where(norms > 0, norms, 1.0)
        lengths = np.linalg.norm(X, axis=0, keepdims=True)
        X = X * np.minimum(1.0, radius / np.maximum(lengths, 1e-12))
    return X


def _unit_figure(name, l, units, A, X_raw, X_ascent, image_shape, path) -> str:
    """One row per unit: its top-k training images, their mean, the gradient-ascent input."""
    columns = TOP_K + 2
    fig = figure(1.1 * columns, 1.15 * len(units) + 0.5)
    fig.suptitle(f"{name}: layer {l}, top-{TOP_K} inputs | mean | gradient ascent")
    for row, j in enumerate(units):
        top = top_examples(A[j])
        images = [X_raw[:, i] for i in top] + [X_raw[:, top].mean(axis=1), X_ascent[:, row]]
        for col, image in enumerate(images):
            axes = fig.add_subplot(len(units), columns, row * columns + col + 1)
            axes.imshow(image.reshape(image_shape), cmap="gray")
            axes.set_xticks([])
            axes.set_yticks([])
            if col == 0:
                axes.set_ylabel(f"unit {j}", fontsize=7)
    return save(fig, path)


def probe(A_train, Y_train, A_test, Y_test) -> tuple[float, float]:
    """The linear probe on one layer's activations A[l] (n[l], m): (train accuracy, test
    accuracy) of a standardised logistic regression fitted on ``A_train`` (also the
    playground's hierarchy page's)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(A_train.T, Y_train.ravel())
    return model.score(A_train.T, Y_train.ravel()), model.score(A_test.T, Y_test.ravel())


def one_dataset(name: str, folder: Path, quick: bool, seed: int) -> tuple[list, list]:
    network, dataset, X, Y, X_test, Y_test = train(name, quick, seed)
    files = []
    path = folder / f"{name}_layer1_weights.png"
    first_layer_weights(
        network.parameters["W1"],
        dataset.image_shape,
        path,
        max_units=16,
        title=f"{name}: layer 1, each unit's weights W1[j] as an image",
    )
    files.append(path.name)
    train_acts, test_acts = layer_activations(network, X), layer_activations(network, X_test)
    radius = float(np.median(np.linalg.norm(X, axis=0)))
    for l in range(2, network.L):
        A = train_acts[l]
        units = varied_units(A, UNITS_SHOWN)
        starts = np.stack([X[:, top_examples(A[j])].mean(axis=1) for j in units], axis=1)
        X_ascent = ascend(network, l, units, starts, radius)
        files.append(
            _unit_figure(
                name,
                l,
                units,
                A,
                dataset.X_train,
                X_ascent,
                dataset.image_shape,
                folder / f"{name}_layer{l}_units.png",
            )
        )
    rows = []
    for l, (A_train, A_test) in enumerate(zip(train_acts, test_acts, strict=True)):
        train_acc, test_acc = probe(A_train, Y, A_test, Y_test)
        rows.append(
            {
                "dataset": name,
                "layer": l,
                "units": A_train.shape[0],
                "dead_units": int(np.sum(A_train.max(axis=1) <= 0)) if l else 0,
                "probe_train_accuracy": train_acc,
                "probe_test_accuracy": test_acc,
            }
        )
    scores = network.evaluate(X_test, Y_test)
    rows.append(
        {
            "dataset": name,
            "layer": network.L,
            "units": network.layer_dims[-1],
            "dead_units": 0,
            "probe_train_accuracy": network.evaluate(X, Y)["accuracy"],
            "probe_test_accuracy": scores["accuracy"],
        }
    )
    return rows, files


COLUMNS = ["dataset", "layer", "units", "dead_units", "probe_train_accuracy", "probe_test_accuracy"]


def _probe_plot(rows, path) -> str:
    fig = figure()
    axes = fig.add_subplot()
    for name in dict.fromkeys(r["dataset"] for r in rows):
        part = [r for r in rows if r["dataset"] == name]
        axes.plot(
            [r["layer"] for r in part],
            [r["probe_test_accuracy"] for r in part],
            "o-",
            label=f"{name} (test)",
        )
        axes.plot(
            [r["layer"] for r in part],
            [r["probe_train_accuracy"] for r in part],
            "o:",
            alpha=0.6,
            label=f"{name} (train)",
        )
    axes.set_xlabel("layer l (0 = input; last = the network's own output)")
    axes.set_ylabel("linear-probe accuracy")
    axes.set_title("Linear probe on each layer's activations A[l]")
    axes.grid(alpha=0.3)
    axes.legend()
    return save(fig, path)


def run(folder: Path, *, quick: bool, seed: int) -> dict:
    """Run the experiment into ``folder``; return the report's title, text and files."""
    rows, files = [], []
    for name in ("faces", "digits"):
        part, pictures = one_dataset(name, folder, quick, seed)
        rows += part
        files += pictures
    files.insert(0, write_csv(folder / "probe.csv", rows, COLUMNS))
    files.insert(1, _probe_plot(rows, folder / "probe_accuracy.png"))
    nets = "; ".join(
        f"{n}: hidden {config(n, quick)['hidden']}, {config(n, quick)['epochs']} epochs"
        for n in ("faces", "digits")
    )
    text = f"""Deep ReLU networks (Adam, alpha = 0.002, standardised inputs; {nets}).
Layer-1 figures draw W1 rows as images; deeper-layer figures show, for the {UNITS_SHOWN}
units with the most varied activation, the top-{TOP_K} training images, their mean and an
input found by {ASCENT_STEPS} steps of normalised gradient ascent on the unit's activation
(input norm bounded by the median training-input norm). The last row of each data set in
the table is the network's own output layer (its accuracy, not a probe).

Linear probe (standardised logistic regression on A[l], scikit-learn), accuracy by layer:

{markdown_table(rows, COLUMNS)}

Read the table as measured: the probe's test accuracy is the amount of linearly readable
class information in each layer; it need not rise with depth, since a linear read-out of
the raw input is already strong on these small sets.
"""
    return {
        "title": "feature-hierarchy: what successive layers learn",
        "text": text,
        "files": files,
    }
