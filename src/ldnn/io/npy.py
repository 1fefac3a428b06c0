"""The header of a ``.npy`` array: what it declares, read before any of its data."""

from __future__ import annotations

import numpy as np

#: The most bytes a header may take (NumPy writes 64 to 128; its own bound is 10,000).
MAX_HEADER_BYTES = 1 << 16


def read_header(file) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) from the start of a .npy stream; the stream is then
    at the first byte of the data.

    Raises
    ------
    ValueError
        For a stream that is not a .npy array of format version 1 or 2.
    """
    version = np.lib.format.read_magic(file)
    read = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }.get(version)
    if read is None:
        raise ValueError(f"unsupported .npy format version {version}")
    return read(file, max_header_size=MAX_HEADER_BYTES)
