"""Scaling sweep: ldnn's epoch time against m and against width.

    python benchmarks/scaling.py [--out docs/benchmarks]

Training cost should grow linearly in the number of examples m (fixed network) and in
the number of weights (fixed m): each epoch does a fixed number of FLOPs per example per
weight. The script times one epoch of 784-256-256-10 (batch 256) for m = 1k .. 60k, and
of 784-w-w-10 for w = 64 .. 2048 on 8,000 examples, fits time = a + b x by least squares
and writes both plots (PNG) and a CSV.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from ldnn import DeepNetwork


def epoch_seconds(X_rows, y, dims, batch=256, repeats=3) -> float:
    net = DeepNetwork(dims, learning_rate=0.01, epochs=1, batch_size=batch, dtype="float32")
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        net.fit(X_rows.T, y)
        best = min(best, time.perf_counter() - start)
    return best


def linear_fit(x, t):
    """Least-squares t = a + b x; returns (a, b, R^2)."""
    x, t = np.asarray(x, float), np.asarray(t, float)
    b, a = np.polyfit(x, t, 1)
    residual = t - (a + b * x)
    return a, b, 1 - (residual @ residual) / ((t - t.mean()) @ (t - t.mean()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/benchmarks", help="folder for PNG and CSV")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    X_all = rng.standard_normal((60_000, 784), dtype=np.float32)
    y_all = rng.integers(0, 10, 60_000)

    sizes = [1_000, 2_000, 5_000, 10_000, 20_000, 40_000, 60_000]
    by_m = [epoch_seconds(X_all[:m], y_all[:m], [784, 256, 256, 10]) for m in sizes]
    widths = [64, 128, 256, 512, 1024, 2048]
    weights = [784 * w + w * w + 10 * w for w in widths]
    by_width = [
        epoch_seconds(X_all[:8_000], y_all[:8_000], [784, w, w, 10], repeats=2) for w in widths
    ]

    with open(out / "scaling.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["sweep", "x", "weights", "epoch_seconds"])
        for m, t in zip(sizes, by_m, strict=True):
            writer.writerow(["m", m, weights[2], f"{t:.6f}"])
        for w, n, t in zip(widths, weights, by_width, strict=True):
            writer.writerow(["width", w, n, f"{t:.6f}"])

    fit_m, fit_w = linear_fit(sizes, by_m), linear_fit(weights, by_width)
    print(
        f"time vs m:       t = {fit_m[0]:.4f} s + {fit_m[1] * 1e6:.2f} us x m, R^2 = {fit_m[2]:.4f}"
    )
    print(
        f"time vs weights: t = {fit_w[0]:.4f} s + {fit_w[1] * 1e9:.2f} ns x weights, "
        f"R^2 = {fit_w[2]:.4f}"
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, x, t, fit, label in (
        (axes[0], sizes, by_m, fit_m, "examples m (784-256-256-10)"),
        (axes[1], weights, by_width, fit_w, "weights (784-w-w-10, m = 8,000)"),
    ):
        ax.plot(x, t, "o", label="measured")
        grid = np.linspace(0, max(x), 100)
        ax.plot(grid, fit[0] + fit[1] * grid, "-", label=f"linear fit, R² = {fit[2]:.4f}")
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle("ldnn epoch time grows linearly in m and in the number of weights")
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=90)
    print(f"wrote {out / 'scaling.png'} and {out / 'scaling.csv'}")


if __name__ == "__main__":
    main()
