"""X = A[0] of a table with text columns, kept without its one-hot rows.

A text column of K categories is K rows of the notes' X, one-hot: example i holds a 1 in
the row of its category and 0 in the other K - 1. Written out, those rows are m K floats
of which m are not 0 (a 5,000-category column of 200,000 rows: 8 GB in float64); and
W[1] times a one-hot column is a column of W[1], so layer 1 needs only which row holds
the 1 (:mod:`ldnn.core.categorical`). A :class:`CompactX` keeps

    numbers  (m, n_num)    X's numeric rows, at ``numeric_rows`` of X, one example per
                           row (so that a mini-batch is a gather of rows)
    codes    (m, n_text)   for each text column, the row of X holding the example's 1:
                           the column's first row (its offset into W[1]'s columns) plus its
                           category's index; -1 where no row does (a category the model
                           has not seen: an all-zero one-hot column)

and is the notes' X of shape (n[0], m) for what the data, the split, the preparation and
training ask of an X: ``X[:, examples]`` (a mini-batch, a split, a rank's share),
``X[i]`` (row i), ``X.mean(axis=1)`` and ``X.std(axis=1)`` (each row's statistics),
``X.min()``, ``X.max()``, and ``(X - mean) / std``, which standardises the numeric rows
(the one-hot rows keep mean 0 and std 1, as :class:`~ldnn.data.preparation.Preparation`
leaves them). That standardisation is kept as a shift and a scale, and the raw X and the
prepared one share their numbers. ``X.astype(dtype, copy=False)`` (what the network's
checks ask for) does not write them in the network's dtype either: it keeps the dtype
too, and each read of the numbers (a mini-batch :meth:`take` gathers, a block of examples
that prediction reads) is standardised in float64 and cast then, each value the same
float32 as a whole cast would give it, so that training holds the numbers once, not a
float64 and a float32 copy of them. ``X[:, examples]`` for indices (a validation part)
keeps the examples' indices into the numbers, not a copy of them (:meth:`take` gathers
a mini-batch's the same way).
:meth:`dense` builds the one-hot X, for tests and small tables; training and prediction
never do.
"""

from __future__ import annotations

import numpy as np

from ..base.checks import check_columns, finite_extent, in_dtype
from ..errors import InvalidValueError, ShapeError
from .preparation import mean_and_std, shared_mean_and_std
from .shared_stats import summed

#: Examples written at a time when the numbers are standardised into a new dtype: the
#: float64 intermediate of a block, not of the whole X.
_BLOCK = 1 << 16
#: Bytes read at a time from numbers kept in a file (a block of rows; a group of columns
#: of every row, for their statistics).
_READ_BYTES = 32 << 20


