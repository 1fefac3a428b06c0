"""Hostile and damaged model files: each forged with one flaw (and, where it says so, with
checksums that match), each refused with one ModelFileError line before anything it
declares is used, and by the CLI with exit status 2 and no traceback."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile

import numpy as np
import pytest

from ldnn import DeepNetwork, ModelFileError
from ldnn.cli import main
from ldnn.io.model_file import _checksum, _metadata_checksum


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X = np.random.default_rng(0).standard_normal((3, 30))
    Y = (X[0] > 0).astype(float).reshape(1, -1)
    net = DeepNetwork([3, 4, 1], epochs=3, optimizer="adam", batch_size=10)
    net.fit(X, Y)
    net.metadata["data"] = {
        "task": "classification",
        "classes": ["no", "yes"],
        "feature_names": ["a", "b", "c"],
        "x_mean": [0.0, 0.0, 0.0],
        "x_std": [1.0, 1.0, 1.0],
    }
    path = tmp_path_factory.mktemp("model") / "model.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    metadata = json.loads(str(arrays.pop("__metadata__")))
    return path, arrays, metadata


def forge(path, arrays, metadata, *, checksums=True, compress=False):
    """Write a model file of ``arrays`` and ``metadata``; with ``checksums`` they match."""
    metadata = json.loads(json.dumps(metadata))
    if checksums:
        metadata["checksums"] = {k: _checksum(v) for k, v in arrays.items()}
        metadata["metadata_sha256"] = _metadata_checksum(metadata)
    members = {**arrays, "__metadata__": np.array(json.dumps(metadata))}
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, array in members.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
            archive.writestr(name + ".npy", buffer.getvalue())
    return path


def refused(path, capsys, *fragments):
    with pytest.raises(ModelFileError) as caught:
        DeepNetwork.load(path)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return message


def test_the_saved_file_itself_loads(saved, tmp_path):
    path, arrays, metadata = saved
    net = DeepNetwork.load(forge(tmp_path / "same.npz", arrays, metadata))
    assert net.layer_dims == (3, 4, 1) and net.optimizer.t == 9


def test_a_npy_file_is_not_a_model(saved, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros(3))
    refused(tmp_path / "x.npy", capsys, "cannot be read")
    (tmp_path / "folder.npz").mkdir()
    refused(tmp_path / "folder.npz", capsys, "is not a file")


def test_edited_metadata_is_caught_by_its_checksum(saved, tmp_path, capsys):
    path, arrays, metadata = saved
    changed = json.loads(json.dumps(metadata))
    changed["hyperparameters"]["activations"][-1] = "linear"  # the output, edited
    changed["hyperparameters"]["loss"] = "mean_squared_error"
    forged = forge(tmp_path / "m.npz", arrays, changed, checksums=False)
    refused(forged, capsys, "checksum of its metadata does not match")


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda m: m.update(format_version=-5), "format version -5"),
        (lambda m: m.update(format_version=True), "format version True"),
        (lambda m: m.update(format_version="2"), "format version '2'"),
        (lambda m: m["hyperparameters"].update(keep_prob="x"), "invalid hyperparameters"),
        (lambda m: m["hyperparameters"].update(layer_dims=[3, -4, 1]), "invalid hyperparameters"),
        (lambda m: m.update(hyperparameters=[1, 2]), "invalid hyperparameters"),
        (lambda m: m["data"].update(x_mean=[0.0]), "data.x_mean must be a list of 3"),
        (lambda m: m["data"].update(x_std=["a", "b", "c"]), "data.x_std"),
        (lambda m: m["data"].update(x_std=[1.0, 0.0, 1.0]), "data.x_std must be positive"),
        (lambda m: m["data"].update(feature_names="abc"), "data.feature_names"),
        (lambda m: m["data"].update(feature_names=[1, 2, 3]), "data.feature_names"),
        (lambda m: m["data"].update(classes=["one"]), "data.classes"),
        (lambda m: m.update(data=[1, 2]), "data. must be a table"),
        (lambda m: m["training"].update(epochs_trained=-1), "training.epochs_trained"),
        (lambda m: m["training"]["optimizer"].update(name="gd"), "training.optimizer.name"),
        (lambda m: m["training"]["optimizer"].update(t="9"), "training.optimizer.t"),
        (lambda m: m["training"].update(rng={"bit_generator": "Nope"}), "generator's state"),
        (lambda m: m["training"]["history"].update(columns=[]), "training.history.columns"),
    ],
)
def test_metadata_of_the_wrong_type_or_range(saved, tmp_path, capsys, change, fragment):
    path, arrays, metadata = saved
    changed = json.loads(json.dumps(metadata))
    change(changed)
    refused(forge(tmp_path / "m.npz", arrays, changed), capsys, fragment)


def test_checksums_that_are_not_a_table(saved, tmp_path, capsys):
    path, arrays, metadata = saved
    changed = {**metadata, "checksums": None}
    changed["metadata_sha256"] = _metadata_checksum(changed)  # only the checksums are off
    forged = forge(tmp_path / "m.npz", arrays, changed, checksums=False)
    refused(forged, capsys, "has been modified", "saved with None")


@pytest.mark.parametrize(
    "W1",
    [
        np.zeros((4, 3), dtype=np.int64),
        np.zeros((4, 3), dtype=bool),
        np.zeros((4, 3), dtype=np.complex64),
        np.full((4, 3), "text"),
        np.zeros((4, 3), dtype="datetime64[s]"),
        np.zeros((4, 3), dtype=[("a", np.float32)]),
        np.array([object()] * 12, dtype=object).reshape(4, 3),
        np.zeros((4, 3), dtype=np.float64),  # the network is float32
        np.zeros((3, 4), dtype=np.float32),  # transposed
    ],
    ids=["int64", "bool", "complex", "text", "datetime", "structured", "object", "f64", "T"],
)
def test_parameters_of_another_dtype_or_shape_are_refused(saved, tmp_path, capsys, W1):
    path, arrays, metadata = saved
    forged = forge(tmp_path / "m.npz", {**arrays, "W1": W1}, metadata)
    refused(forged, capsys, "array W1 must be float32 of shape (4, 3)")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights_are_refused(saved, tmp_path, capsys, value):
    path, arrays, metadata = saved
    W2 = arrays["W2"].copy()
    W2[0, 1] = value
    refused(forge(tmp_path / "m.npz", {**arrays, "W2": W2}, metadata), capsys, "W2 holds NaN")


def test_a_huge_declared_array_is_refused_before_any_allocation(saved, tmp_path, capsys):
    path, arrays, metadata = saved
    n = 1_000_000
    changed = json.loads(json.dumps(metadata))
    changed["hyperparameters"]["layer_dims"] = [n, n, 1]
    changed["hyperparameters"]["keep_prob"] = [1.0]
    changed.pop("data")
    changed["training"] = None
    small = {
        "b1": np.zeros((n, 1), np.float32),
        "W2": np.zeros((1, n), np.float32),
        "b2": np.zeros((1, 1), np.float32),
    }
    target = forge(tmp_path / "huge.npz", small, changed)
    # W1's header declares (n, n) float32, 4 TB, over 64 bytes of data; its checksum is
    # declared too, so that only the size gives it away.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (n, n)}
    )
    changed["checksums"] = {**{k: _checksum(v) for k, v in small.items()}, "W1": "0" * 64}
    changed["metadata_sha256"] = _metadata_checksum(changed)
    forge(target, small, changed, checksums=False)
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr("W1.npy", header.getvalue() + b"\0" * 64)
    start = time.perf_counter()
    refused(target, capsys, "array W1 takes 64 bytes, its header declares 4000000000000")
    assert time.perf_counter() - start < 5


def test_an_extra_array_is_refused_unread_and_compression_is_refused(saved, tmp_path, capsys):
    path, arrays, metadata = saved
    extra = {**arrays, "zeros": np.zeros(1000, np.float32)}
    refused(forge(tmp_path / "extra.npz", extra, metadata), capsys, "unexpected ['zeros']")
    # 1.5 GB of zeros deflate to about 1.5 MB; such a member is refused undecompressed.
    bomb = tmp_path / "bomb.npz"
    forge(bomb, arrays, metadata)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.npy", "w", force_zip64=True) as member:
            chunk = b"\0" * (64 << 20)
            for _ in range(2):  # 128 MiB here keeps the test quick; the size does not matter
                member.write(chunk)
    start = time.perf_counter()
    refused(bomb, capsys, "compressed")
    assert time.perf_counter() - start < 2


def test_a_truncated_member_is_refused(saved, tmp_path, capsys):
    path, arrays, metadata = saved
    forged = forge(tmp_path / "m.npz", arrays, metadata)
    data = forged.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 3])
    refused(tmp_path / "cut.npz", capsys, "cannot be read")


def test_checksums_are_sha256_of_dtype_shape_and_bytes(saved):
    _, arrays, metadata = saved
    W1 = arrays["W1"]
    digest = hashlib.sha256(f"{W1.dtype.str}{W1.shape}".encode() + W1.tobytes()).hexdigest()
    assert metadata["checksums"]["W1"] == digest
