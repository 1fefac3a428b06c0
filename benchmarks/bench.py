"""Side-by-side training and inference benchmark: ldnn, PyTorch (CPU) and scikit-learn.

    python benchmarks/bench.py                  # all cases, 1 and 2 threads
    python benchmarks/bench.py --cases a,c --threads 1 --processes 2 --repeats 2

Every case runs the three libraries on the same synthetic data (m x 784 float32, 10
classes), architecture, batch size, optimizer (plain mini-batch SGD) and thread count,
one after another in one process, in rounds (A B C R, B C A R, C A B R, ...: the order
turns each round, R is the roofline). ``--processes N`` repeats the whole run in N fresh
processes and pools the rounds. The table gives the median samples per second of each
library and, as the ratios, the median over rounds of each round's ratio: on a shared
machine whose speed drifts, a ratio taken within one round compares runs made under the
same conditions. ``--isolate`` runs each library's round in a process of its own
instead, the libraries' processes in turns: two runtimes' thread pools in one process
(OpenBLAS's and PyTorch's OpenMP threads, which spin a while after each call) can slow
whichever runs next at two threads. The float32 GEMM roofline is the time np.matmul
alone needs for the products of one epoch (W[l] A[l-1], dZ[l] A[l-1]^T, W[l]^T dZ[l]
except for l = 1), measured in every round. Case (d) predicts with (a)'s network: the
whole set at once, in batches of 256, and one row at a time (2,000 calls, a server's
latency). Case (e) measures peak RSS in a fresh process per library.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from peers import TRAINERS  # noqa: E402

CASES = {
    # name: (description, layer_dims, batch size, examples per timed run)
    "a": ("784-256-256-10, batch 256", [784, 256, 256, 10], 256, 60_000),
    "b": ("784-1024-1024-10, batch 256", [784, 1024, 1024, 10], 256, 20_000),
    "c": ("784-(64 x 10)-10, batch 64", [784] + [64] * 10 + [10], 64, 60_000),
}
LR = 0.01
#: Case (d), inference of (a)'s network: (label, rows per call (None: all), rows).
#: One row at a time is a server's latency: each call's own cost, not the products'.
PREDICTIONS = (
    ("whole set", None, 60_000),
    ("batches of 256", 256, 60_000),
    ("one row at a time", 1, 2_000),
)


def make_data(m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 784), dtype=np.float32)
    y = rng.integers(0, 10, m)
    return X, y


def limit_threads(n: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass


def gemm_roofline(dims, batch, m, repeats=5) -> float:
    """Samples/s if an epoch cost nothing but its matrix products (np.matmul, float32)."""
    rng = np.random.default_rng(0)
    shapes = []
    for l in range(1, len(dims)):
        n, n_prev = dims[l], dims[l - 1]
        shapes.append(((n, n_prev), (n_prev, batch)))  # Z = W . A_prev
        shapes.append(((n, batch), (batch, n_prev)))  # dW = dZ . A_prev^T
        if l > 1:
            shapes.append(((n_prev, n), (n, batch)))  # dA_prev = W^T . dZ
    arrays = [
        (
            rng.standard_normal(a, dtype=np.float32),
            rng.standard_normal(b, dtype=np.float32),
            np.empty((a[0], b[1]), np.float32),
        )
        for a, b in shapes
    ]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            for left, right, out in arrays:
                np.matmul(left, right, out=out)
        times.append((time.perf_counter() - start) / 20)
    return batch / statistics.median(times)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _turn(names: list, k: int) -> list:
    """``names`` rotated by k places: each library goes first in turn."""
    k %= len(names)
    return names[k:] + names[:k]


def run_worker(cases, threads, repeats, only=None) -> dict:
    """Time every case in this process (``only``: one library's); returns {key:
    [samples per second, ...]}."""
    limit_threads(threads)
    trainers = {name: cls() for name, cls in TRAINERS.items() if only in (None, name)}
    results: dict[str, list[float]] = {}
    X_all, y_all = make_data(60_000)
    for case in cases:
        if case not in CASES:  # (d) below; (e) runs in processes of its own
            continue
        _, dims, batch, m = CASES[case]
        X, y = X_all[:m], y_all[:m]
        for repeat in range(repeats + 1):  # the first round warms up and is dropped
            for name in _turn(list(trainers), repeat):
                train = functools.partial(trainers[name].train_epoch, X, y, dims, batch, LR, 0)
                seconds, _ = timed(train)
                if repeat:
                    results.setdefault(f"{case}/{name}", []).append(m / seconds)
            if repeat and only in (None, "ldnn"):  # (isolated: in ldnn's process)
                results.setdefault(f"{case}/roofline", []).append(gemm_roofline(dims, batch, m))
    if "d" in cases:
        _, dims, batch, _ = CASES["a"]
        X_small, y_small = X_all[:2048], y_all[:2048]
        for repeat in range(repeats + 1):
            for name in _turn(list(trainers), repeat):
                trainer = trainers[name]
                model = trainer.train_epoch(X_small, y_small, dims, batch, LR, 0)
                for label, size, m in PREDICTIONS:
                    X = X_all[:m]
                    seconds, _ = timed(functools.partial(trainer.predict, model, X, size))
                    if repeat:
                        results.setdefault(f"d {label}/{name}", []).append(m / seconds)
    return results


def peak_rss_mib(case: str, name: str, threads: int, epochs: int = 3) -> dict:
    """Train in a fresh process; RSS in MiB: the baseline after the library is imported
    and warmed up on a tiny set (so its code and BLAS buffers are counted there), the
    data, the peak, and the RSS after each epoch."""
    code = f"""
import json, resource, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from bench import CASES, make_data, limit_threads
from peers import TRAINERS

