"""Tables of named columns, as users keep them: CSV and Parquet files, pandas DataFrames,
dicts of columns.

Files are read by pyarrow, a well-kept columnar reader, rather than by hand: it handles
quoting, embedded commas and newlines, a byte-order mark, other encodings and typed
columns, it reads large files in parallel blocks into compact columns, and it reads
Parquet too. ``benchmarks/read_table.py`` measures it beside ``pandas.read_csv``. A file
is read a batch of rows at a time into the columns (:mod:`ldnn.data.table_stream`), its
numbers into one block (:class:`NumberBlock`), never whole as pyarrow's table.

A :class:`Columns` holds each column, one entry per example, as

- numbers (integers, floats, booleans): a float64 array with NaN where a value is missing;
- text (and dates): a :class:`Text`, codes into the column's distinct values (-1 where a
  value is missing), 4 bytes an example however long the text.

Empty cells (and NA, NaN, null, ..., :data:`MISSING_MARKERS`) are always missing;
``na_values`` adds markers such as ``?``. Text cells are trimmed of surrounding spaces.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from .arrow import arrow, cell_kind, first_line, is_text, refuse_kind
from .limits import Limits, memory_named, shown
from .table_files import csv_batches, parquet_batches, read_csv, read_parquet
from .table_stream import read_batches

TABLE_FORMATS = (".csv", ".tsv", ".parquet", ".pq")
_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_DECIMAL_COMMA = r"^\s*[-+]?\d*,\d+\s*$"
#: The cells that are missing values in every file: the empty cell and the markers
#: pyarrow's CSV reader takes by default (pyarrow.csv.ConvertOptions().null_values),
#: written out so that every pyarrow version, and the ONNX export, agree on them.
MISSING_MARKERS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "n/a",
    "nan",
    "null",
)


@dataclass
class Text:
    """A column of text: ``codes[i]`` = k for ``categories[k]``, -1 where missing."""

    codes: np.ndarray
    categories: list
    #: Which categories look like numbers (found when read; None: not yet looked at).
    number_like: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index) -> Text:
        return Text(self.codes[index], self.categories, self.number_like)

    def present(self) -> np.ndarray:
        """The distinct codes that occur, sorted."""
        return np.unique(self.codes[self.codes >= 0])

    def strings(self) -> np.ndarray:
        """The values as an object array of str (None where missing)."""
        lookup = np.array([*self.categories, None], dtype=object)
        return lookup[self.codes]

    def code_counts(self) -> tuple[np.ndarray, int]:
        """(how often each category occurs, how many cells are missing)."""
        counts = np.bincount(self.codes[self.codes >= 0], minlength=len(self.categories))
        return counts, int((self.codes < 0).sum())

    def first_row(self, code: int) -> int:
        """The first row holding category ``code``."""
        return int(np.flatnonzero(self.codes == code)[0])

    def numbers_among(self) -> np.ndarray:
        """Which categories look like numbers, as :attr:`number_like`."""
        if self.number_like is None:
            self.number_like = np.array([_is_number(c) for c in self.categories], dtype=bool)
        return self.number_like


@dataclass
class NumberBlock:
    """A table's numeric columns side by side, as a file is read into them: ``values``
    of shape (m, k), an example's numbers together (row-major, as the notes' X keeps
    them, :class:`~ldnn.data.compact.CompactX`), and ``index``, the column of ``values``
    of each name; the table's columns of numbers are views of its columns."""

    values: np.ndarray
    index: dict


@dataclass
class Columns:
    """Named columns of one length (the examples), each a float64 array or a Text;
    ``block``: where the columns of numbers were read into (or None)."""

    data: dict
    source: str = ""
    block: NumberBlock | None = None

    @property
    def names(self) -> list[str]:
        return list(self.data)

    @property
    def n_rows(self) -> int:
        if hasattr(self.data, "n_rows"):  # columns read when asked for: not read for this
            return self.data.n_rows
        return len(next(iter(self.data.values()))) if self.data else 0

    def is_text(self, name: str) -> bool:
        if hasattr(self.data, "is_text"):  # (likewise)
            return self.data.is_text(name)
        return isinstance(self.data[name], Text)

    def __getitem__(self, name: str):
        return self.data[name]

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def rows(self, index) -> Columns:
        """The same columns at rows ``index`` (an index array or a slice)."""
        if hasattr(self.data, "at"):  # columns read when asked for: still not read
            return Columns(self.data.at(index), self.source)
        return Columns({k: v[index] for k, v in self.data.items()}, self.source)

    def only(self, names) -> Columns:
        if hasattr(self.data, "only"):  # columns read when asked for: still not read
            return Columns(self.data.only(names), self.source, self.block)
        return Columns({k: self.data[k] for k in names}, self.source, self.block)


