"""Tables as text: CSV, aligned plain-text tables for the terminal, and markdown.

Cells are formatted in one place: None is an empty cell; floats are written exactly
(``repr``, the shortest text that reads back to the same float) unless the caller asks
for a format such as ``"{:.6g}"``; everything else is ``str``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np


def cell(value, float_format: str | None = None) -> str:
    """One table cell as text (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return float_format.format(value) if float_format else repr(float(value))
    return str(value)


def csv_text(header: Sequence[str], rows, float_format: str | None = None) -> str:
    """CSV text: a header row, then one row per sequence of values in ``rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v, float_format) for v in row])
    return buffer.getvalue()


def text_table(header: Sequence[str], rows) -> str:
    """Columns padded to a common width, two spaces apart, a rule of dashes under the
    header, no trailing spaces. ``rows`` hold strings (format the cells first)."""
    table = [list(header), *(list(r) for r in rows)]
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
