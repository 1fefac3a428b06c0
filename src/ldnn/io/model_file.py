"""Model files: the parameters as arrays in an ``.npz`` plus JSON metadata.

A model file holds ``W1``, ``b1``, ..., ``WL``, ``bL`` and one string array
``__metadata__`` with the format version, the ldnn version, the hyperparameters and a
SHA-256 checksum of every array. Loading never unpickles (``allow_pickle=False``), so a
model file from a stranger cannot run code; the checksums catch edited or damaged
arrays. Saving goes through :func:`ldnn.io.atomic_write`, so an interrupted save leaves
the previous file untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import ModelFileError
from .atomic import atomic_write

FORMAT_VERSION = 1
_METADATA_KEY = "__metadata__"


def _checksum(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def save_model(path: str | os.PathLike, parameters: dict, metadata: dict) -> None:
    """Write ``parameters`` and JSON-able ``metadata`` to ``path`` atomically."""
    arrays = {k: np.asarray(v) for k, v in parameters.items()}
    header = {
        "format": "ldnn-model",
        "format_version": FORMAT_VERSION,
        "ldnn_version": __version__,
        "checksums": {k: _checksum(v) for k, v in arrays.items()},
        **metadata,
    }
    arrays[_METADATA_KEY] = np.array(json.dumps(header))
    atomic_write(path, lambda file: np.savez(file, **arrays))


def load_model(path: str | os.PathLike) -> tuple[dict, dict]:
    """Read a model file; return (parameters, metadata).

    Raises
    ------
    ModelFileError
        If the file is missing, not an ldnn model, truncated, modified since it was saved,
        or written in a newer format than this ldnn reads.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise ModelFileError(
            f"model file {str(path)!r} cannot be read (truncated, damaged or not an ldnn "
            f".npz model): {error}"
        ) from None
    raw = arrays.pop(_METADATA_KEY, None)
    if raw is None or raw.dtype.kind != "U" or raw.shape != ():
        raise ModelFileError(f"{str(path)!r} is an .npz file but not an ldnn model (no metadata)")
    try:
        metadata = json.loads(str(raw))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"model file {str(path)!r} has damaged metadata: {error}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != "ldnn-model":
        raise ModelFileError(f"{str(path)!r} is an .npz file but not an ldnn model")
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"model file {str(path)!r} has format version {version!r} (written by ldnn "
            f"{metadata.get('ldnn_version', '?')}); this ldnn {__version__} reads format "
            f"{FORMAT_VERSION} and older: upgrade ldnn to load it"
        )
    checksums = metadata.get("checksums", {})
    if set(checksums) != set(arrays):
        raise ModelFileError(
            f"model file {str(path)!r} has been modified: it holds arrays {sorted(arrays)} "
            f"but was saved with {sorted(checksums)}"
        )
    for name, array in arrays.items():
        if _checksum(array) != checksums[name]:
            raise ModelFileError(
                f"model file {str(path)!r} has been modified since it was saved: the "
                f"checksum of {name} does not match"
            )
    return arrays, metadata
