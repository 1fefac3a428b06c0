"""The elementwise work of a training step, three ways, at 1 and 2 threads: what a kernel
layer could buy before any is written (the CPU-threads issue: measure before choosing).

    pip install numba numexpr            # the two candidates, not ldnn dependencies
    python benchmarks/elementwise.py

For each case of ``make bench`` the script times, per step, the elementwise operations
ldnn's step runs today, with NumPy (always one core), with numexpr (its own thread pool)
and with numba (``parallel=True``, its own threads), each fused where the library allows:

- forward, each hidden layer: Z[l] += b[l]; A[l] = max(Z[l], 0)      (numba, numexpr: one pass)
- backward, each hidden layer: dZ[l] = dA[l] * (Z[l] > 0)            (one pass each way)
- the update of gd over theta: theta -= alpha dtheta

and prints microseconds per step and what share of ldnn's measured step they are, so the
gain at two threads is bounded by numbers, not hopes. Timings are medians of 7 repeats of
200 calls; first-call compile time (numba) is reported apart.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

CASES = {
    "a": ([784, 256, 256, 10], 256),
    "b": ([784, 1024, 1024, 10], 256),
    "c": ([784] + [64] * 10 + [10], 64),
}


def per_call(function, calls=200, repeats=7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def numpy_ops(Z, b, dA, theta, dtheta, scratch):
    def forward():
        Z.__iadd__(b)
        np.maximum(Z, 0, out=Z)

    def backward():
        np.multiply(dA, Z > 0, out=dA)

    def update():
        np.multiply(dtheta, 0.01, out=scratch)
        theta.__isub__(scratch)

    return forward, backward, update


def numexpr_ops(Z, b, dA, theta, dtheta, scratch):
    import numexpr

    def forward():
        numexpr.evaluate("where(Z + b > 0, Z + b, 0)", {"Z": Z, "b": b}, out=Z, casting="same_kind")

    def backward():
        numexpr.evaluate("where(Z > 0, dA, 0)", {"Z": Z, "dA": dA}, out=dA, casting="same_kind")

    def update():
        numexpr.evaluate(
            "theta - 0.01 * dtheta",
            {"theta": theta, "dtheta": dtheta},
            out=theta,
            casting="same_kind",
        )

    return forward, backward, update


def numba_ops(Z, b, dA, theta, dtheta, scratch):
    import numba

    @numba.njit(parallel=True, fastmath=False, cache=True)
    def bias_relu(Z, b):  # A[l] = max(Z[l] + b[l], 0), in place
        for i in numba.prange(Z.shape[0]):
            bi = b[i, 0]
            for j in range(Z.shape[1]):
                z = Z[i, j] + bi
                Z[i, j] = z if z > 0 else 0

    @numba.njit(parallel=True, fastmath=False, cache=True)
    def relu_backward(dA, Z):  # dZ[l] = dA[l] * g'(Z[l]), in place
        for i in numba.prange(Z.shape[0]):
            for j in range(Z.shape[1]):
                if Z[i, j] <= 0:
                    dA[i, j] = 0

    @numba.njit(parallel=True, fastmath=False, cache=True)
    def gd(theta, dtheta, alpha):  # theta -= alpha dtheta
        for k in numba.prange(theta.size):
            theta[k] -= alpha * dtheta[k]

    start = time.perf_counter()
    bias_relu(Z, b), relu_backward(dA, Z), gd(theta, dtheta, np.float32(0.01))
    compile_seconds = time.perf_counter() - start
    ops = (
        lambda: bias_relu(Z, b),
        lambda: relu_backward(dA, Z),
        lambda: gd(theta, dtheta, np.float32(0.01)),
    )
    return ops, compile_seconds


def make_ops(library, Z, b, dA, theta, dtheta, scratch, threads):
    """(forward, backward, update) callables of ``library`` on these arrays, and the
    seconds the first call took (numba's compile or cache load; 0 for the others)."""
    if library == "numpy":
        return numpy_ops(Z, b, dA, theta, dtheta, scratch), 0.0
    if library == "numexpr":
        import numexpr

        numexpr.set_num_threads(threads)
        return numexpr_ops(Z, b, dA, theta, dtheta, scratch), 0.0
    import numba

    numba.set_num_threads(threads)
    return numba_ops(Z, b, dA, theta, dtheta, scratch)


def time_step(library, dims, batch, threads, rng) -> tuple[float, float, float, float]:
    """Seconds per step of (forward, backward, update), and the first-call seconds."""
    hidden = dims[1:-1]
    size = sum(n * p + n for p, n in zip(dims, dims[1:], strict=False))
    theta = rng.standard_normal(size, dtype=np.float32)
    dtheta = rng.standard_normal(size, dtype=np.float32)
    scratch = np.empty_like(theta)
    forward = backward = first = 0.0
    update = None
    for n in sorted(set(hidden)):
        Z = rng.standard_normal((n, batch), dtype=np.float32)
        b = rng.standard_normal((n, 1), dtype=np.float32)
        dA = rng.standard_normal((n, batch), dtype=np.float32)
        ops, seconds = make_ops(library, Z, b, dA, theta, dtheta, scratch, threads)
        first = max(first, seconds)
        forward += hidden.count(n) * per_call(ops[0])
        backward += hidden.count(n) * per_call(ops[1])
        update = per_call(ops[2]) if update is None else update
    return forward, backward, update, first


def main() -> None:
    rng = np.random.default_rng(0)
    print("| case | threads | library | forward us | backward us | update us | step us |")
    print("|---|---|---|---|---|---|---|")
    first_calls = []
    for case, (dims, batch) in CASES.items():
        for threads in (1, 2):
            for library in ("numpy", "numexpr", "numba"):
                with threadpool_limits(threads):
                    try:
                        forward, backward, update, first = time_step(
                            library, dims, batch, threads, rng
                        )
                    except ImportError:
                        continue
                first_calls.append(first)
                step = 1e6 * (forward + backward + update)
                print(
                    f"| ({case}) | {threads} | {library} | {1e6 * forward:.0f} "
                    f"| {1e6 * backward:.0f} | {1e6 * update:.0f} | {step:.0f} |"
                )
    print(f"\nlongest first call (numba's compile, or its cache load): {max(first_calls):.2f} s")


if __name__ == "__main__":
    main()
