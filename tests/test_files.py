"""The array file readers (.npz, .npy, .h5) and the targets' encoding; tables (CSV,
Parquet) are tests/test_tables.py's."""

import numpy as np
import pytest

from ldnn.data.files import encode_targets, read_npy, read_npz, read_table
from ldnn.errors import DataFileError


def write(path, text):
    path.write_text(text)
    return path


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        read_table(tmp_path / "none.npz")
    write(tmp_path / "data.txt", "1 2 3")
    with pytest.raises(DataFileError, match="unknown file type '.txt'"):
        read_table(tmp_path / "data.txt")


def test_npz_default_and_named_keys_and_images(tmp_path):
    X = np.arange(24.0).reshape(2, 3, 4)  # two 3x4 images
    np.savez(tmp_path / "d.npz", X=X, y=[0, 1], other=[5, 6])
    table = read_npz(tmp_path / "d.npz")
    assert table.X.shape == (2, 12) and table.image_shape == (3, 4)
    table = read_npz(tmp_path / "d.npz", y_key="other")
    assert table.y.tolist() == [5, 6]
    with pytest.raises(DataFileError, match="no array 'Z'"):
        read_npz(tmp_path / "d.npz", x_key="Z")
    np.savez(tmp_path / "nan.npz", X=[[np.nan]], y=[0])
    with pytest.raises(DataFileError, match="NaN or inf"):
        read_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "short.npz", X=np.ones((3, 2)), y=[0, 1])
    with pytest.raises(DataFileError, match="has 2 rows but X has 3"):
        read_npz(tmp_path / "short.npz")


def test_npy_pair(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((4, 2)))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1]))
    table = read_npy(tmp_path / "X.npy", tmp_path / "y.npy")
    assert table.X.shape == (4, 2) and table.y.shape == (4,)
    with pytest.raises(DataFileError, match="--labels"):
        read_npy(tmp_path / "X.npy")
    assert read_npy(tmp_path / "X.npy", need_target=False).y is None


def test_h5_course_layout(tmp_path):
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("ldnn.data.h5")
    images = np.random.default_rng(0).integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    with h5py.File(tmp_path / "train_cat.h5", "w") as file:
        file["train_set_x"] = images
        file["train_set_y"] = np.array([0, 1, 0, 1, 1, 0])
        file["list_classes"] = np.array([b"non-cat", b"cat"])
    table = read_table(tmp_path / "train_cat.h5")
    assert table.X.shape == (6, 48) and table.image_shape == (4, 4, 3)
    assert table.X.max() <= 1.0 and table.classes == ["non-cat", "cat"]
    assert table.y.tolist()[:2] == ["non-cat", "cat"]


def test_encode_targets_decides_the_task():
    Y, task, classes = encode_targets(np.array(["b", "a", "b"]))
    assert task == "classification" and classes == ["a", "b"] and Y.tolist() == [1, 0, 1]
    Y, task, classes = encode_targets(np.array(["10", "2", "2"]))
    assert classes == ["2", "10"] and Y.tolist() == [1, 0, 0]  # numeric order, not text
    Y, task, classes = encode_targets(np.array(["0.5", "1.25", "3"]))
    assert task == "regression" and Y.shape == (3, 1) and classes is None
    _, task, _ = encode_targets(np.array([1, 2, 3]), task="regression")
    assert task == "regression"


def test_encode_targets_against_known_classes():
    Y, _, _ = encode_targets(np.array(["dog", "cat"]), classes=["cat", "dog"])
    assert Y.tolist() == [1, 0]
    with pytest.raises(DataFileError, match=r"\['bird'\] are not among the model's classes"):
        encode_targets(np.array(["bird"]), classes=["cat", "dog"], source="x.csv")
    with pytest.raises(DataFileError, match="one class only"):
        encode_targets(np.array(["a", "a"]))
