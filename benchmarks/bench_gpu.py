"""ldnn on the GPU against PyTorch on the same GPU, in one process, rounds interleaved.

    python benchmarks/bench_gpu.py                 # make bench-gpu: the whole table
    python benchmarks/bench_gpu.py --cases a256 --rounds 2
    python benchmarks/bench_gpu.py --device cpu --quick     # the harness itself, on a CPU

Each case trains one epoch of plain mini-batch SGD (float32, ReLU, softmax and
cross-entropy, learning rate 0.01) on synthetic data resident on the device: ldnn's
``DeepNetwork(device="gpu")`` against the ``nn.Sequential`` of benchmarks/peers.py moved
to CUDA, eager, with TF32 off (``torch.backends.cuda.matmul.allow_tf32 = False``,
``torch.backends.cudnn.allow_tf32 = False``) so that both multiply in true float32.
Beside them: cuBLAS's own time for the step's matrix products (the roofline: Z = W A,
dW = dZ A^T, dA = W^T dZ per layer, through CuPy) and ldnn on the CPU with every core.
The table gives medians over the rounds in samples per second and the ratios.

Cases (the performance issue's): (a) 784-256-256-10 at batch 256 and 4096, (b)
784-1024-1024-10 at batch 256 and 1024, (c) 784-(64 x 10)-10 at batch 64, and the
inference of (a) in batches of 256. A full run stays under 8 minutes on an H100.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

CASES = {
    # name: (description, layer_dims, batch, examples per timed epoch)
    "a256": ("(a) 784-256-256-10, batch 256", [784, 256, 256, 10], 256, 60_000),
    "a4096": ("(a) 784-256-256-10, batch 4096", [784, 256, 256, 10], 4096, 61_440),
    "b256": ("(b) 784-1024-1024-10, batch 256", [784, 1024, 1024, 10], 256, 30_720),
    "b1024": ("(b) 784-1024-1024-10, batch 1024", [784, 1024, 1024, 10], 1024, 61_440),
    "c64": ("(c) 784-(64 x 10)-10, batch 64", [784] + [64] * 10 + [10], 64, 30_720),
    "a-inference": ("inference of (a), batches of 256", [784, 256, 256, 10], 256, 60_000),
}
LR = 0.01


class Device:
    """What differs between a GPU run and the harness's CPU smoke run."""

    def __init__(self, name: str):
        self.gpu = name == "gpu"
        if self.gpu:
            import cupy

            self.xp = cupy
        else:
            self.xp = np

    def sync(self) -> None:
        if self.gpu:
            self.xp.cuda.Device().synchronize()
            import torch

            torch.cuda.synchronize()


def timed(device: Device, function) -> float:
    device.sync()
    start = time.perf_counter()
    function()
    device.sync()
    return time.perf_counter() - start


def ldnn_epoch(device: Device, dims, batch, X, y, inference=False):
    from ldnn import DeepNetwork

    net = DeepNetwork(
        dims,
        activations="relu",
        optimizer="gd",
        learning_rate=LR,
        epochs=1,
        batch_size=batch,
        dtype="float32",
        seed=0,
        device="gpu" if device.gpu else "cpu",
    )
    net.fit(X[:, :batch], y[:batch])  # compiles nothing, but warms the device
    if inference:
        return lambda: [net.predict_proba(X[:, k : k + batch]) for k in range(0, X.shape[1], batch)]
    return lambda: net.fit(X, y, warm_start=True, epochs=1)


def torch_epoch(device: Device, dims, batch, X, y, inference=False):
    import torch
    from torch import nn

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    where = "cuda" if device.gpu else "cpu"
    torch.manual_seed(0)
    layers = []
    for n_prev, n in zip(dims[:-2], dims[1:-1], strict=True):
        layers += [nn.Linear(n_prev, n), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(dims[-2], dims[-1])).to(where)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    Xt = torch.from_numpy(np.ascontiguousarray(X.T)).to(where)
    Yt = torch.from_numpy(y.astype(np.int64)).to(where)

    def train():
        order = torch.randperm(len(Xt), device=where)
        for k in range(0, len(Xt), batch):
            idx = order[k : k + batch]
            optimizer.zero_grad()
            loss_fn(model(Xt[idx]), Yt[idx]).backward()
            optimizer.step()

    def infer():
        with torch.no_grad():
            for k in range(0, len(Xt), batch):
                torch.softmax(model(Xt[k : k + batch]), dim=1)

    return infer if inference else train


def roofline(device: Device, dims, batch, m, inference=False):
    """An epoch of nothing but the step's matrix products, on the device's BLAS."""
    xp = device.xp
    rng = np.random.default_rng(0)
    products = []
    for l in range(1, len(dims)):
        n, n_prev = dims[l], dims[l - 1]
        products.append(((n, n_prev), (n_prev, batch)))  # Z = W . A_prev
        if not inference:
            products.append(((n, batch), (batch, n_prev)))  # dW = dZ . A_prev^T
            if l > 1:
                products.append(((n_prev, n), (n, batch)))  # dA_prev = W^T . dZ
    arrays = [
        (
            xp.asarray(rng.standard_normal(a, dtype=np.float32)),
            xp.asarray(rng.standard_normal(b, dtype=np.float32)),
            xp.empty((a[0], b[1]), dtype=np.float32),
        )
        for a, b in products
    ]

    def epoch():
        for _ in range(m // batch):
            for left, right, out in arrays:
                xp.matmul(left, right, out=out)

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a tenth of the examples")
    args = parser.parse_args()
    device = Device(args.device)
    cases = args.cases.split(",")
    rng = np.random.default_rng(0)
    runs = {}
    for case in cases:
        _, dims, batch, m = CASES[case]
        m = max(batch, m // 10) if args.quick else m
        X = rng.standard_normal((dims[0], m), dtype=np.float32)
        y = rng.integers(0, dims[-1], m)
        inference = case.endswith("inference")
        X_device = device.xp.asarray(X)  # resident on the device, as PyTorch's copy is
        runs[case] = {
            "ldnn": ldnn_epoch(device, dims, batch, X_device, y, inference),
            "pytorch": torch_epoch(device, dims, batch, X, y, inference),
            "roofline": roofline(device, dims, batch, m, inference),
            "ldnn CPU": ldnn_epoch(Device("cpu"), dims, batch, X, y, inference),
            "m": m,
        }
    samples = {case: {k: [] for k in runs[case] if k != "m"} for case in cases}
    for _ in range(args.rounds):  # rounds interleaved: every trainer sees the same noise
        for case in cases:
            for name, function in runs[case].items():
                if name != "m":
                    samples[case][name].append(runs[case]["m"] / timed(device, function))
    print(f"ldnn and PyTorch on {args.device}, medians of {args.rounds} rounds, samples/s\n")
    print(
        "| case | ldnn | PyTorch | roofline | ldnn CPU | ldnn / PyTorch | of roofline | GPU / CPU |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for case in cases:
        median = {k: statistics.median(v) for k, v in samples[case].items()}
        print(
            f"| {CASES[case][0]} | {median['ldnn']:,.0f} | {median['pytorch']:,.0f} "
            f"| {median['roofline']:,.0f} | {median['ldnn CPU']:,.0f} "
            f"| {median['ldnn'] / median['pytorch']:.2f}x "
            f"| {median['ldnn'] / median['roofline']:.0%} "
            f"| {median['ldnn'] / median['ldnn CPU']:.1f}x |"
        )


if __name__ == "__main__":
    main()