def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20

limit_threads({threads})
_, dims, batch, m = CASES[{case!r}]
trainer = TRAINERS[{name!r}]()
X, y = make_data(2 * batch)
trainer.train_epoch(X, y, dims, batch, 0.01, 0)
del X, y
base = rss()
X, y = make_data(m)
data = rss() - base
after = []
for epoch in range({epochs}):
    trainer.train_epoch(X, y, dims, batch, 0.01, epoch)
    after.append(rss())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"base": base, "data": data, "peak": peak, "after_each_epoch": after}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def model_bytes(dims, batch) -> dict:
    """What one training step needs to hold: parameters, SGD state (none), one batch of
    activations and gradients (Z, A, dZ, dA per layer, plus the batch itself)."""
    params = sum(dims[l] * dims[l - 1] + dims[l] for l in range(1, len(dims)))
    activations = sum(4 * dims[l] * batch for l in range(1, len(dims))) + dims[0] * batch
    return {"parameters": 4 * params, "gradients": 4 * params, "batch": 4 * activations}


def blas_description() -> str:
    from threadpoolctl import threadpool_info

    parts = []
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            parts.append(
                f"{pool['internal_api']} {pool.get('version')} "
                f"({pool.get('architecture')}, {Path(pool['filepath']).name})"
            )
    return "; ".join(parts) or "unknown"


def median(values):
    return statistics.median(values) if values else float("nan")


def median_ratio(ours: list, theirs: list) -> float:
    """The median over rounds of ours / theirs, the two measured in the same round."""
    return median([a / b for a, b in zip(ours, theirs, strict=True)])


def report(pooled: dict, threads: int, cases) -> str:
    lines = [
        f"\n### {threads} thread{'s' if threads > 1 else ''}\n",
        "| case | ldnn | PyTorch | scikit-learn | ldnn / PyTorch | ldnn / sklearn "
        "| GEMM roofline | ldnn / roofline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keys = [c for c in cases if c != "d"] + (
        [f"d {label}" for label, _, _ in PREDICTIONS] if "d" in cases else []
    )
    for case in keys:
        runs = {name: pooled.get(f"{case}/{name}", []) for name in (*TRAINERS, "roofline")}
        ours, torch_, skl, roof = map(median, (runs[n] for n in (*TRAINERS, "roofline")))
        label = CASES[case][0] if case in CASES else f"inference of (a), {case[2:]}"
        roof_cells = "– | –"
        if runs["roofline"]:
            roof_cells = f"{roof:,.0f} | {median_ratio(runs['ldnn'], runs['roofline']):.0%}"
        lines.append(
            f"| ({case[0]}) {label} | {ours:,.0f} | {torch_:,.0f} | {skl:,.0f} | "
            f"{median_ratio(runs['ldnn'], runs['pytorch']):.2f}x | "
            f"{median_ratio(runs['ldnn'], runs['sklearn']):.2f}x | {roof_cells} |"
        )
    rounds = len(pooled.get(f"{keys[0]}/ldnn", [])) if keys else 0
    lines.append(
        f"\nsamples per second: medians over {rounds} rounds; ratios: medians of the rounds' ratios"
    )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="a,b,c,d,e")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="each library in a process of its own, one round a process, the libraries' "
        "processes alternating (their thread pools never share a process)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    if args.worker:
        print(json.dumps(run_worker(cases, int(args.threads), args.repeats, args.only)))
        return
    import torch

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.processor() or platform.platform()}"
    )
    print(f"numpy {np.__version__}, BLAS: {blas_description()}; torch {torch.__version__}")
    from sklearn import __version__ as sk_version

    print(
        f"scikit-learn {sk_version}; command: python benchmarks/bench.py "
        + " ".join(argv if argv is not None else sys.argv[1:])
    )
    for threads in [int(t) for t in args.threads.split(",")]:
        pooled: dict[str, list[float]] = {}
        worker = [sys.executable, __file__, "--worker", "--cases", args.cases]
        worker += ["--threads", str(threads)]
        if args.isolate:  # a round is one process per library, in turns
            runs = [
                [*worker, "--repeats", "1", "--only", name]
                for k in range(args.processes * args.repeats)
                for name in _turn(list(TRAINERS), k)
            ]
        else:
            runs = [[*worker, "--repeats", str(args.repeats)]] * args.processes
        for command in runs:
            out = subprocess.run(command, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"benchmark worker failed:\n{out.stderr}")
            for key, values in json.loads(out.stdout.strip().splitlines()[-1]).items():
                pooled.setdefault(key, []).extend(values)
        print(report(pooled, threads, [c for c in cases if c != "e"]))
        if "e" in cases:
            _, dims, batch, m = CASES["a"]
            need = sum(model_bytes(dims, batch).values()) / 2**20
            print(
                f"\n(e) memory of one training run of (a), 3 epochs, fresh process (MiB); "
                f"budget for the growth beyond the data: 1.2 x (parameters + gradients + "
                f"one batch of activations and gradients) = {1.2 * need:.1f} MiB\n"
            )
            print(
                "| library | baseline | data | peak | peak - baseline - data "
                "| RSS after each epoch |"
            )
            print("|---|---:|---:|---:|---:|---|")
            for name in TRAINERS:
                r = peak_rss_mib("a", name, threads)
                epochs = ", ".join(f"{v:.0f}" for v in r["after_each_epoch"])
                growth = r["peak"] - r["base"] - r["data"]
                print(
                    f"| {name} | {r['base']:.0f} | {r['data']:.0f} | {r['peak']:.0f} | "
                    f"{growth:.1f} | {epochs} |"
                )


if __name__ == "__main__":
    main()
