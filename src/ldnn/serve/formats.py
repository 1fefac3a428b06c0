"""The bodies MLflow's scoring protocol accepts, as the rows of a table.

A JSON body is an object with exactly one of these fields (and an optional, empty
``params``), each a way of writing a table of named columns:

=====================  ==========================================================
field                  holds
=====================  ==========================================================
``dataframe_split``    ``{"columns": [names], "data": [[row], ...]}`` (pandas' split
                       orientation; an ``index`` is ignored)
``dataframe_records``  ``[{column: value, ...}, ...]`` (pandas' records orientation)
``instances``          the same records
``inputs``             the same records, or ``{column: [values], ...}``, one list per
                       column
=====================  ==========================================================

Rows of bare values (``[[1, 2], ...]``, MLflow's tensors) are refused: without names a
value would be matched to a column by its place, and a client that sends its columns in
another order would get answers for other data without a word.

The rows become the text of a CSV file (:func:`csv_of_rows`): the file ``ldnn predict``
would read, numbers written as their shortest text that reads back the same float64, a
``null`` as an empty cell (a missing value). A cell that is a list or an object is
refused, naming its column and row.
"""

from __future__ import annotations

import csv
import io

from ..data.limits import shown, shown_names
from ..errors import DataFileError

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def table_of_json(document) -> tuple[list[str], list[list]]:
    """(column names, rows of values) of a decoded JSON body (see the module docstring).

    Raises
    ------
    DataFileError
        Naming the field, the row or the column that is not as the protocol wants it.
    """
    if not isinstance(document, dict):
        raise DataFileError(
            f"the body must be a JSON object with one of {_listed(FORMATS)}, "
            f"got a JSON {_kind(document)}"
        )
    given = [key for key in FORMATS if key in document]
    others = sorted(set(document) - {*FORMATS, "params"})
    if len(given) != 1 or others:
        found = shown_names(given + others) if given or others else "none"
        raise DataFileError(
            f"the body must hold exactly one of {_listed(FORMATS)} (and optionally "
            f"params); found {found}"
        )
    if document.get("params"):
        raise DataFileError("params: this model takes no parameters, send none")
    key = given[0]
    value = document[key]
    if key == "dataframe_split":
        return _split(value)
    if key == "inputs" and isinstance(value, dict):
        return _columns(value)
    return _records(value, key)


def _split(value) -> tuple[list[str], list[list]]:
    if not isinstance(value, dict) or "columns" not in value or "data" not in value:
        raise DataFileError(
            'dataframe_split must be an object {"columns": [names], "data": [[row], ...]}'
        )
    names, rows = value["columns"], value["data"]
    _check_names(names, "dataframe_split.columns")
    if not isinstance(rows, list) or not rows:
        raise DataFileError(f"dataframe_split.data must be a list of rows, got {_kind(rows)}")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise DataFileError(
                f"dataframe_split.data[{i}] must be a list of {len(names)} values (one per "
                f"column), got {_kind(row)}" + (f" of {len(row)}" if isinstance(row, list) else "")
            )
    return names, rows


def _records(records, key: str) -> tuple[list[str], list[list]]:
    """Records: a column missing from a record is a missing value there, as pandas has it."""
    if not isinstance(records, list) or not records:
        raise DataFileError(f"{key} must be a list of records, one per row, got {_kind(records)}")
    names: dict[str, None] = {}  # the columns in the order they are first met
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            hint = " (rows of bare values need names: send dataframe_split)"
            raise DataFileError(
                f"{key}[{i}] must be an object of column: value, got {_kind(record)}"
                + (hint if isinstance(record, list) else "")
            )
        names.update(dict.fromkeys(record))
    columns = list(names)
    return columns, [[record.get(name) for name in columns] for record in records]


def _columns(value: dict) -> tuple[list[str], list[list]]:
    names = list(value)
    _check_names(names, "inputs")
    lengths = set()
    for name in names:
        column = value[name]
        if not isinstance(column, list):
            raise DataFileError(
                f"inputs[{shown(name)}] must be a list of values, got {_kind(column)}"
            )
        lengths.add(len(column))
    if len(lengths) != 1 or 0 in lengths:
        raise DataFileError(
            f"inputs: the columns must be lists of one length (and not empty), got lengths "
            f"{sorted(lengths)[:8]}"
        )
    return names, [list(row) for row in zip(*value.values(), strict=True)]


def _check_names(names, where: str) -> None:
    if not isinstance(names, list) or not names:
        raise DataFileError(f"{where} must be a list of column names, got {_kind(names)}")
    seen = set()
    for name in names:
        if not isinstance(name, str):
            raise DataFileError(f"{where}: a column name must be text, got {_kind(name)}")
        if name in seen:
            raise DataFileError(f"{where}: column {shown(name)} is given twice")
        seen.add(name)


def csv_of_rows(names: list[str], rows: list[list]) -> str:
    """The CSV text (a header, then a line per row) ``ldnn predict`` would read for
    ``rows``, as Python's CSV writer writes JSON's values: ``null`` an empty cell (a
    missing value), ``true`` True, a float its ``repr`` (the shortest text of the same
    float64), text as it is (quoted where it holds a comma, a quote or a line break).

    Raises
    ------
    DataFileError
        For a cell that is a list or an object, naming its column and row.
    """
    # The types of every cell at once (a set, in C's loop): the writer takes the rest.
    if {type(value) for row in rows for value in row} & {list, dict}:
        for i, row in enumerate(rows):
            for name, value in zip(names, row, strict=True):
                if isinstance(value, list | dict):
                    raise DataFileError(
                        f"column {shown(name)} holds {_kind(value)} in row {i}; a cell must "
                        "be a number, text, true, false or null"
                    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue()


def _kind(value) -> str:
    """What a decoded JSON value is, in JSON's words."""
    if value == []:
        return "an empty list"
    kinds = {dict: "object", list: "list", str: "text", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _listed(names) -> str:
    return ", ".join(names)
