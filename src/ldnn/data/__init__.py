"""Data sets: generated ones (planar-style flowers, spirals, XOR, parity), bundled ones
and file readers. Arrays come back in the notes' layout: X of shape (n[0], m), one
example per column, and Y of shape (1, m)."""

from .h5 import load_h5
from .synthetic import make_parity, make_spirals, make_xor

__all__ = ["load_h5", "make_parity", "make_spirals", "make_xor"]

from .datasets import DATASETS, Dataset, load_dataset  # noqa: E402
from .files import DataFileError, read_table  # noqa: E402

__all__ += ["DATASETS", "DataFileError", "Dataset", "load_dataset", "read_table"]
