"""Tables of named columns, as users keep them: CSV and Parquet files, pandas DataFrames,
dicts of columns.

Files are read by pyarrow, a well-kept columnar reader, rather than by hand: it handles
quoting, embedded commas and newlines, a byte-order mark, other encodings and typed
columns, it reads large files in parallel blocks into compact columns, and it reads
Parquet too. ``benchmarks/read_table.py`` measures it beside ``pandas.read_csv``.

A :class:`Columns` holds each column, one entry per example, as

- numbers (integers, floats, booleans): a float64 array with NaN where a value is missing;
- text (and dates): a :class:`Text`, codes into the column's distinct values (-1 where a
  value is missing), 4 bytes an example however long the text.

Empty cells (and NA, NaN, null, ..., :data:`MISSING_MARKERS`) are always missing;
``na_values`` adds markers such as ``?``. Text cells are trimmed of surrounding spaces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base.threads import arrow_threads
from ..errors import DataFileError, MissingPackageError

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

    def numbers_among(self) -> np.ndarray:
        """Which categories look like numbers, as :attr:`number_like`."""
        if self.number_like is None:
            self.number_like = np.array([_is_number(c) for c in self.categories], dtype=bool)
        return self.number_like


@dataclass
class Columns:
    """Named columns of one length (the examples), each a float64 array or a Text."""

    data: dict
    source: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.data)

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def is_text(self, name: str) -> bool:
        return isinstance(self.data[name], Text)

    def __getitem__(self, name: str):
        return self.data[name]

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def rows(self, index) -> Columns:
        """The same columns at rows ``index`` (an index array or a slice)."""
        return Columns({k: v[index] for k, v in self.data.items()}, self.source)

    def only(self, names) -> Columns:
        return Columns({k: self.data[k] for k in names}, self.source)


def _arrow():
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.csv
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingPackageError(
            "reading CSV and Parquet files needs pyarrow: pip install 'ldnn[tables]'"
        ) from None
    arrow_threads(pyarrow)
    return pyarrow


def is_table_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in TABLE_FORMATS


def read_columns(
    path: str | os.PathLike,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    na_values=(),
    decimal: str = ".",
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
    """
    pa = _arrow()
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} is not a file")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            table = pa.parquet.read_table(path)
        except (pa.ArrowException, OSError) as error:
            raise DataFileError(f"{path}: cannot be read as Parquet: {error}") from None
        return _from_arrow(table, str(path), missing_markers(na_values))
    with open(path, "rb") as file:
        head = file.read(1 << 16)
    if encoding is None:
        encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8"
    if b"\0" in head and not encoding.lower().replace("-", "").startswith("utf16"):
        raise DataFileError(f"{path}: is not a text file (it holds NUL bytes)")
    try:
        text = head.decode(encoding)
    except LookupError:
        raise DataFileError(f"--encoding {encoding!r} is not an encoding Python knows") from None
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a character cut at the end of the head
            raise DataFileError(
                f"{path}: is not {encoding.upper()} text (byte {head[error.start]:#04x} at "
                f"offset {error.start}); pass its --encoding, e.g. --encoding latin-1"
            ) from None
        text = head[: error.start].decode(encoding)
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text)
    if len(delimiter) != 1:
        raise DataFileError(f"--delimiter must be one character, got {delimiter!r}")
    if decimal not in (".", ","):
        raise DataFileError(f"--decimal must be '.' or ',', got {decimal!r}")
    markers = missing_markers(na_values)
    # Text is dictionary-encoded as it is parsed, in parallel (what Text keeps anyway).
    convert = pa.csv.ConvertOptions(
        null_values=markers,
        strings_can_be_null=True,
        decimal_point=decimal,
        auto_dict_encode=True,
        auto_dict_max_cardinality=1 << 20,
    )
    # Cells spanning lines (quoted newlines) keep pyarrow from splitting the file into
    # blocks it parses in parallel: a block cut inside such a cell fails to parse, and
    # only then is the file read again, in one stream (a bad file's error is that read's).
    for newlines in (False, True):
        try:
            table = pa.csv.read_csv(
                path,
                read_options=pa.csv.ReadOptions(
                    encoding=encoding, block_size=1 << 22, use_threads=pa.cpu_count() > 1
                ),
                parse_options=pa.csv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines),
                convert_options=convert,
                # The system allocator: on a fresh process, measured faster here than
                # pyarrow's default (mimalloc) at reading a large file.
                memory_pool=pa.system_memory_pool(),
            )
            break
        except pa.ArrowInvalid as error:
            if not newlines:
                continue
            raise DataFileError(_explain(path, str(error), encoding)) from None
        except (pa.ArrowException, OSError, UnicodeError) as error:
            raise DataFileError(f"{path}: cannot be read as CSV: {error}") from None
    if table.num_columns == 0 or table.num_rows == 0:
        what = "is empty (a header row is needed)" if table.num_columns == 0 else "has no data rows"
        raise DataFileError(f"{path}: the file {what}")
    return _from_arrow(table, str(path), markers)


