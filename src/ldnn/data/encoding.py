"""From a table's columns to the notes' X: a rule per column, fitted on the training part.

=============  =====================================================================
a column of    becomes
=============  =====================================================================
numbers        one feature; a missing value is filled with the training part's median
               (``impute="mean"``: its mean); standardised later with the rest of X
text           one 0/1 feature per category seen in the training part (one-hot); a
               missing value is a category of its own, "(missing)", or with
               ``missing="most_frequent"`` the most frequent one; a category not seen in
               training gives all zeros
=============  =====================================================================

Columns that carry no signal are dropped, and the reason is kept: empty or constant
columns; integer IDs (one distinct integer per row over a dense range); text that is
unique per row, or distinct in at least half of the rows (names, tickets, free text).
``drop`` drops more columns, ``keep`` keeps a column the rules would drop.

The rules are plain data (:meth:`TableEncoding.to_metadata`), saved with a model, so a
raw file given to ``ldnn predict`` is encoded exactly as in training, its columns found
by name in any order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataFileError
from .limits import Limits, shown, shown_names
from .tables import Columns, Text, columns_from, unique_names

MISSING = "(missing)"
IMPUTE = ("median", "mean")
MISSING_POLICIES = ("category", "most_frequent")
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
    """

    name: str
    kind: str
    reason: str = ""
    missing: int = 0
    fill: float | None = None
    categories: list = field(default_factory=list)
    fill_category: str | None = None
    note: str = ""

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
        return f"{filled}one-hot, {len(self.categories)} categories: {listed}{note}"


@dataclass
class TableEncoding:
    """The rules of a table's feature columns, and what they make of a table."""

    rules: list

    @classmethod
    def fit(
        cls,
        columns,
        *,
        drop=(),
        keep=(),
        impute: str = "median",
        missing: str = "category",
        limits: Limits | None = None,
    ) -> TableEncoding:
        """Rules for every column of ``columns`` (the training part's feature columns).

        Parameters
        ----------
        columns : Columns, pandas DataFrame, pyarrow Table or dict of columns
        drop, keep : sequences of column names
            Columns to drop; columns to keep that the rules would drop.
        impute : {"median", "mean"}
            What a missing number becomes.
        missing : {"category", "most_frequent"}
            What missing text becomes: a category of its own, or the most frequent one.
        limits : Limits, optional
            Its ``max_categories``: a text column with more categories is refused (one
            feature each, a one-hot wider than the limit); default the default limits.
        """
        limits = limits or Limits()
        columns = columns_from(columns, limits=limits)
        if impute not in IMPUTE:
            raise DataFileError(f"--impute must be one of {', '.join(IMPUTE)}, got {impute!r}")
        if missing not in MISSING_POLICIES:
            raise DataFileError(
                f"--missing must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}"
            )
        for flag, names in (("--drop", drop), ("--keep", keep)):
            unknown = [n for n in names if n not in columns]
            if unknown:
                raise DataFileError(
                    f"{flag}: no column {shown(unknown[0])} in {columns.source}; columns: "
                    f"{shown_names(columns.names)}"
                )
        check_markers(columns, drop, keep)
        rules = []
        for name in columns.names:
            values = columns[name]
            if name in drop:
                rules.append(ColumnRule(name, "dropped", "asked for (--drop)"))
                continue
            if isinstance(values, Text):
                rule = _text_rule(name, values, missing)
            else:
                rule = _number_rule(name, values, impute)
            if rule.kind == "dropped" and name in keep:
                rule = _kept(name, values, impute, missing)
            if rule.kind == "text":
                limits.check_count(
                    "max_categories",
                    len(rule.categories),
                    f"{columns.source}: column {shown(name)} has",
                    f"--drop {name} leaves the column out"[:80],
                )
            rules.append(rule)
        encoding = cls(rules)
        if not encoding.feature_names:
            reasons = "; ".join(f"{shown(r.name)}: {r.reason}" for r in rules[:8])
            more = f"; ... ({len(rules):,} columns in all)" if len(rules) > 8 else ""
            raise DataFileError(
                f"{columns.source}: no column is left to learn from ({reasons}{more}); "
                "--keep keeps one"
            )
        return encoding

    @property
    def feature_names(self) -> list[str]:
        """A name per feature: the column's (numbers), or column=category (one-hot); a
        name that comes again (a column "a=b" beside column a's category b) numbered, as
        "a=b_2"."""
        return unique_names(name for rule in self.rules for name in rule.features)

    @property
    def columns(self) -> list[str]:
        """The columns the encoding reads (the ones it keeps)."""
        return [rule.name for rule in self.rules if rule.kind != "dropped"]

    @property
    def numeric_features(self) -> np.ndarray:
        """Which features are numbers (to standardise); one-hot ones are not."""
        return np.array(
            [rule.kind == "numbers" for rule in self.rules for _ in rule.features], dtype=bool
        )

    def transform(self, columns, dtype=np.float64, limits: Limits | None = None) -> np.ndarray:
        """X of shape (m, n[0]): one example per row, as the table has them. ``columns``
        as for :meth:`fit`, in any column order; an X of more bytes than ``limits``'
        ``max_memory`` is refused before it is allocated.

        The array is Fortran-ordered: its transpose, the notes' X of shape (n[0], m),
        is contiguous, one feature per row, and is written a feature at a time.
        """
        limits = limits or Limits()
        columns = columns_from(columns, limits=limits)
        missing = [name for name in self.columns if name not in columns]
        if missing:
            raise DataFileError(
                f"{columns.source}: no column {shown(missing[0])}, which the model was "
                f"trained on; it needs {shown_names(self.columns)}"
            )
        n0, m = sum(len(rule.features) for rule in self.rules), columns.n_rows
        limits.check_memory(
            n0 * m * np.dtype(dtype).itemsize,
            f"{columns.source}: its X of {m:,} examples of {n0:,} features would take",
        )
        try:
            XT = np.empty((n0, m), dtype=dtype)
        except MemoryError:
            raise DataFileError(
                f"{columns.source}: no memory for its X of {m:,} examples of {n0:,} features"
            ) from None
        start = 0
        for rule in self.rules:  # each feature's row of the notes' X, written once
            if rule.kind == "numbers":
                XT[start] = _numbers_of(columns[rule.name], rule, columns.source)
            elif rule.kind == "text":
                index = _categories_of(columns[rule.name], rule)
                K = len(rule.categories)
                # One-hot: row start + k is 1 where the example's category is the k-th.
                np.equal(index, np.arange(K)[:, None], out=XT[start : start + K], casting="unsafe")
            start += len(rule.features)
        return XT.T

    def decisions(self, standardized: bool = True) -> list[tuple[str, str, str]]:
        """(column, kind, what was done), a row per column, for the printed table."""
        return [(r.name, r.kind, r.describe(standardized)) for r in self.rules]

    def to_metadata(self) -> dict:
        # vars, not dataclasses.asdict: asdict deep-copies, 50 us a rule (5 s for 100,000).
        return {"rules": [{**vars(r), "categories": list(r.categories)} for r in self.rules]}

    @classmethod
    def from_metadata(cls, data, limits: Limits | None = None) -> TableEncoding:
        """The inverse of :meth:`to_metadata`, checked (a file's claim, not a fact); with
        ``limits`` (those the model was trained with), its columns, categories and the
        bytes of their names too."""
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise DataFileError("the model's column rules are damaged (not a list of rules)")
        if limits is not None:
            limits.check_count("max_columns", len(data["rules"]), "the model's rules name")
        rules = []
        for raw in data["rules"]:
            try:
                rule = ColumnRule(**raw)
            except TypeError as error:
                raise DataFileError(f"the model's column rules are damaged: {error}") from None
            ok = isinstance(rule.name, str) and rule.kind in ("numbers", "text", "dropped")
            ok = ok and isinstance(rule.categories, list)
            ok = ok and all(isinstance(c, str) for c in rule.categories)
            ok = ok and isinstance(rule.reason, str) and isinstance(rule.note, str)
            ok = ok and len(set(rule.categories)) == len(rule.categories)
            if rule.kind == "text":
                ok = ok and rule.fill_category in (None, *rule.categories)
            if rule.kind == "numbers":
                ok = ok and isinstance(rule.fill, int | float) and np.isfinite(rule.fill)
            if not ok:
                name = raw.get("name") if isinstance(raw, dict) else None
                raise DataFileError(f"the model's rule for column {shown(name)} is damaged")
            if limits is not None:
                _within(rule, limits)
            rules.append(rule)
        return cls(rules)


