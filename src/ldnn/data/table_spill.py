"""A table larger than memory: spilled to disk a batch of rows at a time, then used a
column at a time, and its X read a mini-batch at a time.

The in-memory path (:func:`ldnn.data.tables.read_columns`) holds every column of every
row. Here the file is read once, as a stream of record batches (CSV blocks, Parquet row
groups), and each batch is written out, in a folder of the caller's choosing (a
temporary one by default), as

- ``numbers.npy``: the file's columns of numbers side by side, (m, k) float64, row-major
  (the block the in-memory path reads them into, here on disk);
- one ``.f64`` file per column of numbers and one ``.i32`` file of codes per column of
  text (-1 where missing), so that a column is read whole without the others;

while memory holds only a batch and each text column's distinct values. The rules of the
columns (:class:`~ldnn.data.encoding.TableEncoding`), the target, the split and the check
for stray markers are then those of the in-memory path, run unchanged on
:class:`~ldnn.data.tables.Columns` that read a column from disk when it is asked for and
let it go after: the same functions on the same values give the same medians, categories
and split, bit for bit. What must be held is one column (8 bytes a row) and the targets.

The training and test parts' X are written to disk too, an example's numbers together in
the order of the part (a block of examples gathered from ``numbers.npy`` at a time, their
missing values filled as :meth:`~ldnn.data.encoding.TableEncoding.encode` fills them),
and each part is a :class:`~ldnn.data.compact.CompactX` whose numbers are an
:class:`~ldnn.data.stream.NpyRows`: a mini-batch is read with positioned reads (the
kernel's page cache, not the process, holds what was read), its codes (4 bytes an
example and text column) in memory. Standardisation and the cast to the network's dtype
happen a mini-batch at a time as for a table in memory, so the network trains on the
same numbers. The parts' files are unlinked as soon as they are open, and the folder is
removed once the parts are made (or when the table is let go, or at exit): the disk is
given back when the process lets the parts go, however it ends.

On MPI ranks training one model (:func:`reading_on`), each rank reads only its share
of the rows (a run of row groups, a byte range of lines) once the ranks agreed on each
column's type; each part's X is assembled from the rows each rank read, or is each
rank's own rows (``here``: :mod:`ldnn.data.table_local`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from ..io.npy import write_header
from .arrow import arrow, cell_kind, first_line, is_text, refuse_kind
from .compact import CompactX
from .encoding import TableEncoding, _numbers_of
from .limits import Limits, shown, shown_names
from .stream import NpyRows
from .table_columns import OnDisk, Shared
from .table_files import csv_batches, parquet_batches
from .tables import (
    Columns,
    Text,
    arrow_numbers,
    checked_columns,
    header_names,
    missing_markers,
    number_likeness,
)

#: The MPI ranks that read a table file together for ``ldnn train`` (:func:`reading_on`).
_RANKS: ContextVar = ContextVar("ldnn_reading_ranks", default=None)

#: Cells of a Parquet file read at a time (1 MiB of float64 numbers).
_BATCH_CELLS = 1 << 17
#: Bytes of examples gathered, filled and written at a time when a part's X is built.
_PART_BYTES = 4 << 20


@contextmanager
def reading_on(comm):
    """Within it, a table file streamed for training is read by the MPI ranks of
    ``comm`` together, each its share of the rows (None: by this process alone). Only
    ranks that train one model together, and so read the same table at the same point,
    may: what reads a table here is collective."""
    token = _RANKS.set(comm)
    try:
        yield
    finally:
        _RANKS.reset(token)


def reading_ranks():
    """The communicator :func:`reading_on` set, or None."""
    return _RANKS.get()


class SpilledTable:
    """A table file's columns on disk (see the module): ``columns`` reads them."""

    def __init__(self, folder: Path, source: str, names: list, kinds: list, ranks=None):
        self.folder, self.source, self.names, self.kinds = folder, source, names, kinds
        # MPI ranks that each read a share of the rows (None: this process read them all)
        self.ranks, self.counts, self.first = ranks, [], 0
        self.remaps: dict = {}  # a text column's local codes -> the ranks' common ones
        self.categories: dict = {}  # a text column's distinct values, first seen first
        self.number_like: dict = {}  # which of them look like numbers (as read whole)
        self.as_numbers: set = set()  # text columns that hold only numbers
        numeric = [n for n, k in zip(names, kinds, strict=True) if k == "numbers"]
        self.number_index = {name: j for j, name in enumerate(numeric)}
        self.m = 0
        self.rows: NpyRows | None = None  # numbers.npy, once written
        # The folder goes with the table (or at exit), however the process gets there.
        self._remove = weakref.finalize(self, shutil.rmtree, folder, True)

    def _file(self, name: str, suffix: str) -> Path:
        return self.folder / f"{self.names.index(name)}{suffix}"

    def column(self, name: str, here: bool = False):
        """A column whole, as the in-memory path holds it: float64 numbers (NaN where
        missing), or a Text. On ranks, each rank's share of it gathered, in rank order
        (every rank asks for the same columns in the same order); with ``here``, this
        rank's rows alone (codes into the ranks' common categories)."""
        values = self._local(name)
        if self.ranks is not None and not here:
            values = np.concatenate(self.ranks.allgather(values))
        if name in self.number_index or name in self.as_numbers:
            return values
        return Text(values, self.categories[name], self.number_like[name])

    def _local(self, name: str) -> np.ndarray:
        """This process's rows of a column: numbers, or codes into its categories."""
        if name in self.number_index or name in self.as_numbers:
            return np.fromfile(self._file(name, ".f64"), dtype=np.float64)
        codes = np.fromfile(self._file(name, ".i32"), dtype=np.int32)
        return codes if name not in self.remaps else self.remaps[name][codes]

    @property
    def columns(self) -> Columns:
        return Columns(OnDisk(self, self.names), self.source)

    def part(self, encoding: TableEncoding, rows: np.ndarray, here: bool = False) -> CompactX:
        """X of the examples ``rows`` (in that order), its numbers written to disk and
        read back a mini-batch at a time (see the module). With ``here`` (on ranks),
        ``rows`` are among this rank's own rows, and the part is theirs alone."""
        missing = [name for name in encoding.columns if name not in self.names]
        if missing:
            raise DataFileError(
                f"{self.source}: no column {shown(missing[0])}, which the model was trained "
                f"on; it needs {shown_names(encoding.columns)}"
            )
        numeric = [rule for rule in encoding.rules if rule.kind == "numbers"]
        in_block = [self.number_index.get(rule.name) for rule in numeric]
        # Text that held only numbers is not in numbers.npy: such a column is held whole
        # (and text where the rules want numbers is refused, as encode refuses it).
        held = {
            r.name: _numbers_of(self.column(r.name, here), r, self.source)
            for r in numeric
            if r.name not in self.number_index
        }
        path = self.folder / f"part-{len(rows)}-{os.urandom(4).hex()}.npy"
        with open(path, "wb") as file:
            write_header(file, (len(rows), len(numeric)), np.float64)
            step = max(1, _PART_BYTES // (8 * max(len(self.number_index), len(numeric), 1)))
            for start in range(0, len(rows), step):
                index = rows[start : start + step]
                if self.ranks is None or here:
                    block = self._filled(index, numeric, in_block, held)
                else:  # each rank fills the rows it read; all of them write the block
                    mine = np.flatnonzero((index >= self.first) & (index < self.first + self.m))
                    own = self._filled(index[mine], numeric, in_block, held, self.first)
                    block = np.empty((len(index), len(numeric)))
                    for where, values in self.ranks.allgather((mine, own)):
                        block[where] = values
                _write_rows(file, block)
        numbers = NpyRows(path)
        path.unlink()  # open: its data stay while numbers holds them
        numeric_rows, blocks = encoding.layout()
        text = [rule.name for rule in encoding.rules if rule.kind == "text"]
        codes = np.empty((len(rows), len(text)), dtype=np.int32)
        encoding.write_codes(Columns(OnDisk(self, text, rows, here), self.source), codes)
        return CompactX(numbers, codes, numeric_rows, blocks)

    def _filled(self, index, numeric, in_block, held, first: int = 0) -> np.ndarray:
        """The numeric rules' columns at rows ``index`` of the file (this process's,
        starting at its row ``first``), their missing values filled as encode fills them."""
        raw = self.rows.gather_rows(index - first) if self.rows is not None else None
        block = np.empty((len(index), len(numeric)))
        for k, (rule, j) in enumerate(zip(numeric, in_block, strict=True)):
            column = raw[:, j] if j is not None else held[rule.name][index]
            block[:, k] = np.where(np.isnan(column), rule.fill, column)
        return block

    def shared(self, names, rows=None, offset: int | None = None) -> Columns:
        """On MPI ranks, the columns ``names`` (at rows ``rows`` of the file, in that
        order; None: all; with ``offset``, at this rank's own ``rows``, which are rows
        ``offset``... of the whole) as what the column rules ask of them, answered
        from the ranks' shares (:mod:`ldnn.data.shared_stats`): no column travels whole."""
        return Columns(Shared(self, names, rows, offset), self.source)

    @property
    def rows_total(self) -> int:
        """The rows of the whole file (all ranks' together)."""
        return sum(self.counts) if self.ranks is not None else self.m

    def close(self) -> None:
        """Remove the folder (the parts' open files stay readable)."""
        if self.rows is not None:
            self.rows.close()
        self._remove()


def spill(path, how: dict, limits: Limits, folder=None, comm=None) -> SpilledTable:
    """Read the table file ``path`` (CSV or Parquet, read ``how`` the [data] table says)
    to disk, in a new temporary folder inside ``folder`` (default the system's: $TMPDIR);
    see the module. With ``comm`` (MPI ranks training together, every one calling this),
    each rank reads only its share of the rows (see the module).

    Raises
    ------
    DataFileError
        For a file the stream cannot read as the whole-table path would (types that
        change after the first block, a cell across lines, lists or structs in a cell).
    """
    pa, path = arrow(), Path(path)
    source = str(path)
    # The stream holds a batch, not the file: the memory a whole read needs is not asked.
    unbounded = Limits.of({**limits.settings(), "max_memory": 1 << 62})
    markers = missing_markers(how.get("na_values") or ())
    ranks = comm if comm is not None and comm.Get_size() > 1 else None
    part = None if ranks is None else (ranks.Get_rank(), ranks.Get_size())
    if path.suffix.lower() in (".parquet", ".pq"):
        batches = parquet_batches(path, unbounded, cells=_BATCH_CELLS, part=part)
    else:
        settings = (
            how.get("delimiter") or None,
            how.get("encoding") or None,
            markers,
            how.get("decimal") or ".",
            unbounded,
        )
        batches = csv_batches(path, *settings, floats=True, part=part)
        if ranks is not None:  # the ranks read every column as the same type
            types = _agreed_types(pa, ranks, None if batches is None else batches[0])
            if types is None:
                batches = None
            else:
                batches = csv_batches(path, *settings, part=part, types=types)
    if batches is None:
        raise DataFileError(
            f"{source}: cannot be read as a stream (its first block does not parse); "
            "check the file, or read it whole with --stream off"
        )
    schema, batches, _ = batches
    names = header_names(schema, source, limits)
    # Numbers, or text: strings, and dates, times and bytes as their text (as read whole).
    kinds = [cell_kind(pa, kind) for kind in schema.types]
    for name, kind, arrow_type in zip(names, kinds, schema.types, strict=True):
        if kind is None:
            refuse_kind(name, arrow_type, source)
    kinds = ["numbers" if kind == "numbers" else "text" for kind in kinds]
    folder = Path(tempfile.mkdtemp(prefix="ldnn-stream-", dir=folder))
    table = SpilledTable(folder, source, names, kinds, ranks)
    try:
        _write(table, pa, schema, batches, set(markers), limits)
    except BaseException:
        table.close()
        raise
    return table


def _write(table: SpilledTable, pa, schema, batches, markers: set, limits: Limits) -> None:
    names, kinds = table.names, table.kinds
    lookups = {name: {} for name, kind in zip(names, kinds, strict=True) if kind == "text"}
    files = {
        name: open(table._file(name, ".f64" if kind == "numbers" else ".i32"), "wb")
        for name, kind in zip(names, kinds, strict=True)
    }
    rows_path = table.folder / "numbers.npy"
    k = len(table.number_index)
    try:
        with open(rows_path, "wb") as rows_file:
            write_header(rows_file, (1 << 50, k), np.float64)  # rewritten with m below
            for batch in batches:
                if batch.schema.types != schema.types:
                    raise DataFileError(
                        f"{table.source}: rows after data row {table.m:,} have other column "
                        "types than the first block's; read it whole with --stream off"
                    )
                block = np.empty((batch.num_rows, k))
                for i, (name, kind) in enumerate(zip(names, kinds, strict=True)):
                    column = batch.column(i)
                    if kind == "numbers":
                        values = _numbers(pa, column, name, table)
                        block[:, table.number_index[name]] = values
                        values.tofile(files[name])
                    else:
                        codes = _codes(pa, column, markers, lookups[name], limits, table, name)
                        codes.tofile(files[name])
                _write_rows(rows_file, block)
                table.m += batch.num_rows
            rows_file.seek(0)
            write_header(rows_file, (table.m, k), np.float64)
    except DataFileError:
        raise
    except (pa.ArrowException, OSError, UnicodeError, ValueError) as error:
        raise DataFileError(
            f"{table.source}: after data row {table.m:,}: {first_line(error)}; read it whole "
            "with --stream off, which says where"
        ) from None
    finally:
        for file in files.values():
            file.close()
    table.rows = NpyRows(rows_path) if k else None
    if table.ranks is not None:  # where this rank's rows are among all ranks'
        table.counts = table.ranks.allgather(table.m)
        table.first = sum(table.counts[: table.ranks.Get_rank()])
    if table.rows_total == 0:
        raise DataFileError(f"{table.source}: the table has no rows")
    for name, lookup in lookups.items():
        categories = list(lookup)
        if table.ranks is not None:  # first seen first: in rank order, the file's order
            every = table.ranks.allgather(categories)
            common: dict = {}
            for seen in every:
                for cell in seen:
                    common.setdefault(cell, len(common))
            remap = np.array([common[c] for c in categories] + [-1], dtype=np.int32)
            table.remaps[name] = remap  # (its last entry, -1, where a code is -1)
            categories = list(common)
        _finish_text(table, name, categories)
    pa.default_memory_pool().release_unused()


def _numbers(pa, column, name: str, table: SpilledTable) -> np.ndarray:
    """A batch's column of numbers as float64, NaN where missing; infinite numbers
    refused, naming the data row, as the in-memory path refuses them."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = arrow_numbers(pa, column, name, table.source)
    bad = np.flatnonzero(np.isinf(values))
    if bad.size:
        raise DataFileError(
            f"{table.source}: column {name!r} holds {values[bad[0]]} in data row "
            f"{table.m + bad[0] + 1} (infinite numbers are not data)"
        )
    return values


def _codes(pa, column, markers: set, lookup: dict, limits, table, name) -> np.ndarray:
    """A batch's column of text as codes into the column's categories in the order they
    were first seen (``lookup``, grown here), -1 where missing: its cells trimmed and its
    markers of missing values taken out, as :func:`~ldnn.data.tables.text_column` does."""
    pc = pa.compute
    if not pa.types.is_dictionary(column.type):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.string())
        column = column.dictionary_encode()
    dictionary = column.dictionary
    if len(dictionary):
        lengths = pc.binary_length(dictionary).to_numpy(zero_copy_only=False)
        if lengths.max() > limits.max_cell_bytes:
            raise DataFileError(
                f"{table.source}: column {shown(name)} holds a cell of {int(lengths.max()):,} "
                f"bytes, {limits.over('max_cell_bytes')}"
            )
    cells = pc.utf8_trim_whitespace(dictionary).to_pylist()
    remap = np.empty(len(cells) + 1, dtype=np.int32)
    remap[-1] = -1
    for local, cell in enumerate(cells):
        if cell is None or cell in markers:
            remap[local] = -1
        else:
            remap[local] = lookup.setdefault(cell, len(lookup))
    indices = pc.fill_null(column.indices, -1).to_numpy(zero_copy_only=False)
    return remap[indices.astype(np.int64)]


def _finish_text(table: SpilledTable, name: str, categories: list) -> None:
    """A text column once all its batches are read: its categories kept, or its codes
    turned into numbers where every category is one (as the in-memory path turns them)."""
    pa = arrow()
    number_like, comma_like = number_likeness(pa, pa.array(categories, pa.string()))
    if categories and number_like.all():
        codes = table._local(name)
        values = np.append(np.array(categories, dtype=np.float64), np.nan)
        values[codes].tofile(table._file(name, ".f64"))
        table._file(name, ".i32").unlink()
        table.remaps.pop(name, None)
        table.as_numbers.add(name)
        return
    # (numbers with a decimal comma read as text are refused as a whole read refuses them)
    text = Text(np.empty(0, dtype=np.int32), categories, number_like)
    checked_columns(Columns({name: (text, comma_like)}, table.source))
    table.categories[name], table.number_like[name] = categories, number_like


def _agreed_types(pa, ranks, schema) -> dict | None:
    """The pyarrow type every rank reads each CSV column as, its first block having
    typed it on each rank by itself: the type the ranks saw where they agree (whole
    numbers as float64), float64 where they saw numbers of different types, text where
    one of them saw text; a rank with no rows saw nothing. None on every rank when one
    of them could not read its first block."""
    seen = ranks.allgather(None if schema is None else list(schema.types))
    if any(s is None for s in seen):
        return None
    types = {}
    for j, name in enumerate(schema.names):
        kinds = {s[j] for s in seen if not pa.types.is_null(s[j])}
        if kinds and all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in kinds):
            types[name] = pa.float64()
        elif len(kinds) == 1 and not _texts(pa, next(iter(kinds))):
            types[name] = kinds.pop()  # (a date, a time: as every rank saw it)
        else:  # text, as codes made batch by batch
            types[name] = pa.string()
    return types


def _texts(pa, kind) -> bool:
    """Whether a column of Arrow type ``kind`` holds strings (or codes into strings)."""
    return is_text(pa, kind.value_type if pa.types.is_dictionary(kind) else kind)


def _write_rows(file, block: np.ndarray) -> None:
    """A C-ordered block's bytes, not a copy of them (none for an empty block)."""
    if block.size:
        file.write(memoryview(block).cast("B"))
