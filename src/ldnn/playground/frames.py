"""What the page draws, from the live network: the output over a grid of the input
plane, each hidden unit's A[l][j] over a smaller grid, and the weights W[l], each grid
quantised to bytes so that a frame stays a few kilobytes of JSON.

A grid's values v become bytes 0..255 by ``128 + 127 v / scale`` (128 is 0), with the
scale sent beside them; a classifier's probabilities p by ``255 p``. Wide layers are
drawn in part: the first :data:`SHOWN` units of each layer, and the frame says how many
more there are; W[l] is sent as the block between the drawn units, with the whole
matrix's summary.
"""

from __future__ import annotations

import base64

import numpy as np

from ..core.propagation import forward

#: The decision surface's and the hidden units' grids (points a side).
SURFACE, UNIT = 40, 16
#: The most units of a layer drawn (and inputs, which are at most 7).
SHOWN = 8


def as_bytes(values) -> str:
    """Values in [0, 255] as base64 text of one byte each (the page's Uint8Array)."""
    quantised = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return base64.b64encode(quantised.tobytes()).decode("ascii")


def signed(values) -> dict:
    """``values`` as bytes about 128, with the scale max |v| that 255 stands for."""
    scale = float(np.abs(values).max()) if values.size else 0.0
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    return {"scale": scale, "bytes": as_bytes(128 + 127 * np.nan_to_num(values) / scale)}


def activations_on(network, plane, side: int, grids: dict) -> list:
    """[X, A[1], ..., A[L]] of the network on the side x side grid of the plane: the
    grid's points as the network's inputs, as :mod:`.plane` makes them (prepared as in
    training), then forward propagation. ``grids`` keeps each side's X for the network's
    data (made once per network: a frame then only propagates)."""
    X = grids.get(side)
    if X is None:
        X = grids[side] = np.asarray(plane.inputs(side), dtype=network.dtype)
    hp = network.hyperparameters
    AL, caches = forward(X, network.parameters, hp.activations)
    return [X] + [cache.A for cache in caches]  # caches[l-1].A is A[l]; the last AL


def surface(network, plane, preparation, task: str, target_range, grids: dict) -> dict:
    """The output over the plane's SURFACE x SURFACE grid: a classifier's probability of
    each class (one grid for two classes: of the second), a regression's value in the
    target's units (with its range)."""
    AL = activations_on(network, plane, SURFACE, grids)[-1]
    if task == "regression":
        values = preparation.inverse_y(AL)[0]
        low, high = target_range
        span = high - low if high > low else 1.0
        return {
            "kind": "value",
            "low": low,
            "high": high,
            "grids": [as_bytes(255 * (values - low) / span)],
        }
    # A softmax has a row per class; of two classes, the second's is drawn.
    probabilities = AL[1:] if AL.shape[0] == 2 else AL
    return {"kind": "probability", "grids": [as_bytes(255 * row) for row in probabilities]}


def units(network, plane, grids: dict) -> list:
    """Per layer 0..L: the heat maps of its first SHOWN units over the UNIT x UNIT grid
    (layer 0: the inputs as prepared), and how many units it has."""
    layers = activations_on(network, plane, UNIT, grids)
    return [
        {"n": int(A.shape[0]), "maps": [signed(A[j]) for j in range(min(SHOWN, A.shape[0]))]}
        for A in layers
    ]


def weights(parameters: dict, L: int) -> list:
    """Per layer 1..L: the block of W[l] between the drawn units (rows: n[l]'s first
    SHOWN, columns: n[l-1]'s), b[l]'s first entries (None in a batch-normalised layer,
    which has gamma[l] and beta[l], sent as b is, in its place), and W[l]'s summary."""
    shown = []
    first = lambda name: np.round(parameters[name][:SHOWN, 0], 5).tolist()  # noqa: E731
    for l in range(1, L + 1):
        W = parameters[f"W{l}"]
        block = W[:SHOWN, :SHOWN]
        normalised = f"gamma{l}" in parameters
        shown.append(
            {
                "shape": list(W.shape),
                "W": np.round(block, 5).tolist(),
                "b": None if normalised else first(f"b{l}"),
                "gamma": first(f"gamma{l}") if normalised else None,
                "beta": first(f"beta{l}") if normalised else None,
                "summary": {
                    "mean": float(W.mean()),
                    "std": float(W.std()),
                    "min": float(W.min()),
                    "max": float(W.max()),
                },
            }
        )
    return shown


def curve(epochs: list, train: list, test: list, validation: list, most: int = 300) -> dict:
    """The learning curves (the validation part's: None without one), at most ``most``
    points (every k-th epoch, and the last)."""
    step = max(1, -(-len(epochs) // most))
    keep = list(range(0, len(epochs), step))
    if epochs and keep[-1] != len(epochs) - 1:
        keep.append(len(epochs) - 1)
    # JSON has no NaN: a diverged cost is sent as null.
    pick = lambda values: [_finite(values[k]) for k in keep]  # noqa: E731
    return {
        "epoch": pick(epochs),
        "train": pick(train),
        "test": pick(test),
        "validation": pick(validation),
    }


def _finite(value):
    return float(value) if value is not None and np.isfinite(value) else None
