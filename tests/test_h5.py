"""ldnn.data.load_h5: the course's HDF5 layout, on small files built here."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from ldnn.data import load_h5

h5py = pytest.importorskip("h5py")


def write(path, **datasets):
    with h5py.File(path, "w") as file:
        for name, value in datasets.items():
            file.create_dataset(name, data=value)
    return path


def images(m=3, n_px=2):
    # Pixel (i, row, col, channel) = 10 i + 3 (n_px row + col) + channel: distinct values.
    i, row, col, ch = np.indices((m, n_px, n_px, 3))
    return (10 * i + 3 * (n_px * row + col) + ch).astype(np.uint8)


@pytest.mark.parametrize("split", ["train", "test"])
def test_course_layout_is_flattened_per_example_and_scaled(tmp_path, split):
    x = images()
    x[2, 1, 1, 2] = 255
    path = write(
        tmp_path / f"{split}.h5",
        **{
            f"{split}_set_x": x,
            f"{split}_set_y": np.array([0, 1, 1]),
            "list_classes": np.array([b"non-cat", b"cat"]),
        },
    )
    X, Y, classes = load_h5(path)
    assert X.shape == (2 * 2 * 3, 3) and X.dtype == np.float64
    assert Y.shape == (1, 3) and Y.tolist() == [[0, 1, 1]]
    assert classes == ["non-cat", "cat"]
    # Example 1, pixel (row 0, col 1, channel 2) sits at (0 * 2 + 1) * 3 + 2 = 5 in C order
    # and holds 10 * 1 + 3 * 1 + 2 = 15, so X[5, 1] = 15 / 255.
    assert X[5, 1] == pytest.approx(15 / 255)
    assert X[11, 2] == 1.0  # 255 / 255, the last entry of the last example
    np.testing.assert_array_equal(X, x.reshape(3, -1).T / 255.0)


def test_other_layouts_are_refused_listing_the_keys(tmp_path):
    path = write(tmp_path / "other.h5", images=images(), labels=np.zeros(3))
    with pytest.raises(ValueError, match=r"found keys \['images', 'labels'\]"):
        load_h5(path)
    path = write(tmp_path / "noclasses.h5", train_set_x=images(), train_set_y=np.zeros(3))
    with pytest.raises(ValueError, match="list_classes"):
        load_h5(path)


def test_label_count_must_match_the_images(tmp_path):
    path = write(
        tmp_path / "short.h5",
        train_set_x=images(m=3),
        train_set_y=np.zeros(2),
        list_classes=np.array([b"a", b"b"]),
    )
    with pytest.raises(ValueError, match="one label per image"):
        load_h5(path)


def test_missing_and_non_hdf5_files(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_h5(tmp_path / "absent.h5")
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(ValueError, match="cannot be read as HDF5"):
        load_h5(bad)


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes ``import h5py`` fail
    with pytest.raises(ImportError, match=r"ldnn\[h5\]"):
        load_h5(tmp_path / "any.h5")
