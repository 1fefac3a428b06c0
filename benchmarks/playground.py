"""ldnn playground, measured (issue 26): frames a second delivered to a page, and
training's epochs a second with a page attached, without one, and as plain ``ldnn``.

    python benchmarks/playground.py                 # 2-8-8-1 on xor, 10 s a case
    python benchmarks/playground.py --seconds 20 --layers 8,8 --batch-size 16

The server is the real ``ldnn playground --port 0`` in a child process at one BLAS
thread; the "page" is an HTTP client reading ``/events`` (server-sent events) as fast
as they come, as a browser does. Three cases, each ``--seconds`` long:

- ``no page``: the session trains; the epochs are read from ``/state`` at the start and
  the end (the training thread still makes a frame at most 30 times a second: that
  work is the playground's, page or not);
- ``page attached``: the same while a client reads every frame: frames a second, and
  the epochs a second beside it;
- ``plain fit``: the same network, data and mini-batches trained by ``DeepNetwork.fit``
  in this process (no playground), the ceiling.

The aims: at least 20 frames a second, and training with the page attached within 10%
of the plain fit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time

import numpy as np


def start_server() -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "ldnn.cli", "playground", "--port", "0", "--threads", "1"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    line = server.stdout.readline()
    port = int(line.rsplit(":", 1)[1].strip().strip("/").split("/")[0])
    return server, port


def control(port: int, document: dict) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps(document)
    connection.request("POST", "/control", body, {"Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def epoch(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/state")
    value = json.loads(connection.getresponse().read())["epoch"]
    connection.close()
    return value


def epochs_per_second(port: int, seconds: float) -> float:
    first, start = epoch(port), time.perf_counter()
    time.sleep(seconds)
    return (epoch(port) - first) / (time.perf_counter() - start)


def with_a_page(port: int, seconds: float) -> tuple[float, float]:
    """(frames a second, epochs a second) while a client reads /events."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/events")
    stream = connection.getresponse()
    first, start, frames = epoch(port), time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        line = stream.fp.readline()
        if line.startswith(b"data:"):
            frames += 1
    elapsed = time.perf_counter() - start
    epochs = (epoch(port) - first) / elapsed
    connection.close()
    return frames / elapsed, epochs


def plain_fit(settings: dict, seconds: float) -> float:
    """Epochs a second of the playground's own network and data, fitted by ldnn alone."""
    import tempfile

    from threadpoolctl import threadpool_limits

    from ldnn.playground.build import build

    threadpool_limits(1)
    with tempfile.TemporaryDirectory() as folder:
        built = build(settings, folder)
    network, dataset = built.network, built.dataset
    epochs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        network.fit(dataset.X_train, dataset.Y_train, epochs=20, warm_start=epochs > 0)
        epochs += 20
    return epochs / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--layers", default="8,8")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    layers = [int(n) for n in args.layers.split(",")]
    settings = {
        "dataset": "xor",
        "layers": layers,
        "activations": ["tanh"] * len(layers),
        "batch_size": args.batch_size,
        "stop_after": 0,
    }
    server, port = start_server()
    try:
        control(port, {"action": "set", "settings": settings})
        control(port, {"action": "play"})
        time.sleep(1.0)  # warmed up
        alone = epochs_per_second(port, args.seconds)
        fps, attached = with_a_page(port, args.seconds)
        control(port, {"action": "pause"})
    finally:
        server.terminate()
        server.wait(timeout=30)
    from ldnn.playground.settings import DEFAULTS

    plain = plain_fit({**DEFAULTS, **settings}, args.seconds)
    dims = "-".join(map(str, [2, *layers, 1]))
    print(f"{dims} on xor, batches of {args.batch_size}, {args.seconds:g} s a case, 1 thread")
    print("| case | frames/s | epochs/s | of the plain fit |")
    print("|---|---|---|---|")
    print(f"| no page | - | {alone:.1f} | {alone / plain:.2f} |")
    print(f"| page attached | {fps:.1f} | {attached:.1f} | {attached / plain:.2f} |")
    print(f"| plain fit | - | {plain:.1f} | 1.00 |")
    return 0 if np.isfinite(fps) else 1


if __name__ == "__main__":
    sys.exit(main())
