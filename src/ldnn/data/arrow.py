"""pyarrow, and its types as the cells of a table: which become numbers, which text, which
ldnn refuses (lists, structs, maps: more than one value in a cell), and what a row of each
costs in memory once read."""

from __future__ import annotations

from ..base.threads import arrow_threads
from ..errors import DataFileError, MissingPackageError
from .limits import shown

#: What ldnn keeps of a row of each kind of column, besides Arrow's own values: numbers
#: become float64 (8 bytes); text stays codes (Arrow's int32 indices, ldnn's int32 codes
#: and a copy while the categories are trimmed); dates and times are cast to text first
#: (about 40 bytes a value, offsets included).
_NUMBER_BYTES, _TEXT_BYTES, _AS_TEXT_BYTES = 8, 12, 40


def arrow():
    """pyarrow with its compute, CSV and Parquet modules, on ldnn's threads."""
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


def cell_kind(pa, kind) -> str | None:
    """What a column of Arrow type ``kind`` becomes: "numbers" (integers, floats,
    decimals, booleans, nulls), "text" (strings), "as text" (binary, dates, times:
    their text), or None where a cell holds more than one value, or a value ldnn cannot
    write as text (lists, structs, maps, unions, intervals)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    t = pa.types
    if t.is_integer(kind) or t.is_floating(kind) or t.is_decimal(kind):
        return "numbers"
    if t.is_boolean(kind) or t.is_null(kind):
        return "numbers"
    if t.is_string(kind) or t.is_large_string(kind) or t.is_string_view(kind):
        return "text"
    binary = t.is_binary(kind) or t.is_large_binary(kind) or t.is_fixed_size_binary(kind)
    temporal = t.is_temporal(kind) and not t.is_interval(kind)
    return "as text" if binary or temporal or t.is_binary_view(kind) else None


def is_text(pa, kind) -> bool:
    """Whether Arrow type ``kind`` is strings (the text ldnn reads as it is)."""
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def row_bytes(pa, kind) -> int:
    """About how many bytes a row of a column of type ``kind`` takes once read and
    converted: Arrow's values and what ldnn keeps (a text column's distinct values,
    read dictionary-encoded, are counted apart)."""
    cell = cell_kind(pa, kind)
    if pa.types.is_dictionary(kind):
        return _TEXT_BYTES + (_NUMBER_BYTES if cell == "numbers" else 0)
    if cell == "text" or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return _TEXT_BYTES
    try:
        width = kind.bit_width // 8 + 1  # the values, and a validity bit (a byte, rounded up)
    except ValueError:  # null (no values), variable-width types
        width = 8
    return width + (_NUMBER_BYTES if cell == "numbers" else _AS_TEXT_BYTES + _TEXT_BYTES)


def refuse_kind(name: str, kind, source: str) -> None:
    """The error for a column of a type :func:`cell_kind` refuses."""
    what = str(kind)
    what = what if len(what) <= 60 else what[:57] + "..."
    raise DataFileError(
        f"{source}: column {shown(name)} holds values of type {what}, which are not one "
        "value a cell (lists, structs, maps and the like); write the file without it"
    )


def first_line(error) -> str:
    """An error's text as one line of at most 300 characters."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
