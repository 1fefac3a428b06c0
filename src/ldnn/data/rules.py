"""The rule of one column of a table, fitted on the training part: numbers, text (its
categories), or dropped, with the reason (see :mod:`ldnn.data.encoding`, which applies
them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataFileError
from .limits import shown
from .tables import Columns, Text

MISSING = "(missing)"
#: The category of a column's rare ones (seen fewer than ``min_count`` times in training).
OTHER = "(other)"
#: Text with at least this share of distinct values among its rows is taken as free text.
_MOSTLY_DISTINCT = 0.5
#: Below this many rows in the training part, no column is judged an ID or free text.
_FEW_ROWS = 20
#: Categories that often mark a missing value in files (UCI's "?", a dash, ...).
_LOOKS_MISSING = ("?", "-", "--", ".", "unknown", "Unknown", "UNKNOWN", "none", "None", "missing")
#: Text that is numbers in at least this share of its cells, the rest one or two other
#: values, is taken as numbers with a missing-value marker among them: an error.
_MOSTLY_NUMBERS, _FEW_MARKERS = 0.9, 2


@dataclass
class ColumnRule:
    """What is done to one column.

    Attributes
    ----------
    name : str
    kind : "numbers", "text" or "dropped"
    reason : str
        Why a column is dropped.
    missing : int
        Missing values in the training part.
    fill : float or None
        numbers: the value a missing one becomes.
    categories : list of str
        text: the categories of the one-hot features, in their order.
    fill_category : str or None
        text: the category a missing value becomes.
    note : str
        What the user may want to know (a category that looks like a missing marker).
    pooled : int
        text: how many categories, each seen fewer than ``min_count`` times, became
        "(other)" (which a category not seen in training becomes too).
    """

    name: str
    kind: str
    reason: str = ""
    missing: int = 0
    fill: float | None = None
    categories: list = field(default_factory=list)
    fill_category: str | None = None
    note: str = ""
    pooled: int = 0

    @property
    def features(self) -> list[str]:
        """The names of the features this column gives."""
        if self.kind == "numbers":
            return [self.name]
        if self.kind == "text":
            return [f"{self.name}={c}" for c in self.categories]
        return []

    def describe(self, standardized: bool) -> str:
        if self.kind == "dropped":
            return self.reason
        filled = ""
        if self.kind == "numbers":
            if self.missing:
                filled = f"{self.missing} missing filled with {self.fill:g}; "
            return filled + ("standardised" if standardized else "as it is")
        listed = ", ".join(_cut(c) for c in self.categories[:6])
        listed += ", ..." if len(self.categories) > 6 else ""
        if self.missing and self.fill_category != MISSING:
            filled = f"{self.missing} missing as {shown(self.fill_category)}; "
        note = f" ({self.note})" if self.note else ""
        pooled = f"; {OTHER} holds {self.pooled:,} rare ones" if self.pooled else ""
        return f"{filled}one-hot, {len(self.categories)} categories: {listed}{pooled}{note}"


def _cut(text: str, width: int = 40) -> str:
    """A category as the printed table shows it: cut to ``width`` characters."""
    return text if len(text) <= width else text[: width - 3] + "..."


def number_rule(name: str, values, impute: str) -> ColumnRule:
    """The rule of a column of numbers (float64, NaN where missing; or the
    :class:`~ldnn.data.shared_stats.SharedNumbers` of MPI ranks' shares of it): dropped
    when empty, constant or an ID, else filled with its median (or mean)."""
    column = numbers_of(values)
    missing = column.missing
    if column.size == missing:
        return ColumnRule(name, "dropped", "empty", missing)
    low, high = column.low, column.high
    if low == high:
        return ColumnRule(name, "dropped", f"constant ({low:g})", missing)
    # An ID: whole numbers, none missing, over a dense range, each once. (Sorting, for
    # the last test, is left to the few columns that pass the others.)
    size = column.size
    could_be_id = not missing and size >= _FEW_ROWS and high - low + 1 <= 2 * size
    if could_be_id and column.whole() and column.distinct():
        return ColumnRule(name, "dropped", "an ID (a distinct integer per row)", missing)
    return ColumnRule(name, "numbers", missing=missing, fill=_fill(column, impute))


def numbers_of(values):
    """``values`` as the questions the rules ask of a column of numbers: a
    :class:`~ldnn.data.shared_stats.SharedNumbers` as it is, an array as
    :class:`ColumnNumbers`."""
    return values if hasattr(values, "distinct") else ColumnNumbers(values)


def _fill(column, impute: str) -> float:
    return column.median() if impute == "median" else column.mean()


class ColumnNumbers:
    """A whole column of numbers (float64, NaN where missing) in one process: its size,
    missing values, least and greatest value, and what the rules ask beyond that."""

    def __init__(self, values: np.ndarray):
        self.present = values[~np.isnan(values)]
        self.size, self.missing = values.size, values.size - self.present.size
        if self.present.size:
            self.low, self.high = self.present.min(), self.present.max()

    def whole(self) -> bool:
        return bool(np.array_equal(self.present, np.round(self.present)))

    def distinct(self) -> bool:
        return np.unique(self.present).size == self.present.size

    def median(self) -> float:
        return float(np.median(self.present))

    def mean(self) -> float:
        return float(self.present.mean())


def check_markers(columns: Columns, drop=(), keep=()) -> None:
    """Numbers with a stray token or two among them ("?", "-") hold a marker of missing
    values the reader was not told of: say so (naming the data row), rather than one-hot
    encode the numbers. Columns in ``drop`` or ``keep`` are left alone."""
    for name in columns.names:
        # (asked before the column is read: a table on disk reads only its text)
        if columns.is_text(name) and name not in drop and name not in keep:
            _refuse_a_marker(name, columns[name], columns.source)


def _refuse_a_marker(name: str, values: Text, source: str) -> None:
    number_like = values.numbers_among()
    counts, _ = values.code_counts()
    n_present = int(counts.sum())
    if not n_present or number_like.all() or not number_like.any():
        return
    others = np.flatnonzero((counts > 0) & ~number_like)  # (sorted, as np.unique's)
    share = counts[number_like].sum() / n_present
    if share >= _MOSTLY_NUMBERS and others.size <= _FEW_MARKERS:
        row = values.first_row(int(others[0]))
        cell = values.categories[others[0]]
        shown = cell if len(cell) <= 40 else cell[:37] + "..."
        raise DataFileError(
            f"{source}: column {name!r} holds numbers, but data row {row + 1} holds "
            f"{shown!r}: if that marks a missing value, pass --na-values {shown!r} (or "
            f"--drop {name}, --keep {name} for text)"
        )


def text_rule(name: str, values: Text, policy: str, min_count: int = 1) -> ColumnRule:
    """The rule of a text column: dropped when empty, constant, unique per row or mostly
    distinct, else its categories (those seen fewer than ``min_count`` times pooled)."""
    codes, counts, missing = _counts(values)
    n_present = int(counts.sum())
    if not n_present:
        return ColumnRule(name, "dropped", "empty", missing)
    if codes.size == 1:
        return ColumnRule(
            name, "dropped", f"constant ({shown(values.categories[codes[0]])})", missing
        )
    if n_present >= _FEW_ROWS:
        if codes.size == n_present:
            return ColumnRule(
                name, "dropped", "unique per row (an ID, names or free text)", missing
            )
        if codes.size >= _MOSTLY_DISTINCT * n_present:
            share = codes.size / n_present
            return ColumnRule(
                name,
                "dropped",
                f"{share:.0%} of its values distinct (free text or an ID)",
                missing,
            )
    return _categories(name, values, codes, counts, missing, policy, min_count)


def _categories(name, values: Text, codes, counts, missing, policy, min_count=1) -> ColumnRule:
    common = counts >= min_count
    categories = sorted(values.categories[k] for k in codes[common])
    pooled = int((~common).sum())
    if pooled and OTHER not in categories:  # (a category of that name takes them in)
        categories.append(OTHER)
    fill = None
    if missing:
        if policy == "category":
            categories.append(MISSING)
            fill = MISSING
        else:
            top = np.argmax(counts)
            fill = values.categories[codes[top]] if common[top] else OTHER
    suspects = [c for c in categories if c in _LOOKS_MISSING]
    note = f"is {suspects[0]!r} a missing value? --na-values {suspects[0]!r}" if suspects else ""
    return ColumnRule(
        name,
        "text",
        missing=missing,
        categories=categories,
        fill_category=fill,
        note=note,
        pooled=pooled,
    )


def _counts(values: Text) -> tuple[np.ndarray, np.ndarray, int]:
    """(the codes that occur, how often, how many cells are missing), by counting
    (np.unique would sort m values)."""
    counts, missing = values.code_counts()
    present = np.flatnonzero(counts)
    return present, counts[present], missing


def kept_rule(name: str, values, impute: str, missing: str, min_count: int = 1) -> ColumnRule:
    """The rule of a column that --keep keeps though the rules would drop it."""
    if isinstance(values, Text):
        codes, counts, lost = _counts(values)
        return _categories(name, values, codes, counts, lost, missing, min_count)
    column = numbers_of(values)
    fill = _fill(column, impute) if column.size > column.missing else 0.0
    return ColumnRule(name, "numbers", missing=int(column.missing), fill=fill)
