"""Table files read by pyarrow within the limits (:mod:`ldnn.data.limits`): a CSV file's
header is counted and its size weighed before pyarrow parses a row; a Parquet file's
metadata (its columns, their types, its rows and row groups) are checked before its data
are read, and its text is read as codes into its distinct values."""

from __future__ import annotations

import codecs
import io
import math
from pathlib import Path

from ..errors import DataFileError
from .arrow import arrow, cell_kind, first_line, refuse_kind, row_bytes
from .limits import Limits, format_size, shown

#: The bytes of a CSV file pyarrow parses at a time (a block). Read as a stream, a file's
#: blocks are smaller: pyarrow's reader parses dozens ahead (4 MiB blocks: 136 MiB held
#: at 2,000,000 rows, 1 MiB: 35 MiB); but at least 8 KiB a column, as each block costs
#: a few calls a column (5,000 columns in 1 MiB blocks: 5 times the whole read's time).
#: A Parquet file is read 65,536 rows at a time, its pages through a 1 MiB buffer (not
#: a row group's column chunks whole: 352 MiB held there, 90 MiB so; and faster).
_BLOCK, _STREAM_BLOCK, _COLUMN_BLOCK = 1 << 22, 1 << 20, 1 << 13
_PARQUET_BATCH, _PARQUET_BUFFER = 1 << 16, 1 << 20


def read_csv(path: Path, delimiter, encoding, markers, decimal: str, limits: Limits):
    """A CSV file as a pyarrow Table (text dictionary-encoded), after its header's
    columns and the memory its size needs were checked; ``markers``: the cells that are
    missing values."""
    pa = arrow()
    encoding, delimiter, convert, _ = csv_settings(
        path, delimiter, encoding, markers, decimal, limits
    )
    # Cells spanning lines (quoted newlines) keep pyarrow from splitting the file into
    # blocks it parses in parallel: a block cut inside such a cell fails to parse, and
    # only then is the file read again, in one stream (a bad file's error is that read's).
    # A row longer than a block (a cell of megabytes) is read again in one block.
    attempts = [(False, _BLOCK), (True, _BLOCK), (True, min(path.stat().st_size + 1, 2**31 - 1))]
    for attempt, (newlines, size) in enumerate(attempts):
        try:
            reading, parsing = _csv_options(pa, encoding, delimiter, size, newlines)
            table = pa.csv.read_csv(
                path,
                read_options=reading,
                parse_options=parsing,
                convert_options=convert,
                # The system allocator: on a fresh process, measured faster here than
                # pyarrow's default (mimalloc) at reading a large file.
                memory_pool=pa.system_memory_pool(),
            )
            break
        except MemoryError:
            raise
        except pa.ArrowInvalid as error:
            if attempt == 0 or (attempt == 1 and "straddl" in str(error) and size < attempts[2][1]):
                continue
            raise DataFileError(_explain(path, str(error), encoding)) from None
        except (pa.ArrowException, OSError, UnicodeError) as error:
            raise DataFileError(f"{path}: cannot be read as CSV: {first_line(error)}") from None
    if table.num_columns == 0 or table.num_rows == 0:
        what = "is empty (a header row is needed)" if table.num_columns == 0 else "has no data rows"
        raise DataFileError(f"{path}: the file {what}")
    return table


def csv_settings(path: Path, delimiter, encoding, markers, decimal: str, limits: Limits):
    """(encoding, delimiter, pyarrow's ConvertOptions, the header's columns) of a CSV
    file, after its header's columns and the memory its size needs were checked
    (:func:`read_csv`'s)."""
    pa = arrow()
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
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
        raise DataFileError(
            f"--delimiter must be one character (ASCII, not a quote or a line break), "
            f"got {delimiter!r}"
        )
    if decimal not in (".", ","):
        raise DataFileError(f"--decimal must be '.' or ',', got {decimal!r}")
    columns = _header_width(path, encoding, delimiter)
    limits.check_count("max_columns", columns, f"{path}: the header names")
    need, rows = _csv_memory(path, head, columns)
    limits.check_memory(
        need, f"{path}: its {format_size(path.stat().st_size)} (about {rows:,} rows) need"
    )
    # Text is dictionary-encoded as it is parsed, in parallel (what Text keeps anyway).
    convert = pa.csv.ConvertOptions(
        null_values=markers,
        strings_can_be_null=True,
        decimal_point=decimal,
        auto_dict_encode=True,
        auto_dict_max_cardinality=1 << 20,
    )
    return encoding, delimiter, convert, columns


