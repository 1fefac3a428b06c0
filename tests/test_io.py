"""Model files: bit-exact round trips, atomic saves, and clear errors for bad files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from ldnn import DeepNetwork, ModelFileError


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40))
    Y = (X[0] > 0).astype(float).reshape(1, -1)
    net = DeepNetwork(
        [3, 5, 4, 1],
        activations=["tanh", "leaky_relu:0.2"],
        epochs=5,
        optimizer="adam",
        learning_rate=0.01,
        keep_prob=[0.9, 1.0],
        lambd=0.1,
    )
    net.fit(X, Y)
    net.metadata["classes"] = ["no", "yes"]
    return net, X


def test_round_trip_is_bit_exact(fitted, tmp_path):
    net, X = fitted
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = DeepNetwork.load(path)
    assert loaded.hyperparameters == net.hyperparameters
    for key, value in net.parameters.items():
        assert loaded.parameters[key].dtype == value.dtype
        assert np.array_equal(loaded.parameters[key], value), key
    assert np.array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert loaded.metadata == {"classes": ["no", "yes"]}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_survives(dtype, tmp_path):
    net = DeepNetwork([2, 1], dtype=dtype, epochs=1)
    net.fit(np.ones((2, 3)), np.array([[0, 1, 1]]))
    net.save(tmp_path / "m.npz")
    assert DeepNetwork.load(tmp_path / "m.npz").parameters["W1"].dtype == np.dtype(dtype)


def test_interrupted_save_keeps_the_old_file(fitted, tmp_path, monkeypatch):
    net, X = fitted
    path = tmp_path / "model.npz"
    net.save(path)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")  # some bytes reach the disk, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    monkeypatch.undo()
    assert np.array_equal(DeepNetwork.load(path).predict_proba(X), net.predict_proba(X))


def test_truncated_file(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "model.npz"
    net.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cannot be read .truncated"):
        DeepNetwork.load(path)


def _rewrite(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    change(arrays)
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_tampered_parameters(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "model.npz"
    net.save(path)

    def edit(arrays):
        arrays["W2"] = arrays["W2"] + 1

    _rewrite(path, edit)
    with pytest.raises(ModelFileError, match="modified since it was saved: the checksum of W2"):
        DeepNetwork.load(path)


def test_future_format_version(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "model.npz"
    net.save(path)

    def bump(arrays):
        meta = json.loads(str(arrays["__metadata__"]))
        meta["format_version"] = 99
        arrays["__metadata__"] = np.array(json.dumps(meta))

    _rewrite(path, bump)
    with pytest.raises(ModelFileError, match="format version 99.*upgrade ldnn"):
        DeepNetwork.load(path)


def test_pickled_arrays_are_refused(fitted, tmp_path):
    net, _ = fitted
    path = tmp_path / "evil.npz"
    net.save(path)

    def pickle_W1(arrays):
        arrays["W1"] = np.array([object()], dtype=object)

    _rewrite(path, pickle_W1)
    with pytest.raises(ModelFileError, match="array W1 must be float"):
        DeepNetwork.load(path)


def test_not_a_model(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        DeepNetwork.load(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="cannot be read"):
        DeepNetwork.load(tmp_path / "text.npz")
    with open(tmp_path / "plain.npz", "wb") as file:
        np.savez(file, W1=np.zeros((2, 2)))
    with pytest.raises(ModelFileError, match="not an ldnn model"):
        DeepNetwork.load(tmp_path / "plain.npz")
    assert zipfile.is_zipfile(tmp_path / "plain.npz")
