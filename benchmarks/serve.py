"""``ldnn serve`` under 8 concurrent clients, beside onnxruntime called in-process on the
same model (the ceiling: no HTTP, no JSON, no reading of a table).

    python benchmarks/serve.py                      # 3 s a case
    python benchmarks/serve.py --seconds 10 --clients 8

A table of 8 numbers and 2 text columns (5% of the cells empty) and a 0/1 target is
generated, a classifier is trained on it with ``ldnn train`` (layers 32,16, a few
epochs: its accuracy does not matter here) and exported with ``ldnn export``. Then, for
requests of 1 row and of 1,000 rows:

- ldnn serve: the command in its own process (``--threads 1``), 8 client threads in this
  process each with a kept-alive connection, POSTing the same ``dataframe_split`` JSON
  body (or CSV) again and again for ``--seconds``; latency is a request's round trip;
- onnxruntime: 8 threads each calling ``InferenceSession.run`` on the same rows as
  arrays (one intra-op thread a session call, as each request has one BLAS thread).

Each row of the table: requests per second, rows per second and the p50 and p99
latency in milliseconds. The clients run on the same machine as the server: on a small
machine they take a share of its cores, so the numbers are a floor for the server.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
NUMBERS, TEXTS = [f"x{j}" for j in range(8)], ["color", "size"]
WORDS = {"color": ["red", "green", "blue", "black"], "size": ["S", "M", "L"]}


def table(rows: int, seed: int = 0) -> tuple[list[str], list[list]]:
    """(columns, rows): numbers and words, 5% of the cells missing (None)."""
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(rows):
        row = [round(float(v), 4) for v in rng.normal(0, 1, len(NUMBERS))]
        row += [str(rng.choice(WORDS[name])) for name in TEXTS]
        data.append([None if rng.random() < 0.05 else v for v in row])
    return NUMBERS + TEXTS, data


def train(folder: Path) -> Path:
    columns, rows = table(2000)
    path = folder / "bench.csv"
    rng = np.random.default_rng(1)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*columns, "y"])
        for row in rows:
            writer.writerow([*("" if v is None else v for v in row), int(rng.random() < 0.5)])
    ldnn = [sys.executable, "-m", "ldnn.cli"]
    subprocess.run(
        [*ldnn, "train", path, "--target", "y", "--layers", "32,16", "--epochs", "3"]
        + ["--name", "bench", "--runs-dir", folder / "runs", "--no-plots", "-q"],
        check=True,
    )
    return folder / "runs" / "bench"


def measure(call, clients: int, seconds: float) -> list[float]:
    """Latencies (seconds) of ``call(k)`` run by ``clients`` threads for ``seconds``."""
    latencies, start = [[] for _ in range(clients)], threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(k):
        start.wait()
        while not stop.is_set():
            began = time.perf_counter()
            call(k)
            latencies[k].append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return [t for each in latencies for t in each]


def summary(name: str, m: int, latencies: list[float], seconds: float) -> list:
    rate = len(latencies) / seconds
    p50, p99 = (np.percentile(latencies, q) * 1e3 for q in (50, 99))
    return [name, f"{m:,}", f"{rate:,.0f}", f"{rate * m:,.0f}", f"{p50:.2f}", f"{p99:.2f}"]


def bench_server(model: Path, bodies: dict, clients: int, seconds: float) -> list[list]:
    command = [sys.executable, "-m", "ldnn.cli", "serve", str(model), "--port", "0"]
    server = subprocess.Popen(command + ["--threads", "1"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        results = []
        for (label, m), (content_type, body) in bodies.items():
            connections = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(clients)]

            def post(k, content_type=content_type, body=body, connections=connections):
                conn = connections[k]
                conn.request("POST", "/invocations", body, {"Content-Type": content_type})
                response = conn.getresponse()
                answer = response.read()
                if response.status != 200:
                    raise RuntimeError(answer[:300])

            post(0)  # once, to check the answer
            results.append(
                summary(f"ldnn serve, {label}", m, measure(post, clients, seconds), seconds)
            )
            for conn in connections:
                conn.close()
        return results
    finally:
        server.terminate()
        server.wait()


def bench_onnx(model: Path, folder: Path, feeds: dict, clients: int, seconds: float):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    onnx_path = folder / "bench.onnx"
    subprocess.run(
        [sys.executable, "-m", "ldnn.cli", "export", str(model), "-o", onnx_path], check=True
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    results = []
    for m, feed in feeds.items():

        def run(k, feed=feed):
            session.run(["probabilities", "label"], feed)

        results.append(
            summary("onnxruntime in-process", m, measure(run, clients, seconds), seconds)
        )
    return results


def arrays(columns: list[str], rows: list[list]) -> dict:
    """The rows as onnxruntime's feed: a (m, 1) array per column, NaN or "" missing."""
    feed = {}
    for j, name in enumerate(columns):
        values = [row[j] for row in rows]
        if name in TEXTS:
            feed[name] = np.array([[v or ""] for v in values], dtype=object)
        else:
            feed[name] = np.array([[np.nan if v is None else v] for v in values], np.float32)
    return feed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per case (default 3)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = train(folder)
        columns, rows = table(1000, seed=2)
        bodies, feeds = {}, {}
        for m in (1, 1000):
            split = {"dataframe_split": {"columns": columns, "data": rows[:m]}}
            bodies[("JSON", m)] = ("application/json", json.dumps(split))
            feeds[m] = arrays(columns, rows[:m])
        text = (
            ",".join(columns)
            + "\n"
            + "".join(",".join("" if v is None else str(v) for v in row) + "\n" for row in rows)
        )
        bodies[("CSV", 1000)] = ("text/csv", text)
        results = bench_server(model, bodies, args.clients, args.seconds)
        onnx = bench_onnx(model, folder, feeds, args.clients, args.seconds)
    header = ["", "rows a request", "requests/s", "rows/s", "p50 ms", "p99 ms"]
    print(f"{args.clients} concurrent clients, {args.seconds:g} s a case, {os.cpu_count()} cores")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in results + (onnx or []):
        print("| " + " | ".join(row) + " |")
    if onnx is None:
        print("(onnxruntime is not installed: no ceiling column; pip install onnxruntime)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
