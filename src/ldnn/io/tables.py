"""Tables as text: CSV, aligned plain-text tables for the terminal, and markdown.

Cells are formatted in one place: None is an empty cell; floats are written exactly
(``repr``, the shortest text that reads back to the same float) unless the caller asks
for a format such as ``"{:.6g}"``; everything else is ``str``.

Text that came from a file (a column's name, a class, a path) is data, never an
instruction: on the terminal its control characters are shown escaped (:func:`printable`),
and in a CSV file a text cell a spreadsheet would run as a formula is written as text
(:func:`csv_cell`).
"""

from __future__ import annotations

import csv
import io
import numbers
import re
from collections.abc import Sequence

import numpy as np

#: What a terminal acts on instead of showing: the C0 and C1 controls and DEL (ESC starts
#: its escape sequences), the line and paragraph separators, and the bidirectional
#: embeddings, overrides and isolates, which reorder the text after them.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: How a spreadsheet recognises a formula (OWASP, "CSV injection"): these first characters.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def printable(text) -> str:
    r"""``text`` as the terminal may show it: each character it would act on written as
    its escape (``\x1b``, ``\n``, ``\u202e``), everything else as it is.

    >>> printable("red\x1b[31m")
    'red\\x1b[31m'
    """
    return _UNPRINTABLE.sub(lambda found: repr(found.group())[1:-1], str(text))


def cell(value, float_format: str | None = None) -> str:
    """One table cell as text (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return float_format.format(value) if float_format else repr(float(value))
    return str(value)


def csv_cell(value, float_format: str | None = None) -> str:
    """One CSV cell: :func:`cell`, and a text that starts as a spreadsheet formula does
    (=, +, -, @, a tab or a carriage return) behind a single quote, which makes it text
    there too. Numbers, and text that is a plain number ("-1.5"), stay as they are.

    >>> csv_cell("=HYPERLINK(x)"), csv_cell("-1.5"), csv_cell(-2.0)
    ("'=HYPERLINK(x)", '-1.5', '-2.0')
    """
    text = cell(value, float_format)
    if (
        text.startswith(_FORMULA_STARTS)
        and not isinstance(value, numbers.Number)
        and not _PLAIN_NUMBER.fullmatch(text)
    ):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows, float_format: str | None = None) -> str:
    """CSV text: a header row, then one row per sequence of values in ``rows``; every
    cell through :func:`csv_cell`."""
    return "".join(csv_pieces(header, rows, float_format))


def csv_pieces(header: Sequence[str], rows, float_format: str | None = None, size=1 << 16):
    """:func:`csv_text` in pieces of ``size`` rows (the header with the first), made as
    they are asked for: a file of millions of rows written without its whole text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(name) for name in header])
    for count, row in enumerate(rows, 1):
        writer.writerow([csv_cell(v, float_format) for v in row])
        if count % size == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def text_table(header: Sequence[str], rows) -> str:
    """Columns padded to a common width, two spaces apart, a rule of dashes under the
    header, no trailing spaces. ``rows`` hold strings (format the cells first); every
    cell is shown :func:`printable`."""
    table = [[printable(c) for c in header], *([printable(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(rows: Sequence[dict], columns: Sequence[str], float_format="{:.6g}") -> str:
    """A GitHub-flavoured markdown table of ``rows`` (dicts) restricted to ``columns``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(cell(r.get(c, ""), float_format) for c in columns) + " |" for r in rows
    ]
    return "\n".join(lines)
