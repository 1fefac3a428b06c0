"""GPU check, for a machine with CuPy and a CUDA GPU (``pip install 'ldnn[gpu]'``):

    python benchmarks/gpu_check.py

1. Correctness: the same network, seed and data trained on the CPU (NumPy) and on the
   GPU (CuPy), float32, with mini-batches, dropout and Adam: costs and parameters must
   agree within float32 tolerance (the shuffles and dropout masks come from the same
   host generator on both devices).
2. Throughput: one epoch of 784-256-256-10 (batch 256) and of 784-1024-1024-10 (batch
   1024) on 60,000 synthetic examples, CPU against GPU, in samples per second.

Runs in well under 5 minutes; exits 1 if the correctness check fails.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ldnn import DeepNetwork


def correctness() -> bool:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20), dtype=np.float32).T
    y = (X[0] * X[1] + X[2] > 0).astype(np.float32).reshape(1, -1)
    settings = dict(
        activations="relu",
        optimizer="adam",
        learning_rate=0.003,
        epochs=5,
        batch_size=128,
        keep_prob=0.9,
        lambd=0.01,
        seed=1,
        dtype="float32",
    )
    runs = {}
    for device in ("cpu", "gpu"):
        net = DeepNetwork([20, 64, 64, 1], device=device, **settings)
        history = net.fit(X, y)
        runs[device] = (net, history)
    (cpu, h_cpu), (gpu, h_gpu) = runs["cpu"], runs["gpu"]
    cost_gap = max(abs(a - b) for a, b in zip(h_cpu.cost, h_gpu.cost, strict=True))
    param_gap = max(
        float(np.max(np.abs(cpu.parameters[k] - gpu.parameters[k]))) for k in cpu.parameters
    )
    out_gap = float(np.max(np.abs(cpu.predict_proba(X) - gpu.predict_proba(X))))
    ok = cost_gap < 1e-4 and param_gap < 1e-3 and out_gap < 1e-4
    print(
        f"correctness: max |cost cpu - gpu| = {cost_gap:.2e}, max |W cpu - gpu| = "
        f"{param_gap:.2e}, max |A[L] cpu - gpu| = {out_gap:.2e}: {'ok' if ok else 'FAILED'}"
    )
    return ok


def throughput() -> None:
    rng = np.random.default_rng(0)
    m = 60_000
    X = rng.standard_normal((m, 784), dtype=np.float32).T
    y = rng.integers(0, 10, m)
    for dims, batch in (([784, 256, 256, 10], 256), ([784, 1024, 1024, 10], 1024)):
        line = []
        for device in ("cpu", "gpu"):
            net = DeepNetwork(
                dims, learning_rate=0.01, epochs=1, batch_size=batch, device=device, dtype="float32"
            )
            net.fit(X[:, :4096], y[:4096])  # warm up (CUDA context, kernels, BLAS)
            start = time.perf_counter()
            net.fit(X, y)
            line.append(f"{device} {m / (time.perf_counter() - start):,.0f} samples/s")
        print(f"{'-'.join(map(str, dims))}, batch {batch}: " + ", ".join(line))


if __name__ == "__main__":
    good = correctness()
    throughput()
    sys.exit(0 if good else 1)
