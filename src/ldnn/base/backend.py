"""Which array module the math runs on.

The propagation formulas never hard-wire ``np.``: they ask the arrays which module made
them, so the same code runs on NumPy arrays and on any module with NumPy's API (CuPy
implements it). CuPy is only consulted when the user has already imported it.
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np

from ..errors import ConfigurationError

DEVICES = ("cpu", "gpu")


def get_xp(*arrays) -> ModuleType:
    """Return the array module (``numpy`` or ``cupy``) that owns ``arrays``."""
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        return cupy.get_array_module(*arrays)
    return np


def device_module(device: str) -> ModuleType:
    """The array module for ``device``: NumPy for "cpu", CuPy for "gpu".

    Raises
    ------
    ConfigurationError
        For "gpu" when CuPy is not installed or sees no CUDA device.
    """
    if device == "cpu":
        return np
    if device != "gpu":
        raise ConfigurationError(f"device must be one of {DEVICES}, got {device!r}")
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # ImportError, or CUDA's own errors without a driver
        raise ConfigurationError(
            "device 'gpu' needs CuPy and a CUDA GPU: pip install 'ldnn[gpu]' (CUDA 12) or "
            f"'ldnn[gpu-cuda13]' (CUDA 13); here: {type(error).__name__}: {error}"
        ) from None
    if count < 1:
        raise ConfigurationError("device 'gpu': CuPy is installed but sees no CUDA device")
    return cupy


def to_device(array, xp: ModuleType):
    """``array`` as an array of module ``xp`` (a no-op when it already is one)."""
    return array if get_xp(array) is xp else xp.asarray(array)


def to_numpy(array) -> np.ndarray:
    """``array`` as a NumPy array, copying it from the GPU if it lives there."""
    return array.get() if get_xp(array) is not np else array


def host_copies(arrays: dict) -> dict:
    """{name: NumPy copy} of device arrays, read-only: what a GPU network keeps on the host,
    so that :class:`Resident` can trust its device copy (assign a new array to change one)."""
    copies = {name: np.array(to_numpy(array)) for name, array in arrays.items()}
    for array in copies.values():
        array.flags.writeable = False
    return copies


class Resident:
    """A dict of host arrays kept on a device between calls (a GPU network's parameters
    between predictions): copied there once, and again only when the dict holds other
    arrays, or arrays that could have changed in place (writeable ones)."""

    def __init__(self):
        self.xp, self.host, self.device = None, {}, {}

    def of(self, arrays: dict, xp: ModuleType) -> dict:
        if xp is np:
            return arrays
        unchanged = (
            xp is self.xp
            and arrays.keys() == self.host.keys()
            and all(a is self.host[k] and not a.flags.writeable for k, a in arrays.items())
        )
        if not unchanged:
            self.xp, self.host = xp, dict(arrays)
            self.device = {k: to_device(v, xp) for k, v in arrays.items()}
        return self.device
