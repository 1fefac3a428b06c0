"""``make demo``: train a 4-layer network on generated two-spirals data and show it learn.

Run with ``python -m ldnn.demo``.
"""

from __future__ import annotations

import numpy as np

from .data import make_spirals
from .network import DeepNetwork

_BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values, width: int = 60) -> str:
    """The values as one line of bars, on a log scale, resampled to ``width`` columns."""
    values = np.log10(np.asarray(values, dtype=float))
    values = values[np.linspace(0, len(values) - 1, min(width, len(values))).astype(int)]
    low, high = values.min(), values.max()
    scaled = (values - low) / (high - low or 1)
    return "".join(_BARS[int(round(v * (len(_BARS) - 1)))] for v in scaled)


def main() -> None:
    X, Y = make_spirals(1000, seed=0)
    X_test, Y_test = make_spirals(500, seed=1)
    net = DeepNetwork(
        [2, 32, 32, 16, 1],
        activations="relu",
        optimizer="adam",
        learning_rate=0.01,
        epochs=300,
        batch_size=64,
        seed=0,
    )
    print("ldnn demo: two spirals, 1000 training and 500 test examples\n")
    net.summary(m=64)
    history = net.fit(X, Y, validation_data=(X_test, Y_test), verbose=50)
    costs = history.cost
    curve = f"{costs[0]:.3f} {sparkline(costs)} {costs[-1]:.3f}"
    print(f"\ncost (log scale) over {len(costs)} epochs: {curve}")
    train, test = net.evaluate(X, Y), net.evaluate(X_test, Y_test)
    print(f"train accuracy: {train['accuracy']:.1%}   test accuracy: {test['accuracy']:.1%}")


if __name__ == "__main__":
    main()
