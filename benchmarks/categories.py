"""A table's categories as the first layer's columns (issue 25): the peak memory and the
time of ``ldnn train`` for one epoch on a table with a text column of many categories.

    python benchmarks/categories.py                          # the four cases below
    python benchmarks/categories.py --rows 200000 --categories 5000
    python benchmarks/categories.py --rows 2000000 --categories 5000 --format parquet
    python benchmarks/categories.py --rows 2000000 --categories 5000 --stream on

Each case is a table of ``--numbers`` numeric columns (5% of their cells empty), one
text column of K categories (uniform) and a 0/1 target that depends on both, written
once under ``--dir`` as a CSV (``--format parquet``: a Parquet file).
``ldnn train FILE --epochs 1 --max-categories K`` (layers 32,16, Adam, batches of 64,
the test part scored, no pictures) runs in a child process, whose peak resident memory
is read from ``os.wait4``'s resource usage (ru_maxrss, the child's own).

The aim: a peak within 3x of what the data and the model need, the float32 X of the
numeric columns (m x numbers x 4 bytes) plus the parameters (n[1] x n[0] + ... floats);
the table shows the peak over the baseline of the same command on 1,000 rows (Python,
NumPy, pyarrow, scikit-learn: what any run takes), that as a multiple of the need, and
the dense one-hot X that ``TableEncoding.transform`` would have asked for (float64).
docs/data.md says where the memory goes (at 2,000,000 rows, 4.6x the need: 5.0x while
the network kept a float32 copy of the numbers, 13.8x when the file was read whole).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = [(200_000, 5_000), (200_000, 50_000), (2_000_000, 5_000), (2_000_000, 50_000)]
LAYERS = (32, 16)


def generate(path: Path, rows: int, categories: int, numbers: int, seed: int = 0) -> None:
    """Write a case's table with pyarrow (CSV or Parquet, by ``path``'s suffix)."""
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    rng = np.random.default_rng(seed)
    city = rng.integers(0, categories, rows)
    signal = rng.normal(size=categories)[city]
    columns = {"city": pa.array(np.char.add("c", city.astype(str)))}
    for j in range(numbers):
        values = rng.normal(size=rows)
        if j < 3:
            signal = signal + values
        columns[f"x{j}"] = pa.array(values.round(5), mask=rng.random(rows) < 0.05)
    columns["y"] = pa.array((signal + rng.normal(size=rows) > 0).astype(np.int8))
    table = pa.table(columns)
    if path.suffix == ".parquet":
        pyarrow.parquet.write_table(table, path)
    else:
        pyarrow.csv.write_csv(table, path)


def train(path: Path, categories: int, runs: Path, stream: str = "auto") -> dict:
    """``ldnn train`` on ``path`` in a child process: its seconds and peak RSS (bytes)."""
    command = [
        sys.executable,
        "-m",
        "ldnn.cli",
        "train",
        str(path),
        "--target",
        "y",
        "--epochs",
        "1",
        "--layers",
        ",".join(map(str, LAYERS)),
        "--max-categories",
        str(categories),
        "--no-plots",
        "-q",
        "--runs-dir",
        str(runs),
        "--stream",
        stream,
    ]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    errors = child.stderr.read().decode()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"ldnn train {path} failed ({child.returncode}):\n{errors[-2000:]}")
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {"seconds": seconds, "peak": peak, "stderr": errors.strip()}


def need(rows: int, categories: int, numbers: int) -> tuple[int, int]:
    """(bytes of the float32 X of the numeric columns, bytes of the float32 parameters)."""
    train_rows = int(rows * 0.8)
    dims = (numbers + categories, *LAYERS, 1)
    parameters = sum(n * (p + 1) for p, n in zip(dims, dims[1:], strict=False))
    return train_rows * numbers * 4, parameters * 4


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n < 2**30 else f"{n / 2**30:,.2f} GiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="one case: this many rows (with --categories)")
    parser.add_argument("--categories", type=int, help="one case: this many categories")
    parser.add_argument("--numbers", type=int, default=20, help="numeric columns (default 20)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ldnn-cats")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument(
        "--stream",
        choices=("auto", "on", "off"),
        default="auto",
        help="read each table whole (off), streamed from disk (on), or as ldnn decides",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    cases = [(args.rows, args.categories)] if args.rows else CASES
    args.dir.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as runs:
        base_file = args.dir / f"baseline-{args.numbers}.{args.format}"
        if not base_file.exists():
            generate(base_file, 1_000, 50, args.numbers)
        baseline = train(base_file, 50, Path(runs), args.stream)["peak"]
        for rows, categories in cases:
            path = args.dir / f"cats-{rows}-{categories}-{args.numbers}.{args.format}"
            if not path.exists():
                generate(path, rows, categories, numbers=args.numbers)
            found = train(path, categories, Path(runs), args.stream)
            x32, parameters = need(rows, categories, args.numbers)
            dense = rows * (args.numbers + categories) * 8
            results.append(
                {
                    "rows": rows,
                    "categories": categories,
                    "file_bytes": path.stat().st_size,
                    "seconds": round(found["seconds"], 1),
                    "peak_bytes": found["peak"],
                    "baseline_bytes": baseline,
                    "x32_bytes": x32,
                    "parameter_bytes": parameters,
                    "over_need": round((found["peak"] - baseline) / (x32 + parameters), 2),
                    "dense_x_bytes": dense,
                }
            )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        "| rows | categories | file | seconds | peak RSS | over baseline | float32 X + params"
        " | (peak - baseline) / need | dense one-hot X |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['categories']:,} | {mib(r['file_bytes'])} | {r['seconds']}"
            f" | {mib(r['peak_bytes'])} | {mib(r['peak_bytes'] - r['baseline_bytes'])}"
            f" | {mib(r['x32_bytes'])} + {mib(r['parameter_bytes'])} | {r['over_need']}x"
            f" | {mib(r['dense_x_bytes'])} |"
        )
    print(f"\nbaseline (the same command on 1,000 rows): {mib(baseline)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
