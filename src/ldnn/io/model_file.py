"""Model files: arrays in an uncompressed ``.npz`` plus JSON metadata, checked before use.

A model file is a zip archive of ``.npy`` members: the parameters ``W1``, ``b1``, ...,
``WL``, ``bL``, any further arrays the network saves (its training state), and one 0-d
string array ``__metadata__`` holding JSON: the format and ldnn versions, the
hyperparameters, what the model remembers of its data, a SHA-256 checksum of every
array and one of the metadata itself. Saving goes through :func:`ldnn.io.atomic_write`,
so an interrupted save leaves the previous file untouched.

Loading trusts nothing the file says before checking it, and never unpickles
(``allow_pickle=False`` everywhere, so a file from a stranger cannot run code):

1. the zip directory is read first: every member must be stored, not compressed (ldnn
   writes them so; nothing is ever decompressed, so no small file can ask for a large
   allocation), and no name may repeat;
2. the metadata member's header must declare a string of at most ``MAX_METADATA_BYTES``,
   and its JSON must be an ldnn model of a known format version;
3. the caller turns the metadata into the arrays it expects (names, shapes and dtypes,
   from the hyperparameters' layer_dims); a missing or unexpected member is refused;
4. each member's ``.npy`` header must declare exactly the expected shape and dtype, and
   the member must be exactly that big, before its bytes are read;
5. the checksums must match, the metadata's too (format 2).

The checksums detect damage and edits, not forgery: anyone can recompute a SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import ModelFileError
from .atomic import atomic_write
from .npy import read_header

FORMAT_VERSION = 2
METADATA = "__metadata__"
#: The largest metadata a model file may declare (its JSON, as UTF-32 in the .npy).
MAX_METADATA_BYTES = 256 << 20


def _checksum(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def _metadata_checksum(metadata: dict) -> str:
    """SHA-256 of the metadata's canonical JSON, without the checksum itself."""
    rest = {k: v for k, v in metadata.items() if k != "metadata_sha256"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def save_model(path: str | os.PathLike, arrays: dict, metadata: dict) -> None:
    """Write ``arrays`` (name -> array) and JSON-able ``metadata`` to ``path``
    atomically, with the checksums of both."""
    arrays = {k: np.ascontiguousarray(np.asarray(v)) for k, v in arrays.items()}
    header = {
        "format": "ldnn-model",
        "format_version": FORMAT_VERSION,
        "ldnn_version": __version__,
        **metadata,
        "checksums": {k: _checksum(v) for k, v in arrays.items()},
    }
    header["metadata_sha256"] = _metadata_checksum(header)
    arrays[METADATA] = np.array(json.dumps(header))
    atomic_write(path, lambda file: np.savez(file, **arrays))


def load_model(path: str | os.PathLike, expected: Callable[[dict], dict]) -> tuple[dict, dict]:
    """Read a model file; return (arrays, metadata).

    Parameters
    ----------
    expected : callable metadata -> {name: (shape, dtype)}
        Which arrays the file must hold, from what its (parsed, not yet verified)
        metadata declares; it raises ModelFileError (or ValueError, TypeError) for
        metadata it cannot use.

    Raises
    ------
    ModelFileError
        If the file is missing, not an ldnn model, truncated, modified since it was
        saved, written in a newer format than this ldnn reads, or declares anything
        that does not fit.
    """
    path = Path(path)
    where = f"model file {str(path)!r}"
    if not path.exists():
        raise ModelFileError(f"{where} does not exist")
    if not path.is_file():
        raise ModelFileError(f"{where} is not a file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive, where)
            metadata = _read_metadata(archive, members, where)
            try:
                wanted = expected(metadata)
            except (TypeError, ValueError) as error:
                raise ModelFileError(f"{where}: {error}") from None
            names = set(members) - {METADATA}
            if names != set(wanted):
                missing, extra = sorted(set(wanted) - names), sorted(names - set(wanted))
                raise ModelFileError(
                    f"{where} does not hold the arrays its metadata declares: "
                    + "; ".join(
                        part
                        for part in (
                            f"missing {missing}" if missing else "",
                            f"unexpected {extra}" if extra else "",
                        )
                        if part
                    )
                )
            arrays = {
                name: _read_array(archive, members[name], *wanted[name], where)
                for name in sorted(wanted)
            }
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        raise ModelFileError(
            f"{where} cannot be read (truncated, damaged or not an ldnn .npz model): {error}"
        ) from None
    _verify(arrays, metadata, where)
    return arrays, metadata


def _members(archive: zipfile.ZipFile, where: str) -> dict:
    """{array name: ZipInfo}, after checking names, duplicates and storage."""
    members = {}
    for info in archive.infolist():
        name = info.filename
        if not name.endswith(".npy") or "/" in name or "\\" in name:
            raise ModelFileError(f"{where} holds {name!r}, which is not an array of a model")
        if name[:-4] in members:
            raise ModelFileError(f"{where} holds {name!r} twice")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(
                f"{where}: member {name!r} is compressed; ldnn model files are stored "
                "uncompressed (save the model again with DeepNetwork.save)"
            )
        members[name[:-4]] = info
    if METADATA not in members:
        raise ModelFileError(f"{where} is an .npz file but not an ldnn model (no metadata)")
    return members


def _header(file, name: str, where: str) -> tuple[tuple, np.dtype, bool]:
    try:
        shape, fortran_order, dtype = read_header(file)
    except (ValueError, TypeError, SyntaxError) as error:
        raise ModelFileError(f"{where}: array {name!r} has a damaged header: {error}") from None
    return shape, dtype, fortran_order


def _read_metadata(archive: zipfile.ZipFile, members: dict, where: str) -> dict:
    info = members[METADATA]
    with archive.open(info) as file:
        shape, dtype, _ = _header(file, METADATA, where)
        if shape != () or dtype.kind != "U" or dtype.itemsize > MAX_METADATA_BYTES:
            raise ModelFileError(
                f"{where}: the metadata must be one string of at most {MAX_METADATA_BYTES} "
                f"bytes, got dtype {dtype} and shape {shape}"
            )
        if info.file_size != file.tell() + dtype.itemsize:
            raise ModelFileError(f"{where}: the metadata's size does not match its header")
        raw = np.frombuffer(file.read(dtype.itemsize), dtype=dtype)[0]
    try:
        metadata = json.loads(str(raw))
    except (json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{where} has damaged metadata: {error}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != "ldnn-model":
        raise ModelFileError(f"{where} is an .npz file but not an ldnn model")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{where} has format version {version!r}, not a positive integer")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where} has format version {version} (written by ldnn "
            f"{metadata.get('ldnn_version', '?')}); this ldnn {__version__} reads format "
            f"{FORMAT_VERSION} and older: upgrade ldnn to load it"
        )
    return metadata


def _read_array(archive, info, shape: tuple, dtype: np.dtype, where: str) -> np.ndarray:
    name = info.filename[:-4]
    with archive.open(info) as file:
        found_shape, found_dtype, fortran_order = _header(file, name, where)
        if found_dtype != dtype or tuple(found_shape) != tuple(shape):
            raise ModelFileError(
                f"{where}: array {name} must be {dtype} of shape {tuple(shape)}, got "
                f"{found_dtype} of shape {tuple(found_shape)}"
            )
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if info.file_size != file.tell() + nbytes:
            raise ModelFileError(
                f"{where}: array {name} takes {info.file_size - file.tell()} bytes, its header "
                f"declares {nbytes}"
            )
        data = file.read(nbytes)
    array = np.frombuffer(data, dtype=dtype).copy()
    return array.reshape(shape, order="F" if fortran_order else "C")


def _verify(arrays: dict, metadata: dict, where: str) -> None:
    checksums = metadata.get("checksums")
    if not isinstance(checksums, dict) or set(checksums) != set(arrays):
        held = sorted(arrays)
        declared = sorted(checksums) if isinstance(checksums, dict) else checksums
        raise ModelFileError(
            f"{where} has been modified: it holds arrays {held} but was saved with {declared}"
        )
    for name, array in arrays.items():
        if _checksum(array) != checksums[name]:
            raise ModelFileError(
                f"{where} has been modified since it was saved: the checksum of {name} "
                "does not match"
            )
    if metadata["format_version"] >= 2 and metadata.get("metadata_sha256") != _metadata_checksum(
        metadata
    ):
        raise ModelFileError(
            f"{where} has been modified since it was saved: the checksum of its metadata "
            "does not match"
        )
