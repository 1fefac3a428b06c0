"""A table four times larger than the memory a process may take (issue 27): ``ldnn train``
and ``ldnn predict`` under an address-space limit, streamed from disk, against the same
command reading a subsample that fits whole.

    python benchmarks/larger_than_memory.py                    # 5,000,000 x 100: 4 GB
    python benchmarks/larger_than_memory.py --rows 1000000 --memory 256M --csv

The table: ``--rows`` rows of ``--numbers`` float64 numbers (a 0/1 target that depends
on three of them), written once under ``--dir`` as Parquet (``--csv``: and as CSV). The
limit (RLIMIT_AS, ``ulimit -v``) is the address space the same command takes on 2,000
rows (Python, NumPy, pyarrow, scikit-learn: what any run takes) plus ``--memory``; the
numbers alone, as a whole read holds them (float64), are ``rows x numbers x 8`` bytes.
Each command runs in a child that prints its VmPeak (address space) and VmHWM (peak
resident memory) at exit. ``--stream`` is left to its default, auto: the run says why
it streams. The subsample (the first ``--subsample`` rows) is trained read whole,
without a limit, for its test accuracy beside the streamed run's.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PEAK = str(Path(__file__).with_name("peak_child.py"))  # reports its peaks at exit
TRAIN = ["--epochs", "1", "--layers", "32,16", "--batch-size", "1024", "--no-plots", "--overwrite"]


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].isalpha() else int(text)


def generate(path: Path, rows: int, numbers: int, csv: Path | None = None) -> None:
    """Write the table a row group (65,536 rows) at a time: never whole in memory."""
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    rng = np.random.default_rng(0)
    names = [f"x{j}" for j in range(numbers)] + ["y"]
    schema = pa.schema([(n, pa.float64()) for n in names[:-1]] + [("y", pa.int8())])
    writer = pyarrow.parquet.ParquetWriter(path, schema)
    text = pyarrow.csv.CSVWriter(csv, schema) if csv else None
    for start in range(0, rows, 1 << 16):
        k = min(1 << 16, rows - start)
        X = rng.normal(size=(k, numbers))
        y = (X[:, :3].sum(axis=1) + 0.5 * rng.normal(size=k) > 0).astype(np.int8)
        batch = pa.record_batch([*(X[:, j] for j in range(numbers)), y], schema=schema)
        writer.write_batch(batch)
        if text:
            text.write_batch(batch)
    writer.close()
    if text:
        text.close()


def run(args: list[str], folder: Path, limit: int | None = None) -> dict:
    """``ldnn ARGS`` in a child (one BLAS thread) under ``limit``: its seconds, VmPeak,
    VmHWM, exit status and output."""

    def set_limit():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "TMPDIR": str(folder),
    }
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, PEAK, *args, "--threads", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        preexec_fn=set_limit,
    )
    found = {"seconds": time.perf_counter() - start, "status": done.returncode}
    for line in done.stderr.splitlines():
        if line.startswith(("VmPeak", "VmHWM")):
            key, value = line.split(":")
            found[key] = int(value.split()[0]) << 10
    found["stdout"], found["stderr"] = done.stdout, done.stderr
    return found


def accuracy(output: str) -> float | None:
    for line in output.splitlines():
        if line.strip().startswith("test:") and "accuracy = " in line:
            return float(line.split("accuracy = ")[1].split()[0])
    return None


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n < 2**30 else f"{n / 2**30:,.2f} GiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--numbers", type=int, default=100)
    parser.add_argument("--memory", type=size, default=1 << 30, help="room over the baseline")
    parser.add_argument("--subsample", type=int, default=500_000)
    parser.add_argument("--csv", action="store_true", help="the CSV form of the table too")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ldnn-big")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    stem = f"big-{args.rows}-{args.numbers}"
    table = args.dir / f"{stem}.parquet"
    csv = args.dir / f"{stem}.csv"
    if not table.exists() or (args.csv and not csv.exists()):
        generate(table, args.rows, args.numbers, csv if args.csv else None)
    small, sub = args.dir / f"small-{args.numbers}.parquet", args.dir / f"{stem}-sub.parquet"
    if not small.exists():
        generate(small, 2_000, args.numbers)
    if not sub.exists():
        generate(sub, args.subsample, args.numbers)
    base = run(["train", small.name, *TRAIN, "--name", "base"], args.dir)
    limit = base["VmPeak"] + args.memory
    numbers = args.rows * args.numbers * 8
    print(f"table: {args.rows:,} rows x {args.numbers} numbers, {mib(numbers)} as float64")
    print(
        f"limit: {mib(limit)} of address space = the 2,000-row run's {mib(base['VmPeak'])} "
        f"+ {mib(args.memory)} ({numbers / args.memory:.1f}x less than the numbers)\n"
    )
    print(
        "| file | command | status | seconds | peak RSS | over the 2,000-row run | test accuracy |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    subsample = run(["train", sub.name, *TRAIN, "--stream", "off", "--name", "sub"], args.dir)
    print(
        f"| {sub.name} (first {args.subsample:,} rows, no limit) | train, read whole "
        f"| {subsample['status']} | {subsample['seconds']:.0f} | {mib(subsample['VmHWM'])} "
        f"| {mib(subsample['VmHWM'] - base['VmHWM'])} | {accuracy(subsample['stdout'])} |"
    )
    for path in [table, *([csv] if args.csv else [])]:
        name = f"run-{path.suffix[1:]}"
        found = run(["train", path.name, *TRAIN, "--name", name], args.dir, limit)
        said = [line for line in found["stdout"].splitlines() if line.startswith("table:")]
        print(
            f"| {path.name} | train (auto: {said[0][7:40] + '...' if said else '?'}) "
            f"| {found['status']} | {found['seconds']:.0f} | {mib(found.get('VmHWM', 0))} "
            f"| {mib(found.get('VmHWM', 0) - base['VmHWM'])} | {accuracy(found['stdout'])} |"
        )
        if found["status"]:
            print(found["stderr"][-1500:], file=sys.stderr)
            continue
        out = args.dir / f"{name}.csv"
        predicted = run(["predict", f"runs/{name}", path.name, "-o", str(out)], args.dir, limit)
        print(
            f"| {path.name} | predict | {predicted['status']} | {predicted['seconds']:.0f} "
            f"| {mib(predicted.get('VmHWM', 0))} "
            f"| {mib(predicted.get('VmHWM', 0) - base['VmHWM'])} | |"
        )
        out.unlink(missing_ok=True)
    whole = run(
        ["train", table.name, *TRAIN, "--stream", "off", "--name", "whole"], args.dir, limit
    )
    last = (whole["stderr"].strip().splitlines() or [""])[-1]
    print(f"\nread whole under the same limit: exit {whole['status']}: {last[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
