"""Data sets in the notes' layout (X of shape (n[0], m), one example per column): generated
ones (planar-style flowers, spirals, XOR, parity), bundled ones by name, file readers,
tables of named columns (CSV, Parquet, DataFrames) and the rules that encode them
(:class:`TableEncoding`: imputation, one-hot), the limits of what a table may ask for
(:class:`Limits`), seeded splits, and the preparation (standardisation) that travels
with a model.

This floor imports nothing of ldnn but the foundation: :mod:`ldnn.errors`,
:mod:`ldnn.base` and :mod:`ldnn.io`.
"""

from ..errors import DataFileError, MissingPackageError
from .compact import CompactX
from .datasets import DATASETS, Dataset, load_dataset
from .encoding import ColumnRule, TableEncoding
from .files import read_table
from .h5 import load_h5
from .limits import LIMITS, Limits
from .preparation import Preparation, prepare, standardize
from .split import split_indices
from .synthetic import make_parity, make_spirals, make_xor
from .tables import Columns, Text, columns_from, read_columns

__all__ = [
    "CompactX",
    "DATASETS",
    "LIMITS",
    "Limits",
    "ColumnRule",
    "Columns",
    "TableEncoding",
    "Text",
    "columns_from",
    "read_columns",
    "DataFileError",
    "Dataset",
    "MissingPackageError",
    "Preparation",
    "load_dataset",
    "load_h5",
    "make_parity",
    "make_spirals",
    "make_xor",
    "prepare",
    "read_table",
    "split_indices",
    "standardize",
]