def csv_batches(
    path: Path,
    delimiter,
    encoding,
    markers,
    decimal: str,
    limits: Limits,
    floats: bool = False,
    part: tuple[int, int] | None = None,
    types: dict | None = None,
):
    """(the schema, an iterator of record batches, about how many rows) of a CSV file read
    as a stream, with :func:`read_csv`'s settings, or None where it cannot be (the first
    block straddles a cell or fails to parse): then :func:`read_csv` reads it, and says
    what is wrong with it. The columns' types are those of the first block (a later block
    that does not fit them fails as the batches are read); with ``floats``, its whole
    numbers are read as float64 and its empty columns as text, so that a later block's
    1.5 or "a" fits them (each is float64, or text, in the end anyway). ``part`` (k, P):
    the header and the k-th of P byte ranges of its rows (:func:`row_range`); ``types``:
    pyarrow types for some columns, by name."""
    pa = arrow()
    encoding, delimiter, convert, columns = csv_settings(
        path, delimiter, encoding, markers, decimal, limits
    )
    block = min(max(_STREAM_BLOCK, columns * _COLUMN_BLOCK), 2**31 - 1)
    with open(path, "rb") as file:
        head = file.read(1 << 16)
    _, rows = _csv_memory(path, head, 1)
    try:
        reading, parsing = _csv_options(pa, encoding, delimiter, block, newlines=False)
        source = path if part is None else row_range(path, encoding, *part)
        if types:
            convert.column_types = types
        reader = pa.csv.open_csv(
            source,
            read_options=reading,
            parse_options=parsing,
            convert_options=convert,
            memory_pool=pa.system_memory_pool(),
        )
        if floats and not types:
            widened = {
                field.name: pa.float64() if pa.types.is_integer(field.type) else pa.string()
                for field in reader.schema
                if pa.types.is_integer(field.type) or pa.types.is_null(field.type)
            }
            if widened:
                convert.column_types = widened
                reader = pa.csv.open_csv(
                    path if part is None else row_range(path, encoding, *part),
                    read_options=reading,
                    parse_options=parsing,
                    convert_options=convert,
                    memory_pool=pa.system_memory_pool(),
                )
    except MemoryError:
        raise
    except (pa.ArrowException, OSError, UnicodeError, ValueError):
        return None
    return reader.schema, iter(reader), rows


def row_range(path: Path, encoding: str, k: int, parts: int):
    """A file object reading the header line of a CSV file and then the k-th of ``parts``
    byte ranges of its rows, each cut after a line break (as the stream reads it, no cell
    spans lines), so that the ranges' rows are the file's, each once, in order. A file
    in UTF-16 or UTF-32, whose line breaks are not the byte 0x0A alone, is not cut: the
    first range is all of it (in UTF-8 and the one-byte encodings, and in the others
    Python knows, 0x0A is a line break wherever it is)."""
    size = path.stat().st_size
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    with open(path, "rb") as file:
        header = file.readline()
        if wide:  # the header line up to its line break of 2 or 4 bytes
            text = (header + file.read(1 << 16)).decode(encoding, errors="ignore")
            header = text[: text.find("\n") + 1].encode(encoding)
        start, cuts = len(header), []
        for j in range(1, parts):
            if wide:
                cuts.append(size)
                continue
            file.seek(max(start, start + (size - start) * j // parts) - 1)
            file.readline()  # on to the start of the next line
            cuts.append(max(file.tell(), cuts[-1] if cuts else start))
    bounds = [start, *cuts, size]
    return _Range(path, header, bounds[k], bounds[k + 1])


class _Range(io.RawIOBase):
    """The bytes ``head`` then bytes [start, stop) of a file, as one readable stream."""

    def __init__(self, path: Path, head: bytes, start: int, stop: int):
        self._file = open(path, "rb")
        self._file.seek(start)
        self._head, self._left = head, stop - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n], self._head = self._head[:n], self._head[n:]
            return n
        n = self._file.readinto(view[: min(len(view), self._left)]) if self._left > 0 else 0
        self._left -= n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def whole_read_need(path: Path, delimiter=None, encoding=None) -> int:
    """About the bytes of memory reading the whole file takes: what the checks before a
    read hold against max_memory (:func:`_csv_memory`, or a Parquet file's metadata)."""
    pa = arrow()
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            metadata = pa.parquet.ParquetFile(path).metadata
        except (pa.ArrowException, OSError) as error:
            raise DataFileError(f"{path}: cannot be read as Parquet: {first_line(error)}") from None
        return _parquet_need(pa, metadata.schema.to_arrow_schema(), metadata)
    with open(path, "rb") as file:
        head = file.read(1 << 16)
    if encoding is None:
        encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8"
    if delimiter is None:
        text = head.decode(encoding, errors="replace")
        delimiter = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text)
    return _csv_memory(path, head, _header_width(path, encoding, delimiter))[0]


def _parquet_need(pa, schema, metadata) -> int:
    """About the bytes reading a Parquet file whole takes: its declared rows times a row's
    bytes once read, and its stored values."""
    stored = sum(
        max(metadata.row_group(i).total_byte_size, 0) for i in range(metadata.num_row_groups)
    )
    return max(metadata.num_rows, 0) * sum(row_bytes(pa, f.type) for f in schema) + stored


def _header_width(path: Path, encoding: str, delimiter: str) -> int:
    """How many columns the header line names (a name holding a line break ends the
    count there): its separators outside quotes, the even pieces between the quotes
    (a doubled quote is an empty piece). 100,000 names are counted in milliseconds,
    before pyarrow parses a row; the table it reads is counted again."""
    with open(path, encoding=encoding, errors="replace", newline="") as file:
        line = file.readline(1 << 24)
    return 1 + sum(piece.count(delimiter) for piece in line.split('"')[::2])


