"""SHA-256 of files and arrays: what a run records to say which data made it."""

from __future__ import annotations

import hashlib
import os

import numpy as np

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """The hex SHA-256 of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def arrays_sha256(*arrays) -> str:
    """The hex SHA-256 of arrays' shapes, dtypes and bytes (C order), in order."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
