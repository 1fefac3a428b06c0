"""The fits that data-parallel training must reproduce: one per optimizer and setting.

Shared by ``worker.py`` (run under ``mpiexec``) and ``tests/test_parallel.py`` (the one
process the ranks are compared with)."""

from __future__ import annotations

import numpy as np

from ldnn import DeepNetwork

M, N0 = 61, 5  # 61 examples: no P from 1 to 4 divides them evenly

#: name: (DeepNetwork settings, fit keywords)
CASES = {
    "gd": ({"optimizer": "gd", "learning_rate": 0.1}, {}),
    "minibatch": ({"optimizer": "gd", "learning_rate": 0.1, "batch_size": 8}, {}),
    "momentum": ({"optimizer": "momentum", "nesterov": True, "batch_size": 16}, {}),
    "adam": ({"optimizer": "adam", "learning_rate": 0.01, "batch_size": 7}, {}),
    "dropout": (
        {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 10, "keep_prob": (0.7, 0.9)},
        {},
    ),
    "l2": (  # and L1: both penalties' gradients added once, by rank 0
        {"optimizer": "rmsprop", "learning_rate": 0.01, "batch_size": 16, "lambd": 0.7, "l1": 0.05},
        {},
    ),
    "recipes": (
        {
            "optimizer": "adamw",
            "weight_decay": 0.1,
            "learning_rate": 0.01,
            "batch_size": 16,
            "lr_schedule": "cosine",
            "warmup_epochs": 2,
            "clip_norm": 0.5,
            "label_smoothing": 0.1,
        },
        {},
    ),
    "window": (  # a shuffle within windows of 20 examples: the same on every rank
        {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 8, "shuffle_window": 20},
        {},
    ),
    "weights": (
        {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 4, "lambd": 0.3},
        {"sample_weight": True},
    ),
    "validation": (
        {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 16, "early_stopping": 3},
        {"validation": True},
    ),
    "regression": (
        {
            "optimizer": "adam",
            "learning_rate": 0.01,
            "batch_size": 9,
            "activations": "tanh",
            "loss": "mse",
        },
        {"regression": True},
    ),
}


def data(regression: bool = False):
    """X (N0, M), labels or targets, weights, and a validation set of 23 examples."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N0, M + 23))
    if regression:
        Y = np.vstack([np.sin(X[0] + X[1]), X[2] * X[3]])
    else:
        Y = (X[0] * X[1] + X[2] > 0).astype(np.float64).reshape(1, -1)
    w = rng.uniform(0, 2, size=M)
    w[:5] = 0.0  # some examples that teach nothing
    return X[:, :M], Y[:, :M], w, X[:, M:], Y[:, M:]


def network(name: str) -> DeepNetwork:
    settings, options = CASES[name]
    settings = dict(settings)
    activations = settings.pop("activations", "relu")
    output = "linear" if options.get("regression") else "sigmoid"
    n_out = 2 if options.get("regression") else 1
    return DeepNetwork(
        (N0, 7, 6, n_out),
        activations=(activations, activations, output),
        epochs=6,
        seed=3,
        dtype="float64",
        **settings,
    )


def fit(name: str, part=slice(None), comm=None, stop=None) -> DeepNetwork:
    """The case's network fitted on the examples ``part`` (a rank's share) of its data."""
    options = CASES[name][1]
    X, Y, w, X_val, Y_val = data(options.get("regression", False))
    net = network(name)
    keywords = {}
    if options.get("sample_weight"):
        keywords["sample_weight"] = w[part]
    if options.get("validation"):
        m_val = X_val.shape[1]
        val_part = part if comm is None else _share(m_val, comm)
        keywords["validation_data"] = (X_val[:, val_part], Y_val[:, val_part])
    net.fit(X[:, part], Y[:, part], comm=comm, stop=stop, **keywords)
    return net


def _share(m, comm):
    from ldnn.training.mpi import share

    return share(m, comm.Get_size(), comm.Get_rank())
