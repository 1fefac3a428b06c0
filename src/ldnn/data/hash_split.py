"""Training and test parts assigned by a hash of each row (``[data] split = "hash"``).

The default split (:mod:`ldnn.data.split`) draws a permutation of all m rows, so it
needs all of them at once, and adding one row to the file changes every row's part. Here
each row's part is a function of the row alone: a 64-bit key (its row number in the
file, or its value in an ID column, ``split_key``) goes through the SplitMix64 finaliser
with the split seed, and the row is held out for the test part when the top 53 bits of
the result, read as a number u in [0, 1), are below ``test_split``:

    u(key) = (mix(key + (seed + 1) * 0x9E3779B97F4A7C15) >> 11) / 2^53,   test if u < test_split

(mix: Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014,
the finaliser of SplitMix64.) Any chunk of rows, on any MPI rank and in any pass, finds
its own rows' parts without the others, and a row keeps its part when rows are added to
the file (keyed on an ID column, also when they are reordered). The price: each part's
size is binomial, test_split x m give or take about sqrt(test_split x m), and it is not
stratified by class. The parts keep the file's order (training shuffles each epoch),
and ``ldnn train``'s validation part is held out of the training part by a hash too
(:func:`validation_held_out`), so that a rank finds it among its own rows as well.

A key column's numbers hash by their float64 bits (0.0 and -0.0 alike), its text by the
first 8 bytes of the BLAKE2b digest of each value's UTF-8, worked out once per distinct
value.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..errors import ConfigurationError, DataFileError
from .limits import shown
from .tables import Text

#: The [data] ``split`` setting's values (``--split``): a seeded permutation of all rows
#: (:mod:`ldnn.data.split`), or a hash of each row (this module).
SPLIT_METHODS = ("shuffle", "hash")

_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's increment, 2^64 / the golden ratio
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def mixed(keys: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64's finaliser of ``keys + (seed + 1) * golden``: 64 well-mixed bits a key."""
    z = keys.astype(np.uint64) + np.uint64((seed + 1) * _GOLDEN % (1 << 64))
    z = (z ^ (z >> np.uint64(30))) * _MIX1  # (uint64 products wrap, as the method wants)
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


#: Keys mixed at a time: the mix's temporaries stay a few MB however many rows there are.
_CHUNK = 1 << 18


def held_out(keys: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Which of the rows with these ``keys`` (uint64) the split holds out: u(key) < fraction."""
    held = np.empty(len(keys), dtype=bool)
    for start in range(0, len(keys), _CHUNK):
        mix = mixed(keys[start : start + _CHUNK], seed)
        held[start : start + _CHUNK] = (mix >> np.uint64(11)) * 2.0**-53 < fraction
    return held


#: Mixed into the keys for the validation part, so that it is not the test part's draw.
_VALIDATION = np.uint64(0x5851F42D4C957F2D)


def validation_held_out(keys: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Which of the training part's rows (``keys``) its validation part holds out, by a
    hash too, with the training seed: u(key XOR a constant) < fraction."""
    return held_out(keys ^ _VALIDATION, fraction, seed)


def check_training_part(kept: int, m: int, fraction: float) -> None:
    """Refuse a test part that the hash made of every one of the m rows (``kept`` of
    them are left for training)."""
    if not kept:
        raise ConfigurationError(
            f"--test-split {fraction} leaves no training examples out of m = {m} "
            "(--split hash holds each row out with that probability)",
            field="test_split",
        )


def row_keys(first: int, count: int) -> np.ndarray:
    """The keys of ``count`` rows from row ``first`` of the file (0-based): their numbers."""
    return np.arange(first, first + count, dtype=np.uint64)


def column_keys(values, name: str, source: str, first: int = 0) -> np.ndarray:
    """The keys of a key column's values: float64 numbers (NaN where missing) or a Text.

    Raises
    ------
    DataFileError
        Where a value is missing, naming the column and the data row (``first``: the
        file's row of the first value, 0-based).
    """
    if isinstance(values, Text):
        missing = values.codes < 0
        digests = [_text_key(category) for category in values.categories]
        lookup = np.array([*digests, 0], dtype=np.uint64)
        keys = lookup[values.codes]
    else:
        values = np.asarray(values, dtype=np.float64)
        missing = np.isnan(values)
        keys = (values + 0.0).view(np.uint64)  # (+ 0.0: -0.0 becomes 0.0)
    if missing.any():
        row = first + int(np.flatnonzero(missing)[0]) + 1
        raise DataFileError(
            f"{source}: split key column {shown(name)} is missing in data row {row} "
            f"({int(missing.sum()):,} rows here): every row needs a key to be assigned a part"
        )
    return keys


def _text_key(value: str) -> int:
    digest = hashlib.blake2b(str(value).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")
