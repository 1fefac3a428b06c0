"""Reading a large table: ldnn's reader (pyarrow, then the column rules) beside
``pandas.read_csv`` on the same file, in time and in peak memory.

    python benchmarks/read_table.py                 # 1,000,000 rows x 20 columns
    python benchmarks/read_table.py --rows 200000 --repeats 1

The file is generated once (``--file``, default /tmp/ldnn-read-table.csv): 15 columns of
numbers and 5 of text (3 to 40 categories each), 5% of the cells empty, and a 0/1 target.
Each measurement runs in a fresh process, so that its peak resident memory (ru_maxrss)
is its own; memory is reported as the peak over the process's baseline after its
imports, and as a multiple of the float32 X the reader ends with (m x n[0] x 4 bytes).

- ldnn: ``read_columns`` (pyarrow's CSV reader, multi-threaded at ``--threads``), then
  ``TableEncoding.fit`` and ``transform`` to float32 X: every missing value imputed and
  every text column one-hot encoded, ready for the network;
- pandas: ``pandas.read_csv`` with its default C parser (one thread), which yields a
  DataFrame with text still text and missing values still NaN: less work than ldnn's.

Rounds alternate the order (ldnn first, then pandas first). The table gives the median
seconds of each and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_NUMBERS, N_TEXT, MISSING = 15, 5, 0.05
CATEGORIES = (3, 7, 12, 25, 40)


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write the benchmark's CSV with pyarrow (fast and exact)."""
    import pyarrow as pa
    import pyarrow.csv

    rng = np.random.default_rng(seed)
    columns = {}
    for j in range(N_NUMBERS):
        values = rng.normal(j, 1 + j, rows).round(4)
        columns[f"x{j}"] = pa.array(values, mask=rng.random(rows) < MISSING)
    for j, k in enumerate(CATEGORIES):
        words = np.array([f"cat{j}_{i}" for i in range(k)], dtype=object)
        columns[f"t{j}"] = pa.array(
            words[rng.integers(0, k, rows)], mask=rng.random(rows) < MISSING
        )
    columns["y"] = pa.array(rng.integers(0, 2, rows))
    pyarrow.csv.write_csv(pa.table(columns), path)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def worker(reader: str, path: str, threads: int) -> dict:
    """One measurement in this (fresh) process."""
    import pyarrow

    pyarrow.set_cpu_count(threads)
    pyarrow.set_io_thread_count(threads)
    if reader == "ldnn":
        from ldnn.data import TableEncoding, read_columns

        base = peak_mb()
        start = time.perf_counter()
        columns = read_columns(path)
        read = time.perf_counter() - start
        features = columns.only([n for n in columns.names if n != "y"])
        encoding = TableEncoding.fit(features)
        X = encoding.transform(features, dtype=np.float32)
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "read": read,
            "peak_mb": peak_mb() - base,
            "shape": list(X.shape),
        }
    else:
        import pandas

        base = peak_mb()
        start = time.perf_counter()
        frame = pandas.read_csv(path)
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "read": seconds,
            "peak_mb": peak_mb() - base,
            "shape": list(frame.shape),
        }


def measure(reader: str, path: Path, threads: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        reader,
        "--file",
        str(path),
        "--threads",
        str(threads),
    ]
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, **env}
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--file", default="/tmp/ldnn-read-table.csv")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=("ldnn", "pandas"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.file, int(args.threads))))
        return
    path = Path(args.file)
    if not path.exists() or sum(1 for _ in open(path)) != args.rows + 1:
        print(f"writing {path} ({args.rows:,} rows x {N_NUMBERS + N_TEXT + 1} columns) ...")
        generate(path, args.rows)
    size_mb = path.stat().st_size / 2**20
    print(f"file: {path}, {size_mb:.0f} MiB\n")
    print(
        "| threads | ldnn read s | ldnn read + encode s | pandas.read_csv s | read / pandas "
        "| read + encode / pandas | ldnn peak MiB (x float32 X) | pandas peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for threads in (int(t) for t in args.threads.split(",")):
        rounds = []
        for r in range(args.repeats):
            order = ("ldnn", "pandas") if r % 2 == 0 else ("pandas", "ldnn")
            rounds.append({name: measure(name, path, threads) for name in order})
        ldnn = [r["ldnn"] for r in rounds]
        pandas = [r["pandas"] for r in rounds]
        m, n0 = ldnn[0]["shape"]
        x_mb = m * n0 * 4 / 2**20
        pairs = list(zip(ldnn, pandas, strict=True))
        read_ratio = statistics.median(a["read"] / b["seconds"] for a, b in pairs)
        ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in pairs)
        ldnn_peak = statistics.median(a["peak_mb"] for a in ldnn)
        print(
            f"| {threads} | {statistics.median(a['read'] for a in ldnn):.2f} "
            f"| {statistics.median(a['seconds'] for a in ldnn):.2f} "
            f"| {statistics.median(b['seconds'] for b in pandas):.2f} | {read_ratio:.2f} "
            f"| {ratio:.2f} | {ldnn_peak:.0f} ({ldnn_peak / x_mb:.1f}x of {x_mb:.0f}) "
            f"| {statistics.median(b['peak_mb'] for b in pandas):.0f} |"
        )
    print(f"\nX: {m:,} x {n0} float32 (n[0] = {n0} features after one-hot encoding)")


if __name__ == "__main__":
    main()
