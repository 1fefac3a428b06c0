"""Data-parallel training on MPI: strong scaling on this machine, with and without the
Allreduce started during backward, and a model for more machines.

    python benchmarks/mpi_scaling.py                 # cases (a), (b); P = 1, 2; 3 rounds
    python benchmarks/mpi_scaling.py --rounds 5 --epochs 3 --cases a

Cases (a) 784-256-256-10 and (b) 784-1024-1024-10 of ``make bench`` with the global batch
of the issue: batch 512, plain gd, float32, synthetic data (30,720 examples, 60 steps an
epoch). Each setting is a fresh ``mpiexec -n P`` job (or one process) that times
``--epochs`` epochs after a warm-up one: one rank at one thread; two ranks at one thread
each with dtheta's Allreduce after backward (``LDNN_ALLREDUCE_BUCKET=0``) and in buckets
started during backward (the default bucket, or ``--bucket``); one process at two
threads. The settings alternate for ``--rounds`` rounds and the medians are reported,
with the seconds rank 0 waited for the reductions (the record's ``reduce_seconds``, what
``ldnn train`` prints per epoch on ranks).

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


def worker(case: str, epochs: int) -> None:
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
    waited = []

    def waiting(epoch, record, parameters):  # the loop's own count, on ranks
        waited.append(record.get("reduce_seconds", 0.0))

    net = DeepNetwork(
        DIMS[case],
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
        if comm is not None:
            comm.barrier()
        start = time.perf_counter()
        net.fit(X[:, part], y[part], comm=comm, epochs=epochs, warm_start=True, callbacks=[waiting])
        seconds = time.perf_counter() - start
    steps = epochs * (M // BATCH)
    if rank == 0:
        print(json.dumps({"step_ms": 1e3 * seconds / steps, "wait_ms": 1e3 * sum(waited) / steps}))


#: name: (ranks, threads, bucket); ranks 0: one process without mpiexec; bucket None:
#: the default.
SETTINGS = {
    "1 rank, 1 thread": (1, 1, None),
    "2 ranks, 1 thread each, one Allreduce after backward": (2, 1, "0"),
    "2 ranks, 1 thread each, buckets during backward": (2, 1, None),
    "1 process, 2 threads": (0, 2, None),
}


def run_setting(case: str, ranks: int, threads: int, bucket, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.update(
        OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), BENCH_THREADS=str(threads)
    )
    if bucket is not None:
        env["LDNN_ALLREDUCE_BUCKET"] = bucket
    command = [sys.executable, __file__, "--worker", case, "--epochs", str(epochs)]
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
    parser.add_argument("--worker", metavar="CASE", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default="a,b", help="cases a and/or b (default a,b)")
    parser.add_argument("--bucket", help="LDNN_ALLREDUCE_BUCKET of the bucketed setting")
    parser.add_argument(
        "--fixed-ms",
        type=float,
        default=0.3,
        help="the per-step time that does not shrink with B/N (default 0.3)",
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.epochs)
        return
    settings = dict(SETTINGS)
    if args.bucket is not None:
        name = "2 ranks, 1 thread each, buckets during backward"
        settings[name] = (2, 1, args.bucket)
    base = None
    for case in args.cases.split(","):
        samples = {name: [] for name in settings}
        for _ in range(args.rounds):
            for name, (ranks, threads, bucket) in settings.items():
                samples[name].append(run_setting(case, ranks, threads, bucket, args.epochs))
        one = statistics.median(s["step_ms"] for s in samples["1 rank, 1 thread"])
        base = one if case == "a" else base
        print(
            f"\ncase ({case}) {'-'.join(map(str, DIMS[case]))}, global batch {BATCH}, {M} "
            f"examples; medians of {args.rounds} rounds of {args.epochs} epochs\n"
        )
        print(
            "| setting | ms per step | speed-up | efficiency | waiting for reductions ms (share) |"
        )
        print("|---|---|---|---|---|")
        for name, (ranks, _, _) in settings.items():
            step = statistics.median(s["step_ms"] for s in samples[name])
            wait = statistics.median(s["wait_ms"] for s in samples[name])
            workers = max(ranks, 1) if ranks else 2
            share = f"{wait:.2f} ({wait / step:.0%})" if ranks > 1 else "-"
            print(
                f"| {name} | {step:.2f} | {one / step:.2f}x | {one / step / workers:.0%} | "
                f"{share} |"
            )
    if base is None:
        return
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
