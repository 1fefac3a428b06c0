"""What the column rules ask of a column whose rows are shared among MPI ranks, answered
from the ranks' shares instead of from the column gathered whole (issue 27).

:mod:`ldnn.data.rules` asks a column of numbers for its count, its missing values, its
least and greatest value, whether they are whole numbers each seen once (an ID) and its
median; a column of text for how often each category occurs and where one first
occurs. Each is either a sum, a minimum or a maximum over the ranks, computed from each
rank's share, or, for the median, found exactly by bisection: the k-th smallest of n
values is the least key t (the value's bits in an order that sorts as the numbers do)
with at least k + 1 values at or below it, and each of 64 halvings of the keys' range
counts, on each rank, its values below the middle and adds the counts up. So the answers
are the whole column's exactly, bit for bit, and a rank holds only its share (and, for
an ID's test, one bit per whole number of the column's range).

The ranks talk through ``allgather`` of small Python values (mpi4py's, or the thread
stand-in of the tests), every rank asking the same questions in the same order.
"""

from __future__ import annotations

import numpy as np

from .tables import Text

_SIGN = np.uint64(1 << 63)


def summed(ranks, value):
    """``value`` (a number or an array) added up over the MPI ``ranks``, in rank order,
    so that the sum is the same on every rank and in every run; each rank calls it at
    the same point."""
    parts = ranks.allgather(value)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def order_keys(values: np.ndarray) -> np.ndarray:
    """float64 values as uint64 keys in the numbers' order (-0.0 as 0.0; no NaN)."""
    return _keys(np.asarray(values, dtype=np.float64))


def _keys(values: np.ndarray) -> np.ndarray:
    """float64 values as uint64 keys in the numbers' order (-0.0 as 0.0; no NaN)."""
    bits = (values + 0.0).view(np.uint64)  # (+ 0.0 turns -0.0 into 0.0; a copy)
    negative = bits >= _SIGN
    np.invert(bits, out=bits, where=negative)  # in place: no temporaries of the values
    np.bitwise_or(bits, _SIGN, out=bits, where=~negative)
    return bits


def _value(key: int) -> float:
    key = np.uint64(key)
    bits = key & ~_SIGN if key & _SIGN else ~key
    return float(np.array([bits], dtype=np.uint64).view(np.float64)[0])


class SharedNumbers:
    """A column of numbers (float64, NaN where missing) of which this rank holds
    ``values``: the questions of :func:`ldnn.data.rules.number_rule`, answered for the
    whole column. Not its mean: one process sums the column in the training part's
    order, which the ranks' shares do not know (impute "mean" gathers the column)."""

    def __init__(self, values: np.ndarray, comm):
        self.comm = comm
        self._present = values[~np.isnan(values)]
        counts = self._sum_each((values.size, self._present.size))
        self.size, n_present = counts
        self.missing = self.size - n_present
        here = (
            (float(self._present.min()), float(self._present.max()))
            if self._present.size
            else (np.inf, -np.inf)
        )
        everyone = comm.allgather(here)
        self.low = min(low for low, _ in everyone)
        self.high = max(high for _, high in everyone)

    def _sum_each(self, numbers: tuple) -> list:
        return [sum(column) for column in zip(*self.comm.allgather(numbers), strict=True)]

    def whole(self) -> bool:
        """Whether every value is a whole number."""
        here = bool(np.array_equal(self._present, np.round(self._present)))
        return all(self.comm.allgather(here))

    def distinct(self) -> bool:
        """Whether no value occurs twice, for whole numbers in [low, high] (a range of at
        most about 2 n, which the rules check first): one bit per whole number."""
        local = np.unique(self._present).size == self._present.size
        if not all(self.comm.allgather(local)):
            return False
        seen = np.zeros(int(self.high - self.low) + 1, dtype=bool)
        seen[(self._present - self.low).astype(np.int64)] = True
        packed = np.bitwise_or.reduce(np.stack(self.comm.allgather(np.packbits(seen))))
        return int(np.unpackbits(packed).sum()) == self.size - self.missing

    def kth(self, k: int) -> float:
        """The k-th smallest value (from 0), exactly."""
        keys = _keys(self._present)
        low, high = 0, (1 << 64) - 1
        while low < high:
            middle = (low + high) // 2
            at_or_below = sum(self.comm.allgather(int(np.count_nonzero(keys <= middle))))
            if at_or_below > k:
                high = middle
            else:
                low = middle + 1
        return _value(low)

    def median(self) -> float:
        """np.median of the whole column's values: the middle one, or the mean of the
        two middle ones (their sum halved, as np.median takes it)."""
        n = self.size - self.missing
        if n % 2:
            return self.kth(n // 2)
        pair = np.array([self.kth(n // 2 - 1), self.kth(n // 2)])
        return float(np.mean(pair))


class SharedText(Text):
    """A column of text of which this rank holds ``codes`` (into the ranks' common
    ``categories``, -1 where missing), ``positions`` saying where each of them is in
    the whole column (ascending): the questions of the text rules, answered for the
    whole column."""

    def __init__(self, codes, categories, number_like, comm, positions: np.ndarray):
        super().__init__(codes, categories, number_like)
        self.comm, self.positions = comm, positions

    def code_counts(self) -> tuple[np.ndarray, int]:
        """(how often each category occurs, how many cells are missing), whole column."""
        here = np.bincount(self.codes[self.codes >= 0], minlength=len(self.categories))
        counts = np.sum(self.comm.allgather(here), axis=0)
        missing = sum(self.comm.allgather(int((self.codes < 0).sum())))
        return counts, missing

    def first_row(self, code: int) -> int:
        """The whole column's first row holding category ``code``."""
        where = np.flatnonzero(self.codes == code)
        here = int(self.positions[where[0]]) if where.size else None
        return min(row for row in self.comm.allgather(here) if row is not None)