def _within(rule: ColumnRule, limits: Limits) -> None:
    """Refuse a rule of a model file beyond the limits it was trained with."""
    where = f"the model's rule for column {shown(rule.name)}"
    limits.check_count("max_categories", len(rule.categories), f"{where} has")
    longest = max(len(t.encode("utf-8", "replace")) for t in (rule.name, *rule.categories))
    if longest > limits.max_cell_bytes:
        raise DataFileError(
            f"{where} holds a name of {longest:,} bytes, {limits.over('max_cell_bytes')}"
        )


def _cut(text: str, width: int = 40) -> str:
    """A category as the printed table shows it: cut to ``width`` characters."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _number_rule(name: str, values: np.ndarray, impute: str) -> ColumnRule:
    present = values[~np.isnan(values)]
    missing = values.size - present.size
    if not present.size:
        return ColumnRule(name, "dropped", "empty", missing)
    low, high = present.min(), present.max()
    if low == high:
        return ColumnRule(name, "dropped", f"constant ({low:g})", missing)
    # An ID: whole numbers, none missing, over a dense range, each once. (Sorting, for
    # the last test, is left to the few columns that pass the others.)
    could_be_id = not missing and values.size >= _FEW_ROWS and high - low + 1 <= 2 * values.size
    if could_be_id and np.array_equal(present, np.round(present)):
        if np.unique(present).size == values.size:
            return ColumnRule(name, "dropped", "an ID (a distinct integer per row)", missing)
    fill = float(np.median(present) if impute == "median" else present.mean())
    return ColumnRule(name, "numbers", missing=missing, fill=fill)


def check_markers(columns: Columns, drop=(), keep=()) -> None:
    """Numbers with a stray token or two among them ("?", "-") hold a marker of missing
    values the reader was not told of: say so (naming the data row), rather than one-hot
    encode the numbers. Columns in ``drop`` or ``keep`` are left alone."""
    for name in columns.names:
        values = columns[name]
        if isinstance(values, Text) and name not in drop and name not in keep:
            _refuse_a_marker(name, values, columns.source)


def _refuse_a_marker(name: str, values: Text, source: str) -> None:
    number_like = values.numbers_among()
    present = values.codes[values.codes >= 0]
    if not present.size or number_like.all() or not number_like.any():
        return
    numbers = number_like[present]
    others = np.unique(present[~numbers])
    if numbers.mean() >= _MOSTLY_NUMBERS and others.size <= _FEW_MARKERS:
        row = int(np.flatnonzero(values.codes == others[0])[0])
        cell = values.categories[others[0]]
        shown = cell if len(cell) <= 40 else cell[:37] + "..."
        raise DataFileError(
            f"{source}: column {name!r} holds numbers, but data row {row + 1} holds "
            f"{shown!r}: if that marks a missing value, pass --na-values {shown!r} (or "
            f"--drop {name}, --keep {name} for text)"
        )


def _text_rule(name: str, values: Text, policy: str) -> ColumnRule:
    present_codes = values.codes[values.codes >= 0]
    missing = values.codes.size - present_codes.size
    if not present_codes.size:
        return ColumnRule(name, "dropped", "empty", missing)
    codes, counts = _counts(present_codes, len(values.categories))
    if codes.size == 1:
        return ColumnRule(
            name, "dropped", f"constant ({shown(values.categories[codes[0]])})", missing
        )
    if present_codes.size >= _FEW_ROWS:
        if codes.size == present_codes.size:
            return ColumnRule(
                name, "dropped", "unique per row (an ID, names or free text)", missing
            )
        if codes.size >= _MOSTLY_DISTINCT * present_codes.size:
            share = codes.size / present_codes.size
            return ColumnRule(
                name,
                "dropped",
                f"{share:.0%} of its values distinct (free text or an ID)",
                missing,
            )
    return _categories(name, values, codes, counts, missing, policy)


def _categories(name, values: Text, codes, counts, missing, policy) -> ColumnRule:
    categories = sorted(values.categories[k] for k in codes)
    fill = None
    if missing:
        if policy == "category":
            categories.append(MISSING)
            fill = MISSING
        else:
            fill = values.categories[codes[np.argmax(counts)]]
    suspects = [c for c in categories if c in _LOOKS_MISSING]
    note = f"is {suspects[0]!r} a missing value? --na-values {suspects[0]!r}" if suspects else ""
    return ColumnRule(
        name, "text", missing=missing, categories=categories, fill_category=fill, note=note
    )


def _counts(codes: np.ndarray, n_categories: int) -> tuple[np.ndarray, np.ndarray]:
    """(the codes that occur, how often), by counting (np.unique would sort m values)."""
    counts = np.bincount(codes, minlength=n_categories)
    present = np.flatnonzero(counts)
    return present, counts[present]


def _kept(name: str, values, impute: str, missing: str) -> ColumnRule:
    """The rule of a column that --keep keeps though the rules would drop it."""
    if isinstance(values, Text):
        codes, counts = _counts(values.codes[values.codes >= 0], len(values.categories))
        return _categories(name, values, codes, counts, int((values.codes < 0).sum()), missing)
    present = values[~np.isnan(values)]
    fill = (
        float(np.median(present) if impute == "median" else present.mean()) if present.size else 0.0
    )
    return ColumnRule(name, "numbers", missing=int(values.size - present.size), fill=fill)


def _numbers_of(values, rule: ColumnRule, source: str) -> np.ndarray:
    if isinstance(values, Text):
        raise DataFileError(
            f"{source}: column {rule.name!r} was numbers in training but holds text here "
            f"(e.g. {values.categories[0]!r}); a missing-value marker? pass --na-values"
        )
    return np.where(np.isnan(values), rule.fill, values)


def _categories_of(values, rule: ColumnRule) -> np.ndarray:
    """Each row's index among the rule's categories (-1: unseen, all-zero features)."""
    if not isinstance(values, Text):  # numbers where training saw text: match as text
        strings = [None if v != v else (f"{v:g}" if v != int(v) else str(int(v))) for v in values]
        categories = sorted({s for s in strings if s is not None})
        lookup = {c: k for k, c in enumerate(categories)}
        values = Text(
            np.array([-1 if s is None else lookup[s] for s in strings], dtype=np.int32), categories
        )
    position = {c: k for k, c in enumerate(rule.categories)}
    mapping = np.array([position.get(c, -1) for c in values.categories] + [-1], dtype=np.int64)
    index = mapping[values.codes]  # codes of -1 (missing) pick the last entry: -1
    if rule.fill_category is not None:
        index[values.codes < 0] = position[rule.fill_category]
    return index
