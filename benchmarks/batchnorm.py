"""What batch normalisation costs an epoch: ldnn's case (a) of bench.py (784-256-256-10,
batch 256, plain mini-batch gradient descent, one epoch of 60,000 float32 examples) with
and without ``batch_norm=True``, alternating in one process.

    python benchmarks/batchnorm.py                   # 1 and 2 threads, 5 rounds each
    python benchmarks/batchnorm.py --threads 1 --rounds 3

The table gives the median epoch time of each and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ldnn import DeepNetwork


def epoch_seconds(X, y, batch_norm: bool) -> float:
    net = DeepNetwork(
        [784, 256, 256, 10],
        optimizer="gd",
        learning_rate=0.01,
        epochs=1,
        batch_size=256,
        seed=0,
        batch_norm=batch_norm,
    )
    start = time.perf_counter()
    net.fit(X, y)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60_000, 784), dtype=np.float32).T  # one example per column
    y = rng.integers(0, 10, 60_000)
    print("| threads | without s | with batch norm s | with / without |")
    print("|---|---|---|---|")
    for threads in (int(t) for t in args.threads.split(",")):
        with threadpool_limits(threads):
            epoch_seconds(X[:, :2560], y[:2560], True)  # warm-up
            rounds = []
            for r in range(args.rounds):
                order = (False, True) if r % 2 == 0 else (True, False)
                rounds.append({bn: epoch_seconds(X, y, bn) for bn in order})
        without = statistics.median(r[False] for r in rounds)
        with_bn = statistics.median(r[True] for r in rounds)
        ratio = statistics.median(r[True] / r[False] for r in rounds)
        print(f"| {threads} | {without:.2f} | {with_bn:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
