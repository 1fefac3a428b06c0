"""Data larger than memory: examples streamed from ``.npy`` files, a mini-batch at a time.

Training needs the whole X only one mini-batch at a time: X{t} of shape (n[0], batch).
:class:`NpyRows` opens one ``.npy`` file, or a directory of ``.npy`` shards, whose rows
are the examples (as files keep them: shape (m, n[0]), or (m, ...) flattened per row)
and reads the rows a mini-batch asks for with explicit positioned reads (``preadv``)
into a reused buffer. Nothing is memory-mapped: the pages of a mapped file that were
read stay counted in the process's resident memory while the map lives, so reading
through a big ``np.memmap`` grows RSS towards the file's size; positioned reads leave
the data in the kernel's page cache, which the kernel frees under pressure, so RSS stays
flat as m grows.

``NpyRows(path).T`` is a :class:`StreamedX` of shape (n[0], m), the notes' layout, which
:meth:`ldnn.DeepNetwork.fit` accepts as X::

    X = NpyRows("X.npy").T                     # (n[0], m), nothing read yet
    Y = np.load("y.npy")                       # targets: O(m), kept in memory
    net.fit(X, Y, validation_data=(X_val, Y_val))

Give validation data explicitly: ``validation_split`` would index the stream and read
the training part into memory. The targets stay in memory: they are n[L] numbers per
example against n[0] for X.
"""

from __future__ import annotations

import math
import os
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import DataFileError, InvalidValueError
from ..io.npy import read_header

#: Rows read per chunk by the scans (min, max, statistics) and by :meth:`NpyRows.chunks`.
CHUNK_BYTES = 4 << 20
#: The most bytes of read room a NpyRows keeps between reads (a mini-batch's rows, a
#: chunk's); larger reads take room of their own.
KEPT_BYTES = 16 << 20
#: A gather of rows in at least SCATTERED separate runs, all within KEPT_BLOCKS blocks
#: of BLOCK_BYTES consecutive rows, is served from those blocks, each read whole once
#: and kept while later gathers use it (:meth:`NpyRows._from_blocks`).
SCATTERED, BLOCK_BYTES, KEPT_BLOCKS = 32, 8 << 20, 4


