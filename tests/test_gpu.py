"""The GPU path against the CPU path, on a machine with CuPy and a CUDA GPU.

Skipped where there is no GPU (CI has none); run on one with
``python -m pytest tests/test_gpu.py``. The expected numbers are the CPU's: the same
formulas, seed, shuffles and dropout masks (drawn on the host for both devices), so the
two may differ only by the order in which cuBLAS and OpenBLAS add up products.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import gpu_available
from ldnn import DeepNetwork
from ldnn.errors import DivergenceWarning

pytestmark = pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA GPU")


def _data(dtype, m=600, n=12, classes=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m)).astype(dtype)
    if classes is None:
        Y = ((X[0] * X[1] + X[2]) > 0).astype(dtype).reshape(1, -1)
    else:
        Y = (np.abs(X[0] * 3 + X[1]).astype(int) % classes).astype(np.int64)
    return X, Y


def _pair(dims, X, Y, **settings):
    out = {}
    for device in ("cpu", "gpu"):
        net = DeepNetwork(dims, device=device, **settings)
        history = net.fit(X, Y)
        out[device] = (net, history)
    return out


def _max_relative_gap(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k])) / (np.max(np.abs(a[k])) + 1e-30)) for k in a)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_float64_gpu_training_matches_the_cpu(optimizer):
    X, Y = _data(np.float64)
    runs = _pair(
        [12, 16, 8, 1],
        X,
        Y,
        optimizer=optimizer,
        learning_rate=0.01,
        epochs=4,
        batch_size=64,
        keep_prob=[0.8, 0.9],
        lambd=0.05,
        seed=3,
        dtype="float64",
    )
    (cpu, h_cpu), (gpu, h_gpu) = runs["cpu"], runs["gpu"]
    # parameters come back to the host as NumPy arrays
    assert all(type(v) is np.ndarray for v in gpu.parameters.values())
    assert _max_relative_gap(cpu.parameters, gpu.parameters) < 1e-10
    np.testing.assert_allclose(h_gpu.cost, h_cpu.cost, rtol=1e-10)


def test_float32_softmax_with_integer_labels_matches_the_cpu():
    X, y = _data(np.float32, classes=4)
    runs = _pair(
        [12, 32, 4],
        X,
        y,
        activations=["relu", "softmax"],
        optimizer="adam",
        learning_rate=0.003,
        epochs=5,
        batch_size=128,
        seed=1,
        dtype="float32",
    )
    (cpu, h_cpu), (gpu, h_gpu) = runs["cpu"], runs["gpu"]
    assert gpu.parameters["W1"].dtype == np.float32
    assert _max_relative_gap(cpu.parameters, gpu.parameters) < 1e-4
    np.testing.assert_allclose(h_gpu.cost, h_cpu.cost, rtol=1e-4)
    # cuBLAS and OpenBLAS agree within rounding: labels agree but for near-ties
    assert (cpu.predict(X) == gpu.predict(X)).mean() >= 0.99


def test_inference_scoring_and_model_files_on_the_gpu(tmp_path):
    X, Y = _data(np.float64, m=3000)  # more than one block of forward_in_blocks
    net = DeepNetwork([12, 10, 1], device="gpu", epochs=3, batch_size=256, seed=0, dtype="float64")
    net.fit(X, Y)
    proba = net.predict_proba(X)
    assert type(proba) is np.ndarray and proba.shape == (1, 3000)
    cpu = DeepNetwork.from_hyperparameters(net.hyperparameters.replace(device="cpu"))
    cpu.parameters = net.parameters
    np.testing.assert_allclose(proba, cpu.predict_proba(X), rtol=1e-12)
    scores = net.evaluate(X, Y)
    assert scores["cost"] == pytest.approx(cpu.evaluate(X, Y)["cost"], rel=1e-12)
    net.save(tmp_path / "gpu.npz")
    loaded = DeepNetwork.load(tmp_path / "gpu.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_early_stopping_and_divergence_on_the_gpu():
    X, Y = _data(np.float64)
    stopping = DeepNetwork(
        [12, 64, 1],
        optimizer="adam",
        learning_rate=0.02,
        batch_size=64,
        epochs=200,
        validation_split=0.2,
        early_stopping=3,
        device="gpu",
        seed=0,
    )
    history = stopping.fit(X, Y)
    assert len(history) < 200  # 17 epochs on the CPU
    with pytest.warns(DivergenceWarning, match="NaN or infinite"):
        diverged = DeepNetwork(
            [12, 16, 1],
            activations=["sigmoid", "linear"],
            loss="mse",
            device="gpu",
            learning_rate=1e6,
            epochs=20,
            seed=0,
        )
        diverged.fit(X, Y)
    assert all(np.isfinite(v).all() for v in diverged.parameters.values())


def test_cli_trains_on_the_gpu(tmp_path):
    from ldnn.cli import main

    status = main(
        [
            "train",
            "spirals",
            "--device",
            "gpu",
            "--epochs",
            "3",
            "--quiet",
            "--no-plots",
            "--runs-dir",
            str(tmp_path),
            "--name",
            "gpu",
        ]
    )
    assert status == 0
    assert (tmp_path / "gpu" / "model.npz").exists()