def _csv_memory(path: Path, head: bytes, columns: int) -> tuple[int, int]:
    """(about the bytes reading a CSV file needs, about its rows): its rows (the file's
    size over the head's bytes a row) times its columns, 16 bytes a cell (Arrow's value
    and ldnn's), and the file's text once. A cell takes a byte of the file at least, its
    separator: the cells are never more than the file's bytes."""
    size = path.stat().st_size
    rows_in_head = head.count(b"\n") - 1
    rows = math.ceil(size * rows_in_head / len(head)) if rows_in_head > 0 else size
    cells = min(size, rows * max(columns, 1))
    return 16 * cells + size, min(rows, size)


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


def _parquet_file(path: Path, limits: Limits, **options):
    """A Parquet file opened to read (pyarrow's ParquetFile ``options``), its text columns
    as dictionaries, after its metadata were checked: the number of columns, their types
    and the memory its declared rows need."""
    pa = arrow()
    try:
        file = pa.parquet.ParquetFile(path)
        schema, metadata = file.schema_arrow, file.metadata
    except MemoryError:
        raise
    except (pa.ArrowException, OSError) as error:
        raise DataFileError(f"{path}: cannot be read as Parquet: {first_line(error)}") from None
    limits.check_count("max_columns", len(schema), f"{path}: the file has")
    for field in schema:
        if cell_kind(pa, field.type) is None:
            refuse_kind(field.name, field.type, str(path))
    rows = max(metadata.num_rows, 0)
    widths = [row_bytes(pa, field.type) for field in schema]
    if widths:
        widest = max(range(len(widths)), key=widths.__getitem__)
        stored = sum(
            max(metadata.row_group(i).total_byte_size, 0) for i in range(metadata.num_row_groups)
        )
        limits.check_memory(
            _parquet_need(pa, schema, metadata),
            f"{path}: its metadata declare {rows:,} rows of {len(schema):,} columns (the "
            f"widest, {shown(schema[widest].name)}, {widths[widest]} bytes a row) and "
            f"{format_size(stored)} of values, which need",
        )
    text = [i for i, field in enumerate(schema) if _read_as_dictionary(pa, field.type)]
    try:
        return pa.parquet.ParquetFile(path, metadata=metadata, read_dictionary=text, **options)
    except MemoryError:
        raise
    except (pa.ArrowException, OSError) as error:
        raise DataFileError(f"{path}: cannot be read as Parquet: {first_line(error)}") from None


def read_parquet(path: Path, limits: Limits):
    """A Parquet file as a pyarrow Table, its text columns dictionary-encoded (what
    :class:`~ldnn.data.tables.Text` keeps), after its metadata were checked: the number
    of columns, their types and the memory its declared rows need."""
    pa = arrow()
    file = _parquet_file(path, limits)
    try:
        return file.read()
    except MemoryError:
        raise
    except (pa.ArrowException, OSError) as error:
        raise DataFileError(f"{path}: cannot be read as Parquet: {first_line(error)}") from None


def parquet_batches(
    path: Path, limits: Limits, cells: int | None = None, part: tuple[int, int] | None = None
):
    """(the schema, an iterator of record batches of at most 65,536 rows, the rows) of a
    Parquet file, after :func:`read_parquet`'s checks: the file a slice at a time, not a
    whole table; with ``cells``, batches of about that many cells (rows x columns); with
    ``part`` (k, P), only the k-th of P consecutive runs of its row groups (those whose
    first row is in the k-th P-th of the rows)."""
    file = _parquet_file(path, limits, pre_buffer=False, buffer_size=_PARQUET_BUFFER)
    rows = _PARQUET_BATCH
    if cells is not None:
        rows = max(1024, min(rows, cells // max(len(file.schema_arrow), 1)))
    groups = None
    if part is not None:
        k, parts = part
        metadata = file.metadata
        total, first, groups = max(metadata.num_rows, 0), 0, []
        for i in range(metadata.num_row_groups):
            if k * total <= first * parts < (k + 1) * total:
                groups.append(i)
            first += metadata.row_group(i).num_rows
    batches = file.iter_batches(
        batch_size=rows, row_groups=groups, use_threads=arrow().cpu_count() > 1
    )
    return file.schema_arrow, batches, max(file.metadata.num_rows, 0)


def _read_as_dictionary(pa, kind) -> bool:
    """Strings and bytes are read as codes into their distinct values: a file that
    repeats one long value a million times does not become a million copies of it."""
    t = pa.types
    return t.is_string(kind) or t.is_large_string(kind) or t.is_binary(kind)


def _csv_options(pa, encoding: str, delimiter: str, block: int, newlines: bool) -> tuple:
    """pyarrow's (ReadOptions, ParseOptions) of a CSV read in blocks of ``block`` bytes
    (in parallel where there are cores), cells spanning lines allowed or not."""
    reading = pa.csv.ReadOptions(
        encoding=encoding, block_size=block, use_threads=pa.cpu_count() > 1
    )
    return reading, pa.csv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines)
