"""Helpers the experiments share: CSV and report writing, figures, timing, data.

Figures are built with :mod:`ldnn.plots`' own Figure factory and PNG writer, so they
share its size, resolution and Agg-only rendering.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..plots import DPI, _figure, _save

__all__ = ["DPI", "Stopwatch", "figure", "markdown_table", "save", "write_csv"]


def figure(width: float = 6.4, height: float = 4.8):
    """A fresh matplotlib Figure of ``width`` x ``height`` inches (ldnn's Agg factory)."""
    fig = _figure()
    fig.set_size_inches(width, height)
    return fig


def save(fig, path: str | os.PathLike) -> str:
    """Write ``fig`` as PNG and return the file's name (for the report's list)."""
    fig.tight_layout()
    _save(fig, path)
    return Path(path).name


def _cell(value) -> str:
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    return str(value)


def write_csv(path: str | os.PathLike, rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Write ``rows`` (dicts) with a header of ``columns``; return the file's name."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c, "")) for c in columns])
    return Path(path).name


def markdown_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A GitHub-flavoured markdown table of ``rows`` restricted to ``columns``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


class Stopwatch:
    """Wall-clock seconds since construction, for the report's run time."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def accuracy_of(network, X, Y) -> float:
    """The network's accuracy on (X, Y), via its own evaluate()."""
    return float(network.evaluate(X, Y)["accuracy"])


def standardized(dataset):
    """(X_train, Y_train, X_test, Y_test), features scaled by the training part only."""
    from ..data.datasets import standardize

    data, _, _ = standardize(dataset)
    return data.X_train, data.Y_train, data.X_test, data.Y_test
