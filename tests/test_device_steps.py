"""The GPU path without a GPU: training and prediction on a stand-in for CuPy that runs
on NumPy and counts host reads and host-to-device copies (tests/fake_gpu.py).

What a GPU step must not do is wait for the device: the history's costs and accuracies
are added up on the device and read once an epoch, the shuffle is copied once an epoch,
and a network keeps its parameters on the device between predictions. The stand-in
computes with NumPy, so its results must equal the CPU's bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from fake_gpu import fake_gpu
from ldnn import DeepNetwork
from ldnn.errors import DivergenceWarning


def data(m=320, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, m))
    return X, (X[0] * X[1] + X[2] > 0).astype(np.float64).reshape(1, -1)


def pair(settings, X, Y, **fit):
    cpu = DeepNetwork((5, 8, 4, 1), **settings)
    cpu.fit(X, Y, **fit)
    with fake_gpu() as counts:
        gpu = DeepNetwork((5, 8, 4, 1), device="gpu", **settings)
        gpu.fit(X, Y, **fit)
    return cpu, gpu, counts


CASES = {
    "adam, dropout, L2": {"optimizer": "adam", "keep_prob": (0.8, 0.9), "lambd": 0.1},
    "momentum, clipping": {"optimizer": "momentum", "nesterov": True, "clip_norm": 0.05},
    "adamw, cosine, smoothing": {
        "optimizer": "adamw",
        "weight_decay": 0.1,
        "lr_schedule": "cosine",
        "label_smoothing": 0.1,
    },
    "float32 rmsprop": {"optimizer": "rmsprop", "dtype": "float32"},
}


@pytest.mark.parametrize("name", CASES)
def test_the_device_path_trains_as_the_cpu_does_bit_for_bit(name):
    X, Y = data()
    settings = {"epochs": 3, "batch_size": 32, "seed": 1, "learning_rate": 0.01, **CASES[name]}
    weights = np.random.default_rng(2).uniform(0, 2, X.shape[1])
    cpu, gpu, _ = pair(settings, X, Y, sample_weight=weights)
    for key, value in cpu.parameters.items():
        assert np.array_equal(gpu.parameters[key], value), key
    for column in ("cost", "accuracy", "learning_rate", "clipped"):
        assert getattr(gpu.history, column) == getattr(cpu.history, column), column
    if "clip_norm" in CASES[name]:
        assert sum(cpu.history.clipped) > 0  # the clip fired, and was counted alike


def test_host_reads_do_not_grow_with_the_steps_of_an_epoch():
    X, Y = data(m=640)
    settings = {
        "epochs": 2,
        "seed": 0,
        "optimizer": "adam",
        "keep_prob": (0.8, 1.0),
        "lambd": 0.1,
        "clip_norm": 1.0,
    }
    reads = {}
    for batch in (64, 8):  # 10 and 80 steps an epoch
        _, _, counts = pair({**settings, "batch_size": batch}, X, Y)
        reads[batch] = counts.reads
    assert reads[8] == reads[64]
    # per epoch: the sums (one read) and the divergence check of theta's min and max;
    # then the parameters back to the host and the finiteness check
    assert reads[64] <= 2 * 3 + 6 + 8


def test_the_shuffle_is_copied_once_an_epoch():
    X, Y = data()
    copies = {}
    for epochs in (2, 5):
        _, _, counts = pair({"epochs": epochs, "batch_size": 16, "seed": 0}, X, Y)
        copies[epochs] = counts.copies
    assert copies[5] - copies[2] == 3  # one copy of the epoch's indices per epoch


def test_a_diverging_run_on_the_device_ends_as_on_the_cpu():
    X, Y = data()
    settings = {
        "epochs": 4,
        "batch_size": 32,
        "seed": 0,
        "optimizer": "adam",
        "learning_rate": 1e200,
        "activations": ("leaky_relu", "leaky_relu", "sigmoid"),
    }
    with pytest.warns(DivergenceWarning) as caught:
        cpu, gpu, _ = pair(settings, X, Y)
    messages = {str(w.message) for w in caught}
    assert len(messages) == 1  # the same words from both
    assert gpu.history.stop_reason == cpu.history.stop_reason == "diverged"
    for key, value in cpu.parameters.items():
        assert np.array_equal(gpu.parameters[key], value), key
    # the optimizer's running averages were put back with theta: finite, as the CPU's
    for vector in gpu.optimizer.state_vectors().values():
        assert np.isfinite(vector).all()


def test_a_gpu_network_keeps_its_parameters_on_the_device_between_predictions():
    X, Y = data()
    with fake_gpu() as counts:
        net = DeepNetwork((5, 8, 4, 1), device="gpu", epochs=2, batch_size=32, seed=0)
        net.fit(X, Y)
        first = net.predict_proba(X[:, :10])
        counts.copies = 0
        for _ in range(5):
            again = net.predict_proba(X[:, :10])
        assert counts.copies == 5  # X each time, the parameters never
        assert np.array_equal(first, again)
        with pytest.raises(ValueError, match="read-only"):
            net.parameters["W1"][0, 0] = 1.0  # host copies cannot drift from the device's
        W1 = net.parameters["W1"].copy()
        W1[0, 0] += 1.0
        net.parameters["W1"] = W1  # a new array: copied again, and used
        counts.copies = 0
        changed = net.predict_proba(X[:, :10])
        assert counts.copies == 1 + len(net.parameters)
        assert not np.array_equal(changed, first)
        net.fit(X, Y, warm_start=True, epochs=1)
        counts.copies = 0
        net.predict_proba(X[:, :10])
        assert counts.copies == 1 + len(net.parameters)  # new parameters after training


def test_a_loaded_gpu_model_copies_its_parameters_to_the_device_once(tmp_path):
    X, Y = data()
    with fake_gpu() as counts:
        net = DeepNetwork((5, 8, 4, 1), device="gpu", epochs=1, batch_size=32, seed=0)
        net.fit(X, Y)
        net.save(tmp_path / "model.npz")
        loaded = DeepNetwork.load(tmp_path / "model.npz")
        counts.copies = 0
        for _ in range(3):
            out = loaded.predict_proba(X[:, :10])
        assert counts.copies == len(loaded.parameters) + 3
        assert np.array_equal(out, net.predict_proba(X[:, :10]))
