"""A search sized to its table: the widths, batch sizes, epochs and starting points of
the default space, from m (the examples a trial trains on) and n[0] (its features).

A space of fixed numbers fits one table: the 768x3 network that wins on MNIST-1D takes
minutes an epoch on a census of 32,561 rows, and overfits 891 passengers in a few epochs.
These rules scale each number with the data, so that a trial costs about the same
fraction of a search on any table, and every trial stops early on its validation part:

- the widest layer: 2 sqrt(m n[0]) (more examples and more inputs carry more units),
  at most sqrt(WORK / m), so that an epoch of a two-layer network of that width is about
  ``WORK`` multiply-adds (a fraction of a second on one core), between 16 and 1024;
- the batch size: about 2 sqrt(m), the choices half, a quarter and twice that, so that
  an epoch is about sqrt(m) / 2 steps;
- the epochs: enough for about ``STEPS`` steps (20 to 200 epochs), a cap rather than a
  choice, since early stopping ends each trial at its best epoch; the patience is a
  tenth of them (5 to 20).

Measured on generated tables like Kaggle's Titanic (891 rows) and UCI's Adult census
(32,561 rows; ``tests/public_tables.py``): widths 8..128, batches 16..128 and 200 epochs
for the passengers, widths 16..256, batches 64..512 and 49 epochs for the census.
"""

from __future__ import annotations

import math

#: Multiply-adds of one epoch of a two-layer network of the widest width: width^2 m.
WORK = 2e9
#: Steps (mini-batches) the epochs cap allows at the middle batch size.
STEPS = 4000


def _power_of_two(x: float, low: int, high: int, rounding=round) -> int:
    return int(min(high, max(low, 2 ** rounding(math.log2(max(x, 1.0))))))


def widest(m: int, n0: int) -> int:
    """The widest hidden layer a trial may draw for m examples of n0 features."""
    by_data = 2 * math.sqrt(m * n0)
    by_time = math.sqrt(WORK / max(m, 1))
    return _power_of_two(min(by_data, by_time), 16, 1024, math.floor)


def batch_size(m: int) -> int:
    """The middle batch size for m examples: a power of two near 2 sqrt(m)."""
    return _power_of_two(2 * math.sqrt(m), 16, 1024)


def epochs(m: int) -> int:
    """The epochs cap: about ``STEPS`` steps of the middle batch size, 20 to 200."""
    steps_per_epoch = max(1, math.ceil(m / batch_size(m)))
    return int(min(200, max(20, round(STEPS / steps_per_epoch))))


def patience(epochs_cap: int) -> int:
    """Epochs without a better validation cost before a trial stops: a tenth of the cap."""
    return int(min(20, max(5, round(epochs_cap / 10))))


def sized_space(m: int, n0: int) -> dict:
    """The entries of the default space that depend on the data's size."""
    wide, batch = widest(m, n0), batch_size(m)
    return {
        "units": {"low": max(4, wide // 16), "high": wide, "log": True},
        "batch_size": [max(8, batch // 4), max(8, batch // 2), batch, 2 * batch],
        "epochs": epochs(m),
    }


def sized_starting_points(m: int, n0: int) -> tuple[dict, ...]:
    """Where a new study starts on m examples of n0 features: ``ldnn train``'s defaults
    (their width and batch size the nearest the sized space holds, so that a search
    starts from the plain run on its own validation part), then the two settings
    measured on MNIST-1D in docs/recipes.md scaled to the data: the demo's two layers with
    dropout 0.5, at half the widest width, and the cosine recipe's three layers with
    dropout 0.5 at the widest width."""
    from ..runs.config import DEFAULTS

    wide, batch = widest(m, n0), batch_size(m)
    common = {
        "activation": "relu",
        "optimizer": "adam",
        "lambd": 1e-6,
        "batch_norm": False,
        "label_smoothing": 0.0,
    }
    model, training = DEFAULTS["model"], DEFAULTS["training"]
    batches = sized_space(m, n0)["batch_size"]
    return (
        {
            **common,
            "layers": [min(n, wide) for n in model["layers"]],
            "learning_rate": training["learning_rate"],
            "batch_size": min(batches, key=lambda b: abs(math.log2(b / training["batch_size"]))),
            "keep_prob": model["keep_prob"],
            "lambd": training["lambd"],
            "lr_schedule": "constant",
        },
        {
            **common,
            "layers": [max(wide // 2, 8)] * 2,
            "learning_rate": 0.002,
            "batch_size": batch,
            "keep_prob": 0.5,
            "lr_schedule": "constant",
        },
        {
            **common,
            "layers": [wide] * 3,
            "learning_rate": 0.003,
            "batch_size": batch,
            "keep_prob": 0.5,
            "lr_schedule": "cosine",
        },
    )
