"""The course's HDF5 files (``train_catvnoncat.h5``, ``test_catvnoncat.h5``), as users have them.

The layout: ``train_set_x`` (or ``test_set_x``) holding m images of shape
(n_px, n_px, 3) in uint8, ``train_set_y`` (or ``test_set_y``) holding m labels, and
``list_classes`` holding the class names as bytes. Reading needs h5py, the ``h5`` extra.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataFileError

_LAYOUTS = (("train_set_x", "train_set_y"), ("test_set_x", "test_set_y"))


def load_h5(path: str | os.PathLike):
    """Read one of the course's HDF5 files into the notes' layout.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    X : ndarray of shape (n_px * n_px * 3, m), float64 in [0, 1]
        Column i is image i flattened in C order (row, column, channel), divided by 255,
        as the course's ``reshape(m, -1).T / 255.``.
    Y : ndarray of shape (1, m)
        The labels, in the file's integer dtype.
    classes : list of str
        ``list_classes`` decoded, e.g. ["non-cat", "cat"]; class k is Y == k.

    Raises
    ------
    ImportError
        If h5py is not installed (``pip install 'ldnn[h5]'``).
    DataFileError
        If the file is missing, is not HDF5, or does not have the course's layout.
    """
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "ldnn.data.load_h5 needs h5py, which is the optional extra 'h5': pip install 'ldnn[h5]'"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as file:
            keys = sorted(file.keys())
            names = next((xy for xy in _LAYOUTS if set(xy) <= set(keys)), None)
            if names is None or "list_classes" not in keys:
                raise DataFileError(
                    f"{path}: not the course's layout; expected train_set_x, train_set_y "
                    f"(or test_set_x, test_set_y) and list_classes, found keys {keys}"
                )
            images = np.asarray(file[names[0]])
            labels = np.asarray(file[names[1]])
            raw_classes = np.asarray(file["list_classes"])
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read as HDF5: {error}") from None
    if images.ndim < 2 or labels.size != images.shape[0]:
        raise DataFileError(
            f"{path}: {names[0]} of shape {images.shape} needs one label per image (m = "
            f"{images.shape[0] if images.ndim else 0}), but {names[1]} has shape {labels.shape}"
        )
    m = images.shape[0]
    # Course order: divide by 255 (not multiply by 1/255, which rounds differently).
    X = images.reshape(m, -1).T / 255.0
    Y = labels.reshape(1, m)
    classes = [c.decode("utf-8") if isinstance(c, bytes) else str(c) for c in raw_classes.ravel()]
    return X, Y, classes