def is_table_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in TABLE_FORMATS


def read_columns(
    path: str | os.PathLike,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    na_values=(),
    decimal: str = ".",
    limits: Limits | None = None,
) -> Columns:
    """Read a CSV (or TSV) file with a header row, or a Parquet file.

    Parameters
    ----------
    delimiter : str, optional
        Default: the one of , ; tab | that the header line holds most of.
    encoding : str, optional
        Default UTF-8, or UTF-16 when the file starts with its byte-order mark.
    na_values : sequence of str
        Markers of a missing value besides the empty cell (and NaN, NA, null, ...).
    decimal : str
        The decimal point of the file's numbers: "." or "," (as in ``1,5;2,25``).
    limits : Limits, optional
        What the file may ask for (:mod:`ldnn.data.limits`; default its defaults): the
        markers, the columns, a cell's bytes and the memory the file needs, each
        checked before it is allocated for.
    """
    limits = limits or Limits()
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} is not a file")
    limits.check_na_values(list(na_values), f"{path}: --na-values ([data] na_values)")
    markers = missing_markers(na_values)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    with memory_named(str(path)):
        # A batch at a time into the columns, so that the whole file is never held as
        # Arrow's table beside them; a file the stream cannot read (types that change
        # after the first block, cells across lines, ...) is read whole, as before, and
        # its errors said from that read.
        if parquet:
            batches = parquet_batches(path, limits)
        else:
            batches = csv_batches(path, delimiter, encoding, markers, decimal, limits)
        columns = _streamed(batches, str(path), markers, limits) if batches else None
        if columns is not None:
            return columns
        if parquet:
            table = read_parquet(path, limits)
        else:
            table = read_csv(path, delimiter, encoding, markers, decimal, limits)
        return _from_arrow(table, str(path), markers, limits)


def _streamed(batches, source: str, markers, limits: Limits) -> Columns | None:
    """The columns of a file's ``batches`` (schema, iterator, about how many rows), read
    a batch at a time (:mod:`ldnn.data.table_stream`), or None where they cannot be."""
    schema, batches, rows = batches
    try:
        names = header_names(schema, source, limits)
    except DataFileError:  # the whole-table read says what is wrong with the header
        return None
    read = read_batches(schema, batches, rows)
    if read is None:
        return None
    values, numeric, text = read
    pa, missing = arrow(), set(markers)
    block = NumberBlock(values, {names[i]: k for k, i in enumerate(numeric)})
    data = {}
    for i, name in enumerate(names):  # the whole-table path's columns, in its order
        if i in text:
            where = f"{source}: column {shown(name)}"
            data[name] = text_column(pa, text.pop(i), missing, limits, where)
        else:
            data[name] = values[:, block.index[name]]
    return checked_columns(Columns(data, source, block))


def missing_markers(na_values=()) -> list[str]:
    """The cells read as missing: :data:`MISSING_MARKERS` and ``na_values``."""
    return sorted({*MISSING_MARKERS, *na_values})


