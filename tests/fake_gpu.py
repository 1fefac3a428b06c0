"""A stand-in for CuPy that runs on the CPU and counts what a GPU would make expensive.

Arrays on the "device" are :class:`DeviceArray`, a NumPy array subclass; the module
``fakecupy`` offers CuPy's names for the functions ldnn calls (every other name is
NumPy's, its results moved to the device). It counts:

- ``reads``: device-to-host transfers that make the host wait for the GPU: ``float()``,
  ``int()``, ``bool()`` or ``.item()`` of a device value, ``.get()``, ``cupy.asnumpy``;
- ``copies``: host-to-device transfers, ``cupy.asarray`` of a host array.

The numbers it computes are NumPy's, so a run on it must equal the CPU run bit for bit.
"""

from __future__ import annotations

import contextlib
import sys
import types

import numpy as np


class Counts:
    def __init__(self):
        self.reads = 0
        self.copies = 0
        self.read_sites: list[str] = []

    def read(self) -> None:
        self.reads += 1
        frame = sys._getframe(2)
        self.read_sites.append(f"{frame.f_code.co_filename.split('/')[-1]}:{frame.f_lineno}")


COUNTS = Counts()


class DeviceArray(np.ndarray):
    """An array "on the GPU": host reads of it are counted."""

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # Reductions stay device arrays (0-d), as CuPy's do: reading one is a host read.
        return np.asarray(array).view(DeviceArray)

    def __getitem__(self, key):
        # CuPy's indexing gives 0-d device arrays, never host scalars.
        item = super().__getitem__(key)
        return np.asarray(item).view(DeviceArray) if isinstance(item, np.generic) else item

    def __setitem__(self, key, value):
        # A device value written into a device array stays on the device.
        if isinstance(value, DeviceArray):
            value = value.view(np.ndarray)
        self.view(np.ndarray)[key] = value

    def __float__(self):
        COUNTS.read()
        return float(self.view(np.ndarray))

    def __int__(self):
        COUNTS.read()
        return int(self.view(np.ndarray))

    def __bool__(self):
        COUNTS.read()
        return bool(self.view(np.ndarray))

    def __index__(self):
        COUNTS.read()
        return int(self.view(np.ndarray))

    def item(self, *args):
        COUNTS.read()
        return self.view(np.ndarray).item(*args)

    def get(self):
        COUNTS.read()
        return np.array(self.view(np.ndarray))

    def set(self, host):
        COUNTS.copies += 1
        self.view(np.ndarray)[...] = host

    def tolist(self):
        COUNTS.read()
        return self.view(np.ndarray).tolist()


def _device(value):
    if isinstance(value, np.ndarray) and not isinstance(value, DeviceArray):
        return value.view(DeviceArray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(DeviceArray)
    if isinstance(value, tuple):
        return tuple(_device(v) for v in value)
    return value


def _on_device(value) -> bool:
    return isinstance(value, DeviceArray)


def make_module() -> types.ModuleType:
    module = types.ModuleType("cupy")

    def asarray(a, dtype=None):
        if not _on_device(a):
            COUNTS.copies += 1
        return (
            np.array(a, dtype=dtype, copy=None).view(DeviceArray)
            if not _on_device(a)
            else (a if dtype is None else a.astype(dtype, copy=False))
        )

    def asnumpy(a):
        if _on_device(a):
            COUNTS.read()
        return np.array(a.view(np.ndarray) if _on_device(a) else a)

    def get_array_module(*arrays):
        return module if any(_on_device(a) for a in arrays) else np

    def take(a, indices, axis=None, out=None):  # CuPy's take has no mode
        return np.take(a, indices, axis=axis, out=out)

    def wrap(function):
        def on_device(*args, **kwargs):
            return _device(function(*args, **kwargs))

        return on_device

    def getattr_(name):
        value = getattr(np, name)
        return wrap(value) if callable(value) and not isinstance(value, type) else value

    module.__getattr__ = getattr_
    module.asarray = asarray
    module.array = lambda a, dtype=None, copy=True: (
        asarray(np.array(a, dtype=dtype))
        if not _on_device(a)
        else np.array(a, dtype=dtype).view(DeviceArray)
    )
    module.asnumpy = asnumpy
    module.get_array_module = get_array_module
    module.take = take
    module.ndarray = DeviceArray
    module.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
        Stream=None,
    )
    return module


@contextlib.contextmanager
def fake_gpu():
    """``import cupy`` gives the stand-in within this block; yields the counts."""
    before = sys.modules.get("cupy")
    sys.modules["cupy"] = make_module()
    COUNTS.__init__()
    try:
        yield COUNTS
    finally:
        if before is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = before
