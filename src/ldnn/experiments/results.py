"""What the experiments share: their CSV results and figures, written through ldnn's own
table writer and picture factory (:mod:`ldnn.io`, :mod:`ldnn.runs.plots`), and their data,
standardised by the training part."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..data.preparation import standardize
from ..io import atomic_write_text, csv_text, markdown_table
from ..runs.plots import new_figure, save_png

__all__ = ["figure", "markdown_table", "save", "standardized", "write_csv"]

#: How the experiments write numbers in their CSV files and reports.
FLOAT_FORMAT = "{:.6g}"


def figure(width: float = 6.4, height: float = 4.8):
    """A fresh matplotlib Figure of ``width`` x ``height`` inches (see :mod:`ldnn.runs.plots`)."""
    return new_figure(width, height)


def save(fig, path: str | os.PathLike) -> str:
    """Lay ``fig`` out, write it as PNG and return the file's name (for the report)."""
    fig.tight_layout()
    return save_png(fig, path)


def write_csv(path: str | os.PathLike, rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Write ``rows`` (dicts) with a header of ``columns``; return the file's name."""
    table = ([row.get(c, "") for c in columns] for row in rows)
    atomic_write_text(path, csv_text(columns, table, FLOAT_FORMAT))
    return Path(path).name


def standardized(dataset):
    """(X_train, Y_train, X_test, Y_test), features scaled by the training part only."""
    data, _, _ = standardize(dataset)
    return data.X_train, data.Y_train, data.X_test, data.Y_test