def columns_from(table, source: str = "", limits: Limits | None = None) -> Columns:
    """:class:`Columns` from a pandas DataFrame, a pyarrow Table or a dict of columns
    (within ``limits``' columns and cell bytes; default :mod:`ldnn.data.limits`')."""
    if isinstance(table, Columns):
        return table
    limits = limits or Limits()
    module = type(table).__module__.split(".")[0]
    if module == "pyarrow":
        return _from_arrow(table, source or "the table", limits=limits)
    if module == "pandas" and hasattr(table, "columns"):
        pa = arrow()
        source = source or "the DataFrame"
        limits.check_count("max_columns", len(table.columns), f"{source} has")
        try:
            frame = pa.Table.from_pandas(table, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as error:
            raise DataFileError(
                f"the DataFrame cannot be read as columns: {first_line(error)}"
            ) from None
        return _from_arrow(frame, source, limits=limits)
    if isinstance(table, dict) and table:
        source = source or "the columns"
        limits.check_count("max_columns", len(table), f"{source} are")
        names = _clean_names([str(n) for n in table])
        data = {n: _column(v, n) for n, v in zip(names, table.values(), strict=True)}
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise DataFileError(f"the columns have different lengths: {sorted(lengths)}")
        return checked_columns(Columns(data, source))
    raise DataFileError(
        f"expected a DataFrame, a pyarrow Table or a dict of columns, got {type(table).__name__}"
    )


def _column(values, name: str):
    values = np.asarray(values)
    if values.ndim != 1:
        raise DataFileError(f"column {shown(name)} must be one-dimensional, got {values.shape}")
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    cells = [
        None if v is None or (isinstance(v, float) and v != v) else str(v).strip() for v in values
    ]
    cells = [None if c in MISSING_MARKERS else c for c in cells]
    categories = sorted({c for c in cells if c is not None})
    lookup = {c: k for k, c in enumerate(categories)}
    codes = np.array([-1 if c is None else lookup[c] for c in cells], dtype=np.int32)
    return Text(codes, categories)


def unique_names(names) -> list[str]:
    """``names`` with each name that comes again numbered: a, a, b -> a, a_2, b (with a
    number no other name has taken: a, a, a_2 -> a, a_3, a_2)."""
    names = list(names)
    taken, seen, next_number, result = set(names), set(), {}, []
    for name in names:
        if name not in seen:
            seen.add(name)
            result.append(name)
            continue
        k = next_number.get(name, 2)
        while f"{name}_{k}" in taken:
            k += 1
        next_number[name] = k + 1
        taken.add(f"{name}_{k}")
        result.append(f"{name}_{k}")
    return result


def _clean_names(raw: list[str]) -> list[str]:
    """Column names trimmed of surrounding spaces; two that meet once trimmed ("a" and
    "a ") are told apart by a number: the one that was already clean keeps its name,
    the others are numbered in the order of their raw names (not of their places, so
    that a file with its columns in another order gets the same names)."""
    cleaned = [name.strip() for name in raw]
    order = sorted(range(len(raw)), key=lambda i: (raw[i] != cleaned[i], raw[i]))
    result = [""] * len(raw)
    for i, name in zip(order, unique_names(cleaned[i] for i in order), strict=True):
        result[i] = name
    return result


def header_names(schema, source: str, limits: Limits) -> list[str]:
    """The column names of a table's ``schema``, trimmed and told apart, after their
    count, their text and their bytes were checked."""
    limits.check_count("max_columns", len(schema.names), f"{source}: the table has")
    try:
        raw = [str(n) for n in schema.names]
    except UnicodeDecodeError:
        raise DataFileError(
            f"{source}: its header is not UTF-8 text; pass its --encoding, e.g. --encoding latin-1"
        ) from None
    twice = sorted(n for n, k in collections.Counter(raw).items() if k > 1)
    if twice:
        raise DataFileError(
            f"{source}: more than one column is named {shown(twice[0].strip())}; rename them"
        )
    for name in raw:
        size = len(name.encode("utf-8", "replace"))
        if size > limits.max_cell_bytes:
            raise DataFileError(
                f"{source}: a column's name ({shown(name)}) is {size:,} bytes, "
                f"{limits.over('max_cell_bytes')}"
            )
    return _clean_names(raw)


def _from_arrow(table, source: str, markers=MISSING_MARKERS, limits: Limits | None = None):
    pa, limits = arrow(), limits or Limits()
    names = header_names(table.schema, source, limits)
    if table.num_rows == 0:
        raise DataFileError(f"{source}: the table has no rows")
    for name, kind in zip(names, table.schema.types, strict=True):
        if cell_kind(pa, kind) is None:
            refuse_kind(name, kind, source)
    if any(pa.types.is_dictionary(t) for t in table.schema.types):
        table = table.unify_dictionaries()  # one dictionary per column, for all its chunks
    data, missing = {}, set(markers)
    for name, column in zip(names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind) and not is_text(pa, kind.value_type):
            column, kind = column.cast(kind.value_type), kind.value_type
        if cell_kind(pa, kind) == "numbers":
            data[name] = arrow_numbers(pa, column, name, source)
            continue
        if not pa.types.is_dictionary(kind) and not is_text(pa, kind):
            try:
                column = column.cast(pa.string())  # dates, times, binary as their text
            except pa.ArrowInvalid:  # what the CSV reader found not to be UTF-8
                raise DataFileError(
                    f"{source}: column {shown(name)} is not UTF-8 text; pass the file's "
                    "--encoding, e.g. --encoding latin-1"
                ) from None
        # Text, already as codes (dictionary-encoded) or encoded now.
        where = f"{source}: column {shown(name)}"
        data[name] = text_column(pa, column, missing, limits, where)
    return checked_columns(Columns(data, source))


def arrow_numbers(pa, column, name: str, source: str) -> np.ndarray:
    """A column of numbers as float64, NaN where missing; whole numbers beyond 2**53
    (a uint64 ID) are refused: float64 cannot hold them exactly."""
    try:
        values = column.cast(pa.float64())
    except pa.ArrowInvalid:
        low, high = (v.as_py() for v in pa.compute.min_max(column).values())
        raise DataFileError(
            f"{source}: column {shown(name)} holds whole numbers beyond 2**53 (e.g. "
            f"{high if abs(high) >= abs(low) else low}), which float64 cannot hold exactly "
            "(an ID? write the file without it)"
        ) from None
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def text_column(pa, column, markers: set, limits: Limits, where: str):
    """A column of text as a Text (with which categories look like numbers), or as
    numbers where, once trimmed and without its missing-value markers, it holds only
    numbers (as ``a, ?, 3`` does: " ?" is not "?" until trimmed). A cell of more bytes
    than the limit is refused (``where`` names the column)."""
    pc = pa.compute
    if pa.types.is_dictionary(column.type):  # chunks sharing one dictionary (unified)
        indices = pa.chunked_array([c.indices for c in column.chunks], column.type.index_type)
        dictionary = column.chunks[0].dictionary
    else:
        encoded = column.combine_chunks().dictionary_encode()
        indices, dictionary = encoded.indices, encoded.dictionary
    codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False)
    codes = codes.astype(np.int32, copy=False)
    if len(dictionary):
        lengths = pc.binary_length(dictionary).to_numpy(zero_copy_only=False)
        longest = int(np.argmax(lengths))
        if lengths[longest] > limits.max_cell_bytes:
            row = int(np.flatnonzero(codes == longest)[0]) + 1 if (codes == longest).any() else 0
            raise DataFileError(
                f"{where} holds a cell of {int(lengths[longest]):,} bytes"
                + (f" in data row {row}" if row else "")
                + f", {limits.over('max_cell_bytes')}"
            )
    # Cells are trimmed: after ", " separators (a census file's) " Private" is "Private".
    # Trimming the distinct values, not the m cells, and merging those that meet.
    trimmed = pc.utf8_trim_whitespace(dictionary)
    if len(dictionary) and not pc.all(pc.equal(trimmed, dictionary)).as_py():
        merged = trimmed.dictionary_encode()
        remap = np.append(merged.indices.to_numpy(zero_copy_only=False), -1).astype(np.int32)
        codes, dictionary = remap[codes], merged.dictionary
    categories = dictionary.to_pylist()
    if any(c in markers for c in categories):
        keep = np.array([c not in markers for c in categories])
        renumber = np.append(np.where(keep, np.cumsum(keep) - 1, -1), -1).astype(np.int32)
        codes = renumber[codes]  # -1 (missing) picks the appended -1
        categories = [c for c, k in zip(categories, keep, strict=True) if k]
        dictionary = dictionary.filter(pa.array(keep))
    number_like, comma_like = number_likeness(pa, dictionary)
    if categories and number_like.all():
        values = np.append(np.array(categories, dtype=np.float64), np.nan)
        return values[codes]
    return Text(codes, categories, number_like), comma_like


def number_likeness(pa, dictionary) -> tuple[np.ndarray, np.ndarray]:
    """Which of a text column's distinct values (a pyarrow array of strings) look like
    numbers, and which like numbers written with a decimal comma."""
    return tuple(
        np.asarray(pa.compute.match_substring_regex(dictionary, pattern), dtype=bool)
        for pattern in (_NUMBER, _DECIMAL_COMMA)
    )


def checked_columns(columns: Columns) -> Columns:
    """Refuse infinite numbers, and numbers with a decimal comma read as text."""
    for name, value in list(columns.data.items()):
        comma_like = None
        if isinstance(value, tuple):  # from Arrow: (Text, which categories have a comma)
            value, comma_like = value
            columns.data[name] = value
        if isinstance(value, np.ndarray):
            bad = np.flatnonzero(np.isinf(value))
            if bad.size:
                raise DataFileError(
                    f"{columns.source}: column {name!r} holds {value[bad[0]]} in data row "
                    f"{bad[0] + 1} (infinite numbers are not data)"
                )
        elif comma_like is not None and value.categories and comma_like.all():
            raise DataFileError(
                f"{columns.source}: column {name!r} holds numbers with a decimal comma "
                f"({value.categories[0]!r}); pass --decimal ','"
            )
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
