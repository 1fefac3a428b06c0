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


def write_header(file, shape: tuple, dtype) -> None:
    """Write the header of a C-ordered .npy array of ``shape`` and ``dtype`` at the
    stream's position (NumPy's format 1.0); its data follow, written row by row.

    Rewritten at the start of the file once the rows are counted, a header keeps its
    length as long as it was first written for at least as many rows (the shape's digits
    fit in the padding NumPy's format leaves: the header is a multiple of 64 bytes).
    """
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False}
    np.lib.format.write_array_header_1_0(file, {**header, "shape": tuple(int(n) for n in shape)})