class CompactX:
    """The notes' X of shape (n[0], m), its one-hot rows kept as codes (see the module).

    Parameters
    ----------
    numbers : ndarray of shape (m, n_num)
        The numeric rows of X, example-major.
    codes : ndarray of shape (m, n_text), integers
        Per text column, the row of X that holds each example's 1, or -1 for none.
    numeric_rows : sequence of int, n_num of them
        The row of X of each column of ``numbers``.
    blocks : sequence of (offset, K), one per text column
        The column's first row of X and its number of categories (rows).
    shift, scale : ndarray of shape (n_num,), optional
        X's numeric rows are (numbers - shift) / scale (a standardisation not yet written).
    example_rows : ndarray of int, optional
        The examples are these rows of ``numbers`` (``codes`` holds theirs alone): a part
        of another X, its numbers not copied.
    cast : dtype, optional
        X's numeric rows are those standardised numbers cast to ``cast`` as they are read
        (:meth:`numeric`, :meth:`take`): a cast not yet written.
    """

    ndim = 2

    def __init__(
        self,
        numbers,
        codes,
        numeric_rows,
        blocks,
        shift=None,
        scale=None,
        example_rows=None,
        cast=None,
    ):
        self.numbers, self.codes = numbers, codes
        self.numeric_rows = np.asarray(numeric_rows, dtype=np.intp)
        self.blocks = tuple((int(offset), int(K)) for offset, K in blocks)
        self.shift, self.scale, self.example_rows = shift, scale, example_rows
        self.cast = None if cast is None else np.dtype(cast)
        n0 = len(self.numeric_rows) + sum(K for _, K in self.blocks)
        self.shape = (n0, numbers.shape[0] if example_rows is None else len(example_rows))

    def _with(self, numbers, codes, shift=None, scale=None, rows=None) -> CompactX:
        """The same rows of X for other examples (or another standardisation)."""
        affine = (shift, scale) if shift is not None else (self.shift, self.scale)
        return CompactX(numbers, codes, self.numeric_rows, self.blocks, *affine, rows, self.cast)

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def dtype(self) -> np.dtype:
        if self.cast is not None:
            return self.cast
        if self.shift is None:
            return self.numbers.dtype
        return np.result_type(self.numbers.dtype, self.shift.dtype, self.scale.dtype)

    @property
    def nbytes(self) -> int:
        return self.numbers.nbytes + self.codes.nbytes

    def __repr__(self) -> str:
        return (
            f"CompactX(shape={self.shape}, {len(self.numeric_rows)} numeric rows, "
            f"{len(self.blocks)} text columns, dtype={self.dtype})"
        )

    # -- the rows of X ---------------------------------------------------------------------
    def numeric(self, examples=slice(None), columns=slice(None)):
        """X's numeric rows X_N, of shape (n_num, m): the numbers, standardised and cast if
        asked (of some ``examples`` and some ``columns`` of the numbers: slices give views,
        but of an X that keeps its examples' indices or casts as it reads)."""
        if not isinstance(self.numbers, np.ndarray):  # rows read from a file
            rows = examples if self.example_rows is None else self.example_rows[examples]
            numbers = _read_rows(self.numbers, rows, columns)
        elif self.example_rows is None:
            numbers = self.numbers[examples, columns]
        else:  # the examples' rows gathered whole, then the columns: as a copy would be
            numbers = self.numbers[self.example_rows[examples]][:, columns]
        if self.shift is not None:
            numbers = (numbers - self.shift[columns]) / self.scale[columns]
        if self.cast is not None:
            numbers = numbers.astype(self.cast, copy=False)
        return numbers.T

    def __getitem__(self, key):
        """``X[:, examples]`` (a slice, indices or a mask): a CompactX of those examples;
        ``X[i]``: row i of X, shape (m,)."""
        if isinstance(key, int | np.integer):
            return self.row(int(key))
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], slice):
            examples = key[1]
            if key[0] == slice(None) and not isinstance(examples, int | np.integer):
                if (
                    self.example_rows is None
                    and isinstance(examples, slice)
                    and isinstance(self.numbers, np.ndarray)
                ):  # views
                    return self._with(self.numbers[examples], self.codes[examples])
                # Indices (a part of the examples): theirs into the numbers, not a copy
                # (4 bytes an example where they fit, not a row of numbers).
                rows = self.example_rows
                if rows is None:
                    m = self.shape[1]
                    rows = np.arange(m, dtype=np.int32 if m < 2**31 else np.intp)
                return self._with(self.numbers, self.codes[examples], rows=rows[examples])
        raise ShapeError(
            f"a CompactX (X with categories) takes X[:, examples] or X[row], got X[{key!r}]"
        )

    def take(self, examples, out=None) -> CompactX:
        """X[:, examples] for an index array, written into ``out`` (numbers, codes) if
        given: a mini-batch gathered into reused arrays. Of an X that casts as it reads,
        the mini-batch's numbers are written standardised and cast (into ``out``'s numbers
        where they are of the cast's dtype, else a new array of the batch's size)."""
        numbers_out, codes_out = (None, None) if out is None else out
        # mode="clip": NumPy's default "raise" first writes into a temporary copy; the
        # indices are valid, so "clip" changes nothing else.
        codes = np.take(self.codes, examples, axis=0, out=codes_out, mode="clip")
        rows = examples if self.example_rows is None else self.example_rows[examples]
        if self.cast is None:
            return self._with(_take_rows(self.numbers, rows, numbers_out), codes)
        if not self.numbers.flags.c_contiguous:  # np.take would first copy it whole
            numbers = self.numbers[np.asarray(rows, dtype=np.intp)]  # (a view of a block)
        elif numbers_out is not None and numbers_out.dtype == self.numbers.dtype:
            numbers = _take_rows(self.numbers, rows, numbers_out)
        else:
            numbers = _take_rows(self.numbers, rows)
        if self.shift is not None:  # (numbers - shift) / scale, as numeric() computes it
            if numbers.dtype == np.result_type(numbers, self.shift, self.scale):
                np.subtract(numbers, self.shift, out=numbers)
                np.divide(numbers, self.scale, out=numbers)
            else:
                numbers = (numbers - self.shift) / self.scale
        if numbers_out is not None and numbers_out.dtype == self.cast:
            numbers_out[...] = numbers
            numbers = numbers_out
        else:
            numbers = numbers.astype(self.cast, copy=False)
        return CompactX(numbers, codes, self.numeric_rows, self.blocks)

    def row(self, i: int):
        """Row i of X, shape (m,)."""
        i = i + self.shape[0] if i < 0 else i
        where = np.flatnonzero(self.numeric_rows == i)
        if where.size:
            return self.numeric(columns=slice(where[0], where[0] + 1))[0]
        for c, (offset, K) in enumerate(self.blocks):
            if offset <= i < offset + K:
                return (self.codes[:, c] == i).astype(self.dtype)
        raise ShapeError(f"X has {self.shape[0]} rows; no row {i}")

    def dense(self, dtype=None) -> np.ndarray:
        """The notes' X of shape (n[0], m) with its one-hot rows written out (small X)."""
        X = np.zeros(self.shape, dtype=dtype or self.dtype)
        X[self.numeric_rows] = self.numeric()
        examples = np.arange(self.shape[1])
        for r in self.codes.T:
            X[r[r >= 0], examples[r >= 0]] = 1
        return X

    # -- what the preparation and the checks ask of an X ----------------------------------
    def _one_hot_values(self) -> list:
        """The values the one-hot rows hold: 1 where an example has a category, 0 where
        a row does not hold an example's 1."""
        values = []
        if self.shape[1] and self.blocks:
            if (self.codes >= 0).any():
                values.append(1.0)
            if any(K > 1 for _, K in self.blocks) or (self.codes < 0).any():
                values.append(0.0)
        return values

    def min(self):
        numbers = self.numeric()
        return np.min([*self._one_hot_values(), *([numbers.min()] if numbers.size else [])])

    def max(self):
        numbers = self.numeric()
        return np.max([*self._one_hot_values(), *([numbers.max()] if numbers.size else [])])

    def _statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's mean and standard deviation, (n[0], 1) each, as
        :func:`~ldnn.data.preparation.mean_and_std` gives them (a constant row's std: 1);
        a numeric row at a time, so that no (n_num, m) intermediate is made."""
        mean, std = np.zeros((self.shape[0], 1)), np.ones((self.shape[0], 1))
        # Numbers read from a file: a group of rows of X per pass through it, not one.
        group = (
            1
            if isinstance(self.numbers, np.ndarray)
            else max(1, _READ_BYTES // (8 * self.shape[1] or 1))
        )
        for start in range(0, len(self.numeric_rows), group):
            rows = self.numeric(columns=slice(start, start + group))
            for j, row in enumerate(self.numeric_rows[start : start + group]):
                mean[row], std[row] = mean_and_std(rows[j : j + 1])
        m = max(self.shape[1], 1)
        for r, (offset, K) in zip(self.codes.T, self.blocks, strict=True):
            p = np.bincount(r[r >= 0] - offset, minlength=K) / m
            mean[offset : offset + K, 0] = p
            std[offset : offset + K, 0] = np.where(p * (1 - p) > 0, np.sqrt(p * (1 - p)), 1.0)
        return mean, std

    def shared(self, ranks) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`mean` and :meth:`std`, each (n[0], 1), of the X that MPI ``ranks`` hold
        together, these being this rank's columns: the numeric rows' by
        :func:`~ldnn.data.preparation.shared_mean_and_std`, the one-hot rows' from the
        categories' counts added up across the ranks."""
        mean, std = np.zeros((self.shape[0], 1)), np.ones((self.shape[0], 1))
        m = summed(ranks, self.shape[1])
        group = max(1, _READ_BYTES // (8 * self.shape[1] or 1))
        rows = self.numeric_rows

        def blocks():
            for start in range(0, len(rows), group):
                yield start, self.numeric(columns=slice(start, start + group))

        mean[rows], std[rows] = shared_mean_and_std(blocks, len(rows), max(m, 1), ranks)
        for r, (offset, K) in zip(self.codes.T, self.blocks, strict=True):
            p = summed(ranks, np.bincount(r[r >= 0] - offset, minlength=K)) / max(m, 1)
            mean[offset : offset + K, 0] = p
            std[offset : offset + K, 0] = np.where(p * (1 - p) > 0, np.sqrt(p * (1 - p)), 1.0)
        return mean, std

    def mean(self, axis=None, keepdims=False):
        """The mean of each row of X, shape (n[0], 1) (``axis=1, keepdims=True``)."""
        _one_axis(axis, keepdims)
        return self._statistics()[0]

    def std(self, axis=None, keepdims=False):
        """The standard deviation of each row of X, shape (n[0], 1) (``axis=1,
        keepdims=True``); a constant row's is 1, as the standardisation takes it."""
        _one_axis(axis, keepdims)
        return self._statistics()[1]

    def _numeric_part(self, value, one_hot: float, operation: str) -> np.ndarray:
        """The numeric rows' entries of ``value`` (n[0], 1), whose one-hot rows must hold
        ``one_hot`` (0 to subtract, 1 to divide by), which leaves those rows as they are."""
        value = np.asarray(value, dtype=np.float64)
        if value.shape != (self.shape[0], 1):
            raise ShapeError(
                f"X {operation} takes an array of shape ({self.shape[0]}, 1), got {value.shape}"
            )
        one_hot_rows = np.ones(self.shape[0], dtype=bool)
        one_hot_rows[self.numeric_rows] = False
        if not (value[one_hot_rows] == one_hot).all():
            raise InvalidValueError(
                f"X {operation} needs {one_hot:g} in X's one-hot rows (a CompactX keeps them "
                "as codes, 0 or 1)"
            )
        return value[self.numeric_rows, 0]

    def _affine(self, shift, scale) -> CompactX:
        """X with its numbers standardised by ``shift`` and ``scale`` (n_num,)."""
        return self._with(self.numbers, self.codes, shift, scale, self.example_rows)

    def _written(self) -> CompactX:
        """X with its cast written (the X that ``astype(dtype)`` with a copy gives): what a
        further standardisation applies to, as it applied to the cast numbers before."""
        return self if self.cast is None else self.astype(self.cast)

    def __sub__(self, mean) -> CompactX:
        """X - mean: the numeric rows shifted (the one-hot rows' means must be 0)."""
        if self.cast is not None:
            return self._written() - mean
        a = self._numeric_part(mean, 0.0, "- mean")
        if self.shift is None:  # (numbers - a) / 1
            return self._affine(a, np.ones_like(a))
        return self._affine(self.shift + a * self.scale, self.scale)

    def __truediv__(self, std) -> CompactX:
        """X / std: the numeric rows scaled (the one-hot rows' stds must be 1)."""
        if self.cast is not None:
            return self._written() / std
        s = self._numeric_part(std, 1.0, "/ std")
        if self.shift is None:  # (numbers - 0) / s
            return self._affine(np.zeros_like(s), s)
        return self._affine(self.shift, self.scale * s)

    def astype(self, dtype, copy: bool = True) -> CompactX:
        """X with its numbers in ``dtype``, standardised ((numbers - shift) / scale in
        float64, then cast, as the dense X would be): with ``copy``, written a block of
        examples at a time; without, an X that standardises and casts the numbers as they
        are read (:meth:`take`'s mini-batches, :meth:`numeric`'s blocks), sharing them."""
        dtype = np.dtype(dtype)
        if not copy:
            if self.cast == dtype or (
                self.cast is None and self.shift is None and self.numbers.dtype == dtype
            ):
                return self
            if self.cast is None:  # each value cast from its float64, as written below
                return CompactX(
                    self.numbers,
                    self.codes,
                    self.numeric_rows,
                    self.blocks,
                    self.shift,
                    self.scale,
                    self.example_rows,
                    dtype,
                )
        numbers = np.empty((self.shape[1], self.numbers.shape[1]), dtype=dtype)
        for start in range(0, self.shape[1], _BLOCK):
            block = slice(start, start + _BLOCK)
            numbers[block] = self.numeric(block).T
        return CompactX(numbers, self.codes, self.numeric_rows, self.blocks)

    def _block_examples(self) -> int:
        """Examples read at a time by a pass through X: ``_BLOCK``, or 4 MiB of numbers
        kept in a file (whose every block is a read, and three arrays of its size)."""
        if isinstance(self.numbers, np.ndarray):
            return _BLOCK
        return max(1, min(_BLOCK, (4 << 20) // (8 * max(self.numbers.shape[1], 1))))

    def checked(self, n0: int, dtype, name: str = "X", *, empty: bool = False):
        """(X in ``dtype``, max |x|): X checked as :func:`ldnn.base.checks.check_X` checks a
        dense one (its shape (n[0], m), finite numbers within the dtype's range, m = 0
        only with ``empty``)."""
        check_columns(self, n0, name, "n[0]")
        if self.shape[1] == 0 and not empty:
            raise InvalidValueError(f"{name} has no examples (m = 0)")
        extent = max([0.0, *self._one_hot_values()])
        step = self._block_examples()
        for start in range(0, self.shape[1], step):  # a block of examples at a time
            numbers = self.numeric(slice(start, start + step))
            extent = max(extent, finite_extent(numbers, f"{name}'s numeric rows"))
        return in_dtype(self, dtype, name, extent), extent


def _one_axis(axis, keepdims) -> None:
    if axis != 1 or not keepdims:
        raise ShapeError("a CompactX gives the statistics of its rows: axis=1, keepdims=True")


def _take_rows(numbers, rows, out=None) -> np.ndarray:
    """numbers[rows] for an index array, into ``out`` if given: a gather in memory, or
    positioned reads of the rows of numbers kept in a file (``gather_rows``,
    :class:`~ldnn.data.stream.NpyRows`)."""
    if isinstance(numbers, np.ndarray):
        # mode="clip": NumPy's default "raise" first writes into a temporary copy; the
        # indices are valid, so "clip" changes nothing else.
        return np.take(numbers, rows, axis=0, out=out, mode="clip")
    return numbers.gather_rows(rows, out=out)


def _read_rows(numbers, rows, columns) -> np.ndarray:
    """numbers[rows][:, columns] of numbers kept in a file, read ``_BLOCK`` rows at a time
    so that only the columns asked for are held (a row's statistics read one column of
    every example, not the whole file); ``rows`` a slice or an index array."""
    if isinstance(rows, slice):
        rows = np.arange(*rows.indices(numbers.shape[0]))
    width = len(range(*columns.indices(numbers.shape[1])))
    out = np.empty((len(rows), width), dtype=numbers.dtype)
    step = max(1, (4 << 20) // (numbers.dtype.itemsize * max(numbers.shape[1], 1)))
    for start in range(0, len(rows), step):  # 4 MiB of rows read at a time
        block = slice(start, start + step)
        out[block] = numbers.gather_rows(rows[block])[:, columns]
    return out