def missing_markers(na_values=()) -> list[str]:
    """The cells read as missing: :data:`MISSING_MARKERS` and ``na_values``."""
    return sorted({*MISSING_MARKERS, *na_values})


def _explain(path: Path, message: str, encoding: str) -> str:
    first = message.strip().splitlines()[0]
    if "utf8" in first.lower().replace("-", ""):
        return (
            f"{path}: is not {encoding.upper()} text ({first}); pass its --encoding, e.g. "
            "--encoding latin-1"
        )
    if "Empty CSV file" in first:
        return f"{path}: the file is empty (a header row is needed)"
    return f"{path}: cannot be read as CSV: {first}"


def sniff_delimiter(text: str) -> str:
    """The most frequent of , ; tab | in the first non-empty line (default ,)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {c: header.count(c) for c in ",;\t|"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def columns_from(table, source: str = "") -> Columns:
    """:class:`Columns` from a pandas DataFrame, a pyarrow Table or a dict of columns."""
    if isinstance(table, Columns):
        return table
    module = type(table).__module__.split(".")[0]
    if module == "pyarrow":
        return _from_arrow(table, source or "the table")
    if module == "pandas" and hasattr(table, "columns"):
        pa = _arrow()
        try:
            arrow = pa.Table.from_pandas(table, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as error:
            raise DataFileError(f"the DataFrame cannot be read as columns: {error}") from None
        return _from_arrow(arrow, source or "the DataFrame")
    if isinstance(table, dict) and table:
        data = {str(name): _column(values, str(name)) for name, values in table.items()}
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise DataFileError(f"the columns have different lengths: {sorted(lengths)}")
        return _checked(Columns(data, source or "the columns"))
    raise DataFileError(
        f"expected a DataFrame, a pyarrow Table or a dict of columns, got {type(table).__name__}"
    )


def _column(values, name: str):
    values = np.asarray(values)
    if values.ndim != 1:
        raise DataFileError(f"column {name!r} must be one-dimensional, got shape {values.shape}")
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


def _from_arrow(table, source: str, markers=MISSING_MARKERS) -> Columns:
    pa = _arrow()
    try:
        names = [str(n).strip() for n in table.column_names]
    except UnicodeDecodeError:
        raise DataFileError(
            f"{source}: its header is not UTF-8 text; pass its --encoding, e.g. --encoding latin-1"
        ) from None
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataFileError(f"{source}: more than one column is named {twice[0]!r}; rename them")
    if table.num_rows == 0:
        raise DataFileError(f"{source}: the table has no rows")
    if any(pa.types.is_dictionary(t) for t in table.schema.types):
        table = table.unify_dictionaries()  # one dictionary per column, for all its chunks
    data = {}
    for name, column in zip(names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            if _is_text(pa, kind.value_type):  # text, already as codes: kept so
                data[name] = _text_column(pa, column, set(markers))
                continue
            column, kind = column.cast(kind.value_type), kind.value_type
        numeric = (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        )
        if numeric or pa.types.is_boolean(kind) or pa.types.is_null(kind):
            values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
            data[name] = np.asarray(values, dtype=np.float64)
            continue
        if not _is_text(pa, kind):
            try:
                column = column.cast(pa.string())  # dates, times, binary as their text
            except pa.ArrowInvalid:  # what the CSV reader found not to be UTF-8
                raise DataFileError(
                    f"{source}: column {name!r} is not UTF-8 text; pass the file's "
                    "--encoding, e.g. --encoding latin-1"
                ) from None
        data[name] = _text_column(pa, column, set(markers))
    return _checked(Columns(data, source))


def _is_text(pa, kind) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _text_column(pa, column, markers: set):
    """A column of text as a Text (with which categories look like numbers), or as
    numbers where, once trimmed and without its missing-value markers, it holds only
    numbers (as ``a, ?, 3`` does: " ?" is not "?" until trimmed)."""
    pc = pa.compute
    if pa.types.is_dictionary(column.type):  # chunks sharing one dictionary (unified)
        indices = pa.chunked_array([c.indices for c in column.chunks], column.type.index_type)
        dictionary = column.chunks[0].dictionary
    else:
        encoded = column.combine_chunks().dictionary_encode()
        indices, dictionary = encoded.indices, encoded.dictionary
    codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False)
    codes = codes.astype(np.int32, copy=False)
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
    number_like, comma_like = (
        np.asarray(pc.match_substring_regex(dictionary, pattern), dtype=bool)
        for pattern in (_NUMBER, _DECIMAL_COMMA)
    )
    if categories and number_like.all():
        values = np.append(np.array(categories, dtype=np.float64), np.nan)
        return values[codes]
    return Text(codes, categories, number_like), comma_like


def _checked(columns: Columns) -> Columns:
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
