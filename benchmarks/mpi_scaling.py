"""Data-parallel training on MPI: strong scaling on this machine, and a model for more.

    python benchmarks/mpi_scaling.py                 # P = 1, 2 ranks at 1 thread; 1 x 2 threads
    python benchmarks/mpi_scaling.py --rounds 5 --epochs 3

Case (a) of ``make bench`` with the global batch of the issue: 784-256-256-10, batch 512,
plain gd, float32, synthetic data (30,720 examples, 60 steps an epoch). Each setting is a
fresh ``mpiexec -n P`` job (or one process) that times ``--epochs`` epochs after a warm-up
one; the settings alternate for ``--rounds`` rounds and the medians are reported, with
the Allreduce's share of a step (timed around ``comm.Allreduce`` in the step itself).

The model (docs/scale.md): a step on N machines takes t(N) = c B / N + f + r(N), with c
the compute time per example and f the fixed time per step measured here at P = 1, and
the ring Allreduce r(N) = 2 (N - 1) / N x |theta| x 4 bytes / bandwidth + 2 (N - 1) x
latency. Efficiency = t(1) / (N t(N)).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DIMS = {"a": [784, 256, 256, 10], "b": [784, 1024, 1024, 10]}
BATCH, M = 512, 512 * 60


def worker(epochs: int) -> None:
    """One rank (or the one process): time the epochs, print JSON on rank 0."""
    from threadpoolctl import threadpool_limits

    from ldnn import DeepNetwork
    from ldnn.training import mpi as parallel

    comm = parallel.world()
    size, rank = (1, 0) if comm is None else (comm.Get_size(), comm.Get_rank())
    rng = np.random.default_rng(0)
    X = rng.standard_normal((784, M), dtype=np.float32)
    y = rng.integers(0, 10, M)
    part = parallel.share(M, size, rank)
    reduce_seconds = [0.0]
    if comm is not None:  # time the Allreduce inside the step
        original = parallel.MPIRanks._allreduce

        def timed(self):
            start = time.perf_counter()
            original(self)
            reduce_seconds[0] += time.perf_counter() - start

        parallel.MPIRanks._allreduce = timed
    net = DeepNetwork(
        DIMS["a"],
        activations="relu",
        optimizer="gd",
        learning_rate=0.01,
        epochs=1,
        batch_size=BATCH,
        dtype="float32",
        seed=0,
    )
    with threadpool_limits(int(os.environ.get("BENCH_THREADS", "1"))):
        net.fit(X[:, part], y[part], comm=comm)  # warm-up
        reduce_seconds[0] = 0.0
        if comm is not None:
            comm.barrier()
        start = time.perf_counter()
        net.fit(X[:, part], y[part], comm=comm, epochs=epochs, warm_start=True)
        seconds = time.perf_counter() - start
    steps = epochs * (M // BATCH)
    if rank == 0:
        print(
            json.dumps(
                {"step_ms": 1e3 * seconds / steps, "allreduce_ms": 1e3 * reduce_seconds[0] / steps}
            )
        )


SETTINGS = {
    "1 rank, 1 thread": (1, 1),
    "2 ranks, 1 thread each": (2, 1),
    "1 process, 2 threads": (0, 2),
}


def run_setting(ranks: int, threads: int, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.update(
        OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), BENCH_THREADS=str(threads)
    )
    command = [sys.executable, __file__, "--worker", "--epochs", str(epochs)]
    if ranks:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        command = [str(mpiexec), "-n", str(ranks), *command]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def parameters(dims) -> int:
    return sum(n * p + n for p, n in zip(dims, dims[1:], strict=False))


def predicted(step_ms: float, fixed_ms: float, dims, N: int, gbit: float, latency_us=20.0):
    """(step time in ms, efficiency) of one step on N machines, from the P = 1 figures."""
    compute = step_ms - fixed_ms
    ring = 2 * (N - 1) / N * parameters(dims) * 4 / (gbit * 1e9 / 8) * 1e3
    ring += 2 * (N - 1) * latency_us * 1e-3
    t = compute / N + fixed_ms + ring
    return t, step_ms / (N * t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--fixed-ms",
        type=float,
        default=0.3,
        help="the per-step time that does not shrink with B/N (default 0.3)",
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.epochs)
        return
    samples = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, (ranks, threads) in SETTINGS.items():
            samples[name].append(run_setting(ranks, threads, args.epochs))
    base = statistics.median(s["step_ms"] for s in samples["1 rank, 1 thread"])
    print(
        f"case (a) 784-256-256-10, global batch {BATCH}, {M} examples; medians of "
        f"{args.rounds} rounds of {args.epochs} epochs\n"
    )
    print("| setting | ms per step | speed-up | efficiency | Allreduce ms (share) |")
    print("|---|---|---|---|---|")
    for name, (ranks, _) in SETTINGS.items():
        step = statistics.median(s["step_ms"] for s in samples[name])
        reduce = statistics.median(s["allreduce_ms"] for s in samples[name])
        workers = max(ranks, 1) if ranks else 2
        share = f"{reduce:.2f} ({reduce / step:.0%})" if ranks > 1 else "-"
        print(
            f"| {name} | {step:.2f} | {base / step:.2f}x | {base / step / workers:.0%} | {share} |"
        )
    print(
        f"\nmodel: t(N) = (t1 - f) / N + f + ring Allreduce; t1 = {base:.2f} ms measured "
        f"for (a), f = {args.fixed_ms} ms, latency 20 us per message; (b) scaled by its "
        f"FLOPs ({parameters(DIMS['b']) / parameters(DIMS['a']):.1f}x)\n"
    )
    print("| case | Gbit/s | " + " | ".join(f"N={n}" for n in (2, 4, 8, 16, 32, 64)) + " |")
    print("|---|---|" + "---|" * 6)
    for case, dims in DIMS.items():
        t1 = base * parameters(dims) / parameters(DIMS["a"])
        for gbit in (10, 100):
            cells = []
            for N in (2, 4, 8, 16, 32, 64):
                t, efficiency = predicted(t1, args.fixed_ms, dims, N, gbit)
                cells.append(f"{t:.2f} ms, {efficiency:.0%}")
            print(f"| ({case}) | {gbit} | " + " | ".join(cells) + " |")
    print(
        "\nglobal batch B at which a machine's compute, c B / N, equals the Allreduce "
        "(below it communication costs more than it saves; c from the P = 1 step)\n"
    )
    print("| case | Gbit/s | " + " | ".join(f"N={n}" for n in (2, 4, 8, 16, 32, 64)) + " |")
    print("|---|---|" + "---|" * 6)
    for case, dims in DIMS.items():
        t1 = base * parameters(dims) / parameters(DIMS["a"])
        per_example = (t1 - args.fixed_ms) / BATCH
        for gbit in (10, 100):
            cells = []
            for N in (2, 4, 8, 16, 32, 64):
                ring = predicted(t1, args.fixed_ms, dims, N, gbit)[0] - (t1 - args.fixed_ms) / N
                ring -= args.fixed_ms
                cells.append(f"{N * ring / per_example:.0f}")
            print(f"| ({case}) | {gbit} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
