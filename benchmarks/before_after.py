"""ldnn against an earlier ldnn, in one run: did a change move the speed?

    python benchmarks/before_after.py ../before          # cases (a)-(d), 1 and 2 threads
    python benchmarks/before_after.py ../before --cases a,c --threads 1 --rounds 7

The cases are bench.py's: (a)-(c) one epoch of mini-batch SGD on m x 784 float32, (d)
prediction on 60,000 examples, whole and in batches of 256. Each round runs one fresh
process per checkout, in turn (the order alternates between rounds), each timing every
case after a warm-up; a checkout's ldnn is its own ``src`` (PYTHONPATH). The table gives
each checkout's median samples per second and the median over rounds of the round's
ratio (this checkout / the other): a ratio taken within a round compares runs made under
the same conditions on a machine whose speed drifts.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import CASES, LR, make_data, timed  # noqa: E402
from peers import Ldnn  # noqa: E402


def worker(cases: list[str], threads: int) -> dict:
    """Samples per second of every case, in this process (after one warm-up of each)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    trainer, found = Ldnn(), {}
    X_all, y_all = make_data(60_000)
    for case in cases:
        if case == "d":
            _, dims, batch, _ = CASES["a"]
            model = trainer.train_epoch(X_all[:2048], y_all[:2048], dims, batch, LR, 0)
            for label, size in (("d whole set", None), ("d batches of 256", 256)):
                trainer.predict(model, X_all, size)  # warm-up
                seconds, _ = timed(functools.partial(trainer.predict, model, X_all, size))
                found[label] = len(X_all) / seconds
            continue
        _, dims, batch, m = CASES[case]
        X, y = X_all[:m], y_all[:m]
        trainer.train_epoch(X, y, dims, batch, LR, 0)  # warm-up
        seconds, _ = timed(functools.partial(trainer.train_epoch, X, y, dims, batch, LR, 0))
        found[case] = m / seconds
    return found


def run_checkout(root: Path, cases: list[str], threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    done = subprocess.run(
        [sys.executable, __file__, "--worker", ",".join(cases), "--threads", str(threads)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if done.returncode:
        raise SystemExit(f"{root}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, nargs="?", help="the earlier checkout")
    parser.add_argument("--cases", default="a,b,c,d")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker.split(","), int(args.threads))))
        return 0
    trees = {"before": args.other.resolve(), "after": HERE.parent}
    print(f"ldnn {trees['after']} against {trees['before']}, {args.rounds} rounds")
    for threads in map(int, args.threads.split(",")):
        samples = {name: [] for name in trees}
        for k in range(args.rounds):
            order = list(trees) if k % 2 == 0 else list(reversed(trees))
            for name in order:
                samples[name].append(run_checkout(trees[name], args.cases.split(","), threads))
        print(
            f"\n{threads} BLAS thread(s)\n\n| case | before (samples/s) | after | after / before |"
        )
        print("|---|---|---|---|")
        for case in samples["after"][0]:
            before = [s[case] for s in samples["before"]]
            after = [s[case] for s in samples["after"]]
            ratio = statistics.median(a / b for a, b in zip(after, before, strict=True))
            print(
                f"| {case} | {statistics.median(before):,.0f} | {statistics.median(after):,.0f} "
                f"| {ratio:.3f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
