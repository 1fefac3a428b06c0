"""Each MPI rank's resident memory, phase by phase, for ``ldnn train`` streamed from a
Parquet table (issue 27: each rank's share of the memory):

    python benchmarks/rank_memory.py                    # 2,500,000 rows x 16 numbers, P = 1, 2, 3
    python benchmarks/rank_memory.py --rows 500000 --ranks 1,2
    python benchmarks/rank_memory.py --split hash       # each row's part from its hash
    python benchmarks/rank_memory.py --traced           # also tracemalloc's peaks (MB/MB)

The table (numbers and a 0/1 target) is generated a row group at a time (as
``larger_than_memory.py`` does). For each P, ``mpiexec -n P`` runs this file as a child
(``--child``): ``ldnn train TABLE --stream on --epochs 1 --layers 8 --batch-size 1024
--ensemble 1`` in the process, a thread sampling its resident memory (VmRSS) every 10 ms,
and the phases marked where the table path's functions start and end: reading the file
to disk (spill), the targets, the split, the column rules, the parts' X, the fit and the
scores (rank 0 alone). Each rank writes the largest resident memory seen in each phase,
in MB ("after X": from X's end to the next phase), and this prints them.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: (module, function or Class.method, the phase's name): where a phase starts and ends.
PHASES = [
    ("ldnn.data.table_source", "spill", "spill"),
    ("ldnn.data.table_source", "target_values", "targets"),
    ("ldnn.data.table_local", "_targets", "targets"),
    ("ldnn.data.table_source", "split_rows", "split"),
    ("ldnn.data.table_source", "check_markers", "markers"),
    ("ldnn.data.encoding", "TableEncoding.fit", "rules"),
    ("ldnn.data.table_spill", "SpilledTable.part", "parts"),
    ("ldnn.model.network", "DeepNetwork.fit", "fit"),
    ("ldnn.runs.run", "TrainingRun.scores", "scores"),
]


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def child(args: list[str]) -> int:
    """ldnn ``args`` in this process, each phase's peak resident memory printed at the end
    (with RANK_MEMORY_TRACED set, also the peak of what tracemalloc sees: NumPy's arrays
    and Python's objects, not the libraries' own memory nor what the allocator keeps)."""
    phase, peaks, traced = ["start"], {}, {}
    tracing = bool(os.environ.get("RANK_MEMORY_TRACED"))
    if tracing:
        tracemalloc.start()

    def switch(to: str) -> None:
        if tracing:  # the phase that ends: its peak of traced memory
            was = phase[-1]
            traced[was] = max(traced.get(was, 0.0), tracemalloc.get_traced_memory()[1] / 1e6)
            tracemalloc.reset_peak()
        phase.append(to)

    def sample():
        while True:
            now = phase[-1]
            peaks[now] = max(peaks.get(now, 0.0), resident_mb())
            time.sleep(0.01)

    def marked(function, name):
        @functools.wraps(function)
        def call(*a, **k):
            switch(name)
            try:
                return function(*a, **k)
            finally:
                switch(f"after {name}")

        return call

    for module, attribute, name in PHASES:
        owner = importlib.import_module(module)
        if "." in attribute:
            owner_name, attribute = attribute.split(".")
            owner = getattr(owner, owner_name)
        setattr(owner, attribute, marked(getattr(owner, attribute), name))
    threading.Thread(target=sample, daemon=True).start()
    from ldnn.cli import main

    code = main(args)
    time.sleep(0.05)
    switch("end")
    rank = os.environ.get("PMI_RANK", "0")
    shown = ", ".join(
        f"{name} {mb:.0f}" + (f"/{traced.get(name, 0.0):.0f}" if tracing else "")
        for name, mb in peaks.items()
        if name != "start"
    )
    # a file per rank: the ranks' lines on one stderr would run into each other
    (Path(os.environ["RANK_MEMORY_FOLDER"]) / f"rank-{rank}.txt").write_text(shown)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_500_000)
    parser.add_argument("--numbers", type=int, default=16)
    parser.add_argument("--ranks", default="1,2,3")
    parser.add_argument("--split", default="shuffle", help="ldnn train's --split")
    parser.add_argument(
        "--traced", action="store_true", help="also each phase's peak of tracemalloc's memory"
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child)
    sys.path.insert(0, str(HERE))
    from larger_than_memory import generate

    mpiexec = Path(sys.executable).parent / "mpiexec"
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "table.parquet"
        generate(table, args.rows, args.numbers)
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TMPDIR": tmp}
        if args.traced:
            env["RANK_MEMORY_TRACED"] = "1"
        for P in [int(p) for p in args.ranks.split(",")]:
            train = ["train", str(table), "--target", "y", "--stream", "on", "--epochs", "1"]
            train += ["--layers", "8", "--batch-size", "1024", "--ensemble", "1", "--threads", "1"]
            train += ["--no-plots", "-q", "--name", f"P{P}", "--runs-dir", str(Path(tmp) / "runs")]
            train += ["--split", args.split]
            command = [str(mpiexec), "-n", str(P), sys.executable, __file__, "--child", *train]
            folder = Path(tmp) / f"peaks-{P}"
            folder.mkdir()
            env["RANK_MEMORY_FOLDER"] = str(folder)
            subprocess.run(command, env=env, capture_output=True, check=True)
            print(f"P = {P}", flush=True)
            for rank in range(P):
                print(f"  rank {rank}: " + (folder / f"rank-{rank}.txt").read_text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