def _header(path: Path) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, offset of the data) of a .npy file, reading only its header."""
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} does not exist")
    try:
        with open(path, "rb") as file:
            shape, fortran_order, dtype = read_header(file)
            offset = file.tell()
    except (OSError, ValueError, SyntaxError) as error:
        raise DataFileError(f"{path}: cannot be read as .npy: {error}") from None
    if dtype.kind not in "biuf" or dtype.hasobject:
        raise DataFileError(f"{path}: holds dtype {dtype}, not numbers")
    if fortran_order and len(shape) > 1:
        # Rows must be contiguous on disk to be read one mini-batch at a time.
        raise DataFileError(
            f"{path}: is stored in Fortran (column) order; save it with C order "
            "(np.save(path, np.ascontiguousarray(X))) to stream its rows"
        )
    if len(shape) < 1:
        raise DataFileError(f"{path}: holds a scalar, not rows of examples")
    size = os.path.getsize(path)
    expected = offset + math.prod(shape) * dtype.itemsize
    if size < expected:
        raise DataFileError(f"{path}: is truncated ({size} bytes, its header promises {expected})")
    return tuple(shape), dtype, offset


def _shard_paths(path: Path) -> list[Path]:
    if path.is_dir():
        paths = sorted(path.glob("*.npy"))
        if not paths:
            raise DataFileError(f"directory {str(path)!r} holds no .npy shards")
        return paths
    return [path]


class NpyRows:
    """The examples of one ``.npy`` file or a directory of shards, as rows (m, n).

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file of shape (m, ...) in C order, or a directory whose ``*.npy``
        files (in name order) are consecutive shards with the same row shape and dtype.
    dtype : dtype, optional
        The dtype rows are delivered in (converted after reading); default the file's.

    Attributes
    ----------
    shape : (m, n)
        Each row flattened: an image of shape (h, w, c) is n = h * w * c numbers.
    dtype : numpy.dtype
    paths : list of Path
    """

    ndim = 2
    #: Rows are contiguous on disk: the training loop gathers them without a copy of X.
    flags = SimpleNamespace(c_contiguous=True, f_contiguous=False)

    def __init__(self, path: str | os.PathLike, dtype=None):
        self.paths = _shard_paths(Path(path))
        headers = [_header(p) for p in self.paths]
        row_shape, file_dtype = headers[0][0][1:], headers[0][1]
        for p, (shape, dt, _) in zip(self.paths, headers, strict=True):
            if shape[1:] != row_shape or dt != file_dtype:
                raise DataFileError(
                    f"{p}: rows of shape {shape[1:]} and dtype {dt} differ from the first "
                    f"shard's {row_shape} and {file_dtype}"
                )
        self.row_shape = row_shape
        n = math.prod(row_shape)
        counts = np.array([h[0][0] for h in headers], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(counts)])
        self._offsets = np.array([h[2] for h in headers], dtype=np.int64)
        self.file_dtype = file_dtype
        self.dtype = np.dtype(dtype) if dtype is not None else file_dtype
        self.shape = (int(self._starts[-1]), n)
        self._row_bytes = n * file_dtype.itemsize
        self._fds = [os.open(p, os.O_RDONLY | getattr(os, "O_BINARY", 0)) for p in self.paths]
        self._close = weakref.finalize(self, _close_all, list(self._fds))
        self._scratch = None  # (rows, n) in file_dtype: see _buffer
        self._blocks: dict = {}  # block number -> its rows, least recently used first
        self._extrema = None

    # -- what an array has ---------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def T(self) -> StreamedX:
        return StreamedX(self)

    def astype(self, dtype, copy: bool = False) -> NpyRows:
        """The same rows delivered in ``dtype`` (the files are not read or copied)."""
        if np.dtype(dtype) == self.dtype:
            return self
        other = object.__new__(NpyRows)
        other.__dict__.update(self.__dict__)
        other.dtype, other._scratch, other._blocks = np.dtype(dtype), None, {}
        other._base = self  # shares the files, which close when the last user is gone
        return other

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        where = self.paths[0] if len(self.paths) == 1 else f"{len(self.paths)} shards"
        return f"NpyRows({where}, shape={self.shape}, dtype={self.dtype})"

    def close(self) -> None:
        """Close the files (also done when the object is collected)."""
        self._close()

    def __enter__(self) -> NpyRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------
    def _buffer(self, k: int) -> np.ndarray:
        """Room for k rows as the file holds them: the first k rows of one kept buffer,
        grown to the most rows asked for (a buffer per k, as before, grew without bound
        when every call asked for another k: 115 MB for a part built on 2 ranks); a
        read larger than :data:`KEPT_BYTES` gets room of its own, not kept."""
        if k * self._row_bytes > KEPT_BYTES:
            return np.empty((k, self.shape[1]), dtype=self.file_dtype)
        if self._scratch is None or len(self._scratch) < k:
            self._scratch = np.empty((k, self.shape[1]), dtype=self.file_dtype)
        return self._scratch[:k]

    def _read_rest(self, shard: int, view: memoryview, offset: int, done: int) -> None:
        """The bytes of shard ``shard`` from ``offset`` into ``view`` that a read did not
        give (it may return less than asked, rarely, for a file): from ``done`` on."""
        while done < len(view):
            got = _pread_into(self._fds[shard], view[done:], offset + done)
            if got <= 0:
                raise DataFileError(f"{self.paths[shard]}: ended early (file truncated?)")
            done += got

    def gather_rows(self, index, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``index`` (in that order) into ``out`` of shape (len(index), n).

        The indices are sorted first so that neighbouring examples, and a slice, become
        one read; random mini-batches read one row per call.
        """
        index = np.asarray(index, dtype=np.int64)
        k, m = len(index), self.shape[0]
        if out is None:
            out = np.empty((k, self.shape[1]), dtype=self.dtype)
        if k == 0 or self._row_bytes == 0:  # (rows of no numbers: nothing to read)
            return out
        order = np.argsort(index, kind="stable")
        ordered = index[order]
        if ordered[0] < 0 or ordered[-1] >= m:
            raise IndexError(f"row index out of range for {m} rows")
        shard = np.searchsorted(self._starts, ordered, side="right") - 1
        breaks = np.flatnonzero((np.diff(ordered) != 1) | (np.diff(shard) != 0)) + 1
        if len(breaks) >= SCATTERED and self._from_blocks(ordered, order, out):
            return out
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [k]])
        buffer = self._buffer(k)
        # Each run's shard and byte offset computed at once: a random mini-batch is a run
        # per row, and the time per row is then the system call's, not Python's.
        shards = shard[starts]
        firsts = ordered[starts] - self._starts[shards]
        offsets = (self._offsets[shards] + firsts * self._row_bytes).tolist()
        view, size, fds, read = (
            memoryview(buffer).cast("B"),
            self._row_bytes,
            self._fds,
            _pread_into,
        )
        runs = zip(starts.tolist(), ends.tolist(), shards.tolist(), offsets, strict=True)
        for start, end, where, offset in runs:
            part = view[start * size : end * size]
            got = read(fds[where], part, offset)
            if got != len(part):
                self._read_rest(where, part, offset, got)
        out[order] = buffer  # back into the caller's order; casts to self.dtype
        return out

    def _from_blocks(self, ordered: np.ndarray, order: np.ndarray, out: np.ndarray) -> bool:
        """Rows ``ordered`` (sorted; ``order`` puts them back) into ``out`` from blocks of
        :data:`BLOCK_BYTES` of consecutive rows, each read whole once and kept (the last
        :data:`KEPT_BLOCKS`), when they lie in at most that many blocks: a mini-batch of a
        shuffle within a window (``shuffle_window``) reads its window's blocks once
        instead of a row per system call. False (nothing done) when they do not."""
        size = max(1, BLOCK_BYTES // self._row_bytes)
        first, last = int(ordered[0]) // size, int(ordered[-1]) // size
        if last - first >= KEPT_BLOCKS:
            return False
        buffer = self._buffer(len(ordered))
        for block in range(first, last + 1):
            rows = self._blocks.pop(block, None)  # (kept last-used last)
            if rows is None:
                start = block * size
                rows = self._read_run(start, min(start + size, self.shape[0]))
            self._blocks[block] = rows
            lo, hi = np.searchsorted(ordered, [block * size, (block + 1) * size])
            buffer[lo:hi] = rows[ordered[lo:hi] - block * size]
        while len(self._blocks) > KEPT_BLOCKS:
            self._blocks.pop(next(iter(self._blocks)))
        out[order] = buffer
        return True

    def _read_run(self, start: int, stop: int) -> np.ndarray:
        """Rows start .. stop-1 as the file holds them (file_dtype), in one read a shard."""
        rows = np.empty((stop - start, self.shape[1]), dtype=self.file_dtype)
        view, size = memoryview(rows).cast("B"), self._row_bytes
        row = start
        while row < stop:
            shard = int(np.searchsorted(self._starts, row, side="right")) - 1
            end = min(stop, int(self._starts[shard + 1]))
            part = view[(row - start) * size : (end - start) * size]
            offset = int(self._offsets[shard]) + (row - int(self._starts[shard])) * size
            got = _pread_into(self._fds[shard], part, offset)
            if got != len(part):
                self._read_rest(shard, part, offset, got)
            row = end
        return rows

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows start .. stop-1 as a new (stop - start, n) array."""
        return self.gather_rows(np.arange(start, stop))

    def chunks(self, rows: int | None = None):
        """Yield (start, rows array) through all rows, ``rows`` at a time (about 4 MiB)."""
        rows = rows or max(1, CHUNK_BYTES // max(1, self._row_bytes))
        for start in range(0, self.shape[0], rows):
            yield start, self.read(start, min(start + rows, self.shape[0]))

    def extrema(self) -> tuple[float, float]:
        """(min, max) over all values, in one pass of chunked reads.

        Raises
        ------
        InvalidValueError
            Naming the first row with a NaN or infinite value.
        """
        if self._extrema is None:
            low, high = math.inf, -math.inf
            for start, rows in self.chunks():
                if rows.dtype.kind == "f":
                    finite = np.isfinite(rows).all(axis=1)
                    if not finite.all():
                        first = start + int(np.flatnonzero(~finite)[0])
                        raise InvalidValueError(
                            f"{self} holds NaN or infinite values, the first in row {first}"
                        )
                low, high = min(low, float(rows.min())), max(high, float(rows.max()))
            self._extrema = (low, high)
        return self._extrema

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature mean and standard deviation, shape (n,), in float64, chunk by chunk.

        Chan's pairwise update keeps the variance accurate over many chunks.
        """
        count, mean, m2 = 0, np.zeros(self.shape[1]), np.zeros(self.shape[1])
        for _, rows in self.chunks():
            rows = rows.astype(np.float64, copy=False)
            k, chunk_mean = len(rows), rows.mean(axis=0)
            delta = chunk_mean - mean
            total = count + k
            mean = mean + delta * k / total
            m2 = m2 + ((rows - chunk_mean) ** 2).sum(axis=0) + delta**2 * count * k / total
            count = total
        return mean, np.sqrt(m2 / max(count, 1))


class StreamedX:
    """The notes' view of :class:`NpyRows`: X of shape (n[0], m), one example per column.

    It implements what :meth:`ldnn.DeepNetwork.fit` and the training loop use of an X:
    ``shape``, ``ndim``, ``dtype``, ``size``, ``astype``, ``min``/``max`` (one chunked
    scan), ``T`` (the rows, which gather mini-batches themselves) and ``X[:, index]``
    (those columns read into memory). It says its array namespace is NumPy so that the
    input checks accept it without converting it, and it has no ``__array__``: code that
    would turn the whole set into one array fails instead of filling memory.
    """

    ndim = 2

    def __init__(self, rows: NpyRows):
        self.rows = rows

    def __array_namespace__(self, api_version=None):
        return np

    @property
    def shape(self) -> tuple[int, int]:
        m, n = self.rows.shape
        return (n, m)

    @property
    def dtype(self) -> np.dtype:
        return self.rows.dtype

    @property
    def size(self) -> int:
        return self.rows.size

    @property
    def T(self) -> NpyRows:
        return self.rows

    def astype(self, dtype, copy: bool = False) -> StreamedX:
        return StreamedX(self.rows.astype(dtype))

    def min(self):
        return self.rows.extrema()[0]

    def max(self):
        return self.rows.extrema()[1]

    def __getitem__(self, key):
        """``X[:, index]`` or ``X[:, start:stop]``: those examples as an (n[0], k) array."""
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise IndexError("a streamed X supports only X[:, columns]")
        columns = key[1]
        if isinstance(columns, slice):
            columns = np.arange(self.shape[1])[columns]
        return self.rows.gather_rows(columns).T

    def columns(self, rows: int | None = None):
        """Yield (start, X chunk of shape (n[0], k)): for predicting in pieces."""
        for start, chunk in self.rows.chunks(rows):
            yield start, chunk.T

    def __repr__(self) -> str:
        return f"StreamedX({self.rows!r}.T, shape={self.shape})"


def open_rows(path: str | os.PathLike, dtype=None) -> NpyRows:
    """:class:`NpyRows` of a ``.npy`` file or a directory of shards."""
    return NpyRows(path, dtype)


def load_labels(path: str | os.PathLike) -> np.ndarray:
    """All targets of a ``.npy`` file or of a directory of shards, in memory, (m, ...)."""
    rows = NpyRows(path)
    try:
        values = rows.read(0, rows.shape[0])
    finally:
        rows.close()
    return values.reshape(len(values), *rows.row_shape)


def _seek_and_read(fd: int, view: memoryview, offset: int) -> int:
    """Without preadv (Windows): seek and read; each NpyRows is read by one thread."""
    os.lseek(fd, offset, os.SEEK_SET)
    data = os.read(fd, len(view))
    view[: len(data)] = data
    return len(data)


if hasattr(os, "preadv"):

    def _pread_into(fd: int, view: memoryview, offset: int) -> int:
        return os.preadv(fd, [view], offset)

else:
    _pread_into = _seek_and_read


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


__all__ = ["NpyRows", "StreamedX", "open_rows", "load_labels"]
