"""The device setting. The CPU suite fakes nothing about GPUs: without CuPy and a CUDA
device, asking for the GPU is a clear error; benchmarks/gpu_check.py tests the GPU path
on a machine that has one."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import gpu_available
from ldnn import ConfigurationError, DeepNetwork
from ldnn.base.backend import device_module, to_device, to_numpy


def test_cpu_is_numpy():
    assert device_module("cpu") is np
    a = np.arange(3.0)
    assert to_device(a, np) is a and to_numpy(a) is a


def test_unknown_device():
    with pytest.raises(ConfigurationError, match=r"device must be one of \('cpu', 'gpu'\)"):
        DeepNetwork([2, 1], device="tpu")


def test_lbfgs_is_cpu_only():
    with pytest.raises(ConfigurationError, match="lbfgs.*CPU"):
        DeepNetwork([2, 1], optimizer="lbfgs", device="gpu")


@pytest.mark.skipif(gpu_available(), reason="a GPU is present: the error cannot happen")
def test_gpu_without_cupy_or_device_is_a_clear_error():
    net = DeepNetwork([2, 3, 1], device="gpu", epochs=1)
    with pytest.raises(ConfigurationError, match=r"needs CuPy and a CUDA GPU: pip install"):
        net.fit(np.zeros((2, 4)), np.array([[0, 1, 0, 1]]))


def test_a_gpu_model_loads_and_predicts_on_the_cpu(tmp_path):
    # The device is a hyperparameter, but a model file never needs the GPU to be read.
    net = DeepNetwork([2, 3, 1], epochs=2)
    net.fit(np.eye(2), np.array([[0, 1]]))
    gpu_model = DeepNetwork.from_hyperparameters(net.hyperparameters.replace(device="gpu"))
    gpu_model.parameters = net.parameters
    gpu_model.save(tmp_path / "m.npz")
    loaded = DeepNetwork.load(tmp_path / "m.npz")
    assert loaded.hyperparameters.device == "gpu"
    cpu = DeepNetwork.from_hyperparameters(loaded.hyperparameters.replace(device="cpu"))
    cpu.parameters = loaded.parameters
    assert np.array_equal(cpu.predict_proba(np.eye(2)), net.predict_proba(np.eye(2)))


@pytest.mark.skipif(gpu_available(), reason="a GPU is present: the error cannot happen")
def test_cli_device_gpu_without_cupy_exits_2(tmp_path, capsys):
    from ldnn.cli import main

    status = main(
        [
            "train",
            "xor",
            "--device",
            "gpu",
            "--epochs",
            "1",
            "--quiet",
            "--no-plots",
            "--runs-dir",
            str(tmp_path),
        ]
    )
    assert status == 2
    assert "needs CuPy and a CUDA GPU" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no half-written run folder
