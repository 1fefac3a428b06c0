"""The instructions one epoch takes, under valgrind's callgrind: two checkouts compared
where seconds are too noisy to tell a few percent apart.

    python benchmarks/instructions.py ../before              # cases a, c, d
    python benchmarks/instructions.py ../before --cases c

Each case runs in a fresh process per checkout (its ``src`` on PYTHONPATH, one BLAS
thread) under ``valgrind --tool=callgrind`` with instrumentation off; after a warm-up
epoch the process turns it on (``callgrind_control -i on``) for one epoch of bench.py's
case on 4,096 examples ((d): predicting them in batches of 256) and off again. The count
is the same for the same binary and inputs whatever else the machine does, so a
difference is a difference in the work: Python's per-step overhead as much as the
products. Slow: about two minutes a run (NumPy's import under valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

ONE_EPOCH = """
import os, subprocess, sys
from threadpoolctl import threadpool_limits
threadpool_limits(1)
sys.path.insert(0, {here!r})
from bench import CASES, LR, make_data
from peers import Ldnn
case = {case!r}
X, y = make_data(4096)
trainer = Ldnn()
_, dims, batch, _ = CASES["a" if case == "d" else case]
model = trainer.train_epoch(X, y, dims, batch, LR, 0)  # the warm-up, not counted
def instrument(state):
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], capture_output=True)
instrument("on")
if case == "d":
    trainer.predict(model, X, 256)
else:
    trainer.train_epoch(X, y, dims, batch, LR, 0)
instrument("off")
"""


def count(root: Path, case: str) -> int:
    env = dict(os.environ, PYTHONPATH=str(root / "src"), OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                "-c",
                ONE_EPOCH.format(here=str(HERE), case=case),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"{root}, case {case}: {done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the earlier checkout")
    parser.add_argument("--cases", default="a,c,d")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind (apt-get install valgrind)")
    print("| case (4,096 examples, 1 thread) | before (instructions) | after | after / before |")
    print("|---|---|---|---|")
    for case in args.cases.split(","):
        before, after = count(args.other.resolve(), case), count(HERE.parent, case)
        print(f"| {case} | {before:,} | {after:,} | {after / before:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
