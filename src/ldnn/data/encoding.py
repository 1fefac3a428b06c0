"""From a table's columns to the notes' X: a rule per column, fitted on the training part.

=============  =====================================================================
a column of    becomes
=============  =====================================================================
numbers        one feature; a missing value is filled with the training part's median
               (``impute="mean"``: its mean); standardised later with the rest of X
text           one 0/1 feature per category seen in the training part (one-hot); a
               missing value is a category of its own, "(missing)", or with
               ``missing="most_frequent"`` the most frequent one; with ``min_count`` k,
               the categories seen fewer than k times are one, "(other)"; a category
               not seen in training gives all zeros (or "(other)", where there is one)
=============  =====================================================================

Columns that carry no signal are dropped, and the reason is kept: empty or constant
columns; integer IDs (one distinct integer per row over a dense range); text that is
unique per row, or distinct in at least half of the rows (names, tickets, free text).
``drop`` drops more columns, ``keep`` keeps a column the rules would drop.

The rules are plain data (:meth:`TableEncoding.to_metadata`), saved with a model, so a
raw file given to ``ldnn predict`` is encoded exactly as in training, its columns found
by name in any order; :meth:`TableEncoding.unexpected` counts what it holds that training
did not (categories not seen, missing values). :meth:`TableEncoding.encode` gives the
notes' X, its one-hot rows kept as codes (:class:`~ldnn.data.compact.CompactX`);
:meth:`TableEncoding.transform` writes them out, as scikit-learn's transformers do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataFileError
from .compact import CompactX
from .limits import Limits, shown, shown_names
from .rules import (
    MISSING,
    OTHER,
    ColumnRule,
    check_markers,
    kept_rule,
    number_rule,
    numbers_of,
    text_rule,
)
from .tables import Columns, Text, columns_from, unique_names

__all__ = ["MISSING", "OTHER", "ColumnRule", "TableEncoding", "check_markers"]

IMPUTE = ("median", "mean")
MISSING_POLICIES = ("category", "most_frequent")


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
        min_count: int = 1,
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
        min_count : int, default 1
            The categories of a text column seen fewer times than this become one,
            "(other)" (1: none do).
        """
        limits = limits or Limits()
        columns = columns_from(columns, limits=limits)
        if impute not in IMPUTE:
            raise DataFileError(f"--impute must be one of {', '.join(IMPUTE)}, got {impute!r}")
        if missing not in MISSING_POLICIES:
            raise DataFileError(
                f"--missing must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}"
            )
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise DataFileError(
                f"min_count (min_category_count) must be a whole number >= 1, got {min_count!r}",
                field="min_category_count",
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
                rule = text_rule(name, values, missing, min_count)
            else:
                rule = number_rule(name, values, impute)
            if rule.kind == "dropped" and name in keep:
                rule = kept_rule(name, values, impute, missing, min_count)
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
        columns = self._columns_of(columns, limits)
        n0, m = sum(len(rule.features) for rule in self.rules), columns.n_rows
        self.check_memory(m, columns.source, limits, compact=False, dtype=dtype)
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

    def check_memory(
        self, m: int, source: str, limits: Limits, *, compact: bool = True, dtype=np.float64
    ) -> None:
        """Refuse an X of ``m`` examples over ``limits``' ``max_memory``, before it is
        allocated: :meth:`encode`'s (8 bytes a number, 4 a text column, per example; with
        ``compact`` False, or no text column, :meth:`transform`'s, n[0] values of
        ``dtype`` per example)."""
        n_numbers = sum(rule.kind == "numbers" for rule in self.rules)
        n_text = sum(rule.kind == "text" for rule in self.rules)
        if compact and n_text:
            limits.check_memory(
                (8 * n_numbers + 4 * n_text) * m,
                f"{source}: its X of {m:,} examples of {n_numbers:,} numbers and "
                f"{n_text:,} text columns would take",
            )
            return
        n0 = sum(len(rule.features) for rule in self.rules)
        limits.check_memory(
            n0 * m * np.dtype(dtype).itemsize,
            f"{source}: its X of {m:,} examples of {n0:,} features would take",
        )

    def _columns_of(self, columns, limits: Limits) -> Columns:
        """``columns`` as Columns, holding every column the rules read."""
        columns = columns_from(columns, limits=limits)
        missing = [name for name in self.columns if name not in columns]
        if missing:
            raise DataFileError(
                f"{columns.source}: no column {shown(missing[0])}, which the model was "
                f"trained on; it needs {shown_names(self.columns)}"
            )
        return columns

    def encode(self, columns, limits: Limits | None = None):
        """The notes' X of shape (n[0], m) of ``columns`` (as for :meth:`transform`): the
        dense one when every kept column is numbers; with text columns a
        :class:`~ldnn.data.compact.CompactX`, whose one-hot rows stay codes (4 bytes an
        example and column, where the one-hot takes K floats), within ``limits``'
        ``max_memory``."""
        if not any(rule.kind == "text" for rule in self.rules):
            return self.transform(columns, limits=limits).T
        limits = limits or Limits()
        columns = self._columns_of(columns, limits)
        m = columns.n_rows
        n_numbers = sum(rule.kind == "numbers" for rule in self.rules)
        n_text = sum(rule.kind == "text" for rule in self.rules)
        self.check_memory(m, columns.source, limits)
        try:
            numbers = np.empty((m, n_numbers))
            codes = np.empty((m, n_text), dtype=np.int32)
        except MemoryError:
            raise DataFileError(
                f"{columns.source}: no memory for its X of {m:,} examples"
            ) from None
        numeric_rows, blocks = self.layout()
        numeric = [rule for rule in self.rules if rule.kind == "numbers"]
        for k, rule in enumerate(numeric):
            numbers[:, k] = _numbers_of(columns[rule.name], rule, columns.source)
        self.write_codes(columns, codes)
        return CompactX(numbers, codes, numeric_rows, blocks)

    def layout(self) -> tuple[list[int], list[tuple[int, int]]]:
        """Where each column's features are in X: (the row of each numeric column, (the
        first row, K) of each text column), in the rules' order."""
        numeric_rows, blocks, start = [], [], 0
        for rule in self.rules:  # rows start.. of X are this rule's features
            if rule.kind == "numbers":
                numeric_rows.append(start)
            elif rule.kind == "text":
                blocks.append((start, len(rule.categories)))
            start += len(rule.features)
        return numeric_rows, blocks

    def write_codes(self, columns: Columns, codes: np.ndarray) -> None:
        """Write each text column's codes into ``codes`` (m, text columns): the row of X
        that holds an example's 1, the column's first row + k, or -1 for none."""
        text = [rule for rule in self.rules if rule.kind == "text"]
        for c, (rule, (start, _)) in enumerate(zip(text, self.layout()[1], strict=True)):
            index = _categories_of(columns[rule.name], rule)
            codes[:, c] = np.where(index >= 0, index + start, -1)

    def unexpected(self, columns) -> dict:
        """What ``columns`` hold that the training part did not, per column:
        {"unseen": {column: count}, "missing": {column: count}}: values of a text column
        that are none of its categories (all zeros, or "(other)" where the column has
        one), and missing values (filled as in training); columns with none left out."""
        columns = columns_from(columns)
        found = {"unseen": {}, "missing": {}}
        for rule in self.rules:
            if rule.kind == "dropped" or rule.name not in columns:
                continue
            values = columns[rule.name]  # (or the MPI ranks' shares of it: shared_stats)
            if rule.kind == "numbers" and not isinstance(values, Text):
                missing, unseen = int(numbers_of(values).missing), 0
            else:
                values = _as_text(values)
                categories = set(rule.categories)
                known = np.array([c in categories for c in values.categories], dtype=bool)
                counts, missing = values.code_counts()
                unseen = int(counts[~known].sum())
            for kind, count in (("unseen", unseen), ("missing", missing)):
                if count:
                    found[kind][rule.name] = count
        return found

    def decisions(self, standardized: bool = True) -> list[tuple[str, str, str]]:
        """(column, kind, what was done), a row per column, for the printed table."""
        return [(r.name, r.kind, r.describe(standardized)) for r in self.rules]

    def to_metadata(self) -> dict:
        # vars, not dataclasses.asdict: asdict deep-copies, 50 us a rule (5 s for 100,000).
        return {"rules": [_rule_metadata(r) for r in self.rules]}

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
            ok = ok and type(rule.pooled) is int and rule.pooled >= 0
            if rule.kind == "text":
                ok = ok and rule.fill_category in (None, *rule.categories)
                ok = ok and (not rule.pooled or OTHER in rule.categories)
            if rule.kind == "numbers":
                ok = ok and isinstance(rule.fill, int | float) and np.isfinite(rule.fill)
            if not ok:
                name = raw.get("name") if isinstance(raw, dict) else None
                raise DataFileError(f"the model's rule for column {shown(name)} is damaged")
            if limits is not None:
                _within(rule, limits)
            rules.append(rule)
        return cls(rules)


def _rule_metadata(rule: ColumnRule) -> dict:
    data = {**vars(rule), "categories": list(rule.categories)}
    if not rule.pooled:  # written as before categories could be pooled
        del data["pooled"]
    return data


def _within(rule: ColumnRule, limits: Limits) -> None:
    """Refuse a rule of a model file beyond the limits it was trained with."""
    where = f"the model's rule for column {shown(rule.name)}"
    limits.check_count("max_categories", len(rule.categories), f"{where} has")
    longest = max(len(t.encode("utf-8", "replace")) for t in (rule.name, *rule.categories))
    if longest > limits.max_cell_bytes:
        raise DataFileError(
            f"{where} holds a name of {longest:,} bytes, {limits.over('max_cell_bytes')}"
        )


def _numbers_of(values, rule: ColumnRule, source: str) -> np.ndarray:
    if isinstance(values, Text):
        raise DataFileError(
            f"{source}: column {rule.name!r} was numbers in training but holds text here "
            f"(e.g. {values.categories[0]!r}); a missing-value marker? pass --na-values"
        )
    return np.where(np.isnan(values), rule.fill, values)


def _as_text(values) -> Text:
    """A text column as it is; numbers where training saw text, matched as text."""
    if isinstance(values, Text):
        return values
    strings = [None if v != v else (f"{v:g}" if v != int(v) else str(int(v))) for v in values]
    categories = sorted({s for s in strings if s is not None})
    lookup = {c: k for k, c in enumerate(categories)}
    codes = np.array([-1 if s is None else lookup[s] for s in strings], dtype=np.int32)
    return Text(codes, categories)


def _categories_of(values, rule: ColumnRule) -> np.ndarray:
    """Each row's index among the rule's categories (-1: unseen, all-zero features; or
    "(other)"'s, where rare categories were pooled)."""
    values = _as_text(values)
    position = {c: k for k, c in enumerate(rule.categories)}
    unseen = position[OTHER] if rule.pooled else -1
    mapping = [position.get(c, unseen) for c in values.categories]
    mapping = np.array([*mapping, -1], dtype=np.int64)
    index = mapping[values.codes]  # codes of -1 (missing) pick the last entry: -1
    if rule.fill_category is not None:
        index[values.codes < 0] = position[rule.fill_category]
    return index
