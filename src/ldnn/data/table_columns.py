"""The columns of a :class:`~ldnn.data.table_spill.SpilledTable`, each read from disk when
it is asked for: whole (on MPI ranks, gathered from the ranks' shares), this rank's own
rows (``here``), or as what the column rules ask of the whole column, answered from the
ranks' shares (:mod:`ldnn.data.shared_stats`) without any column travelling whole."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .shared_stats import SharedNumbers, SharedText


class OnDisk(Mapping):
    """Some columns of a spilled table (at some rows), each read when asked for; with
    ``here``, of this rank's own rows."""

    def __init__(self, table, names, rows=None, here: bool = False):
        self.table, self.names, self.rows, self.here = table, list(names), rows, here

    def __getitem__(self, name):
        if name not in self.names:
            raise KeyError(name)
        values = self.table.column(name, self.here)
        return values if self.rows is None else values[self.rows]

    def __contains__(self, name) -> bool:
        return name in self.names

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def only(self, names) -> OnDisk:
        return OnDisk(self.table, names, self.rows, self.here)

    @property
    def n_rows(self) -> int:
        """The rows these columns have (no column is read to say so)."""
        if self.rows is not None:
            return len(self.rows)
        return self.table.m if self.here else self.table.rows_total

    def is_text(self, name: str) -> bool:
        """Whether column ``name`` is text (a Text when read), without reading it."""
        if name not in self.names:
            raise KeyError(name)
        table = self.table
        return name not in table.number_index and name not in table.as_numbers

    def at(self, rows) -> OnDisk:
        """The same columns at ``rows`` (of these rows)."""
        rows = rows if self.rows is None else self.rows[rows]
        return OnDisk(self.table, self.names, rows, self.here)


class Shared(OnDisk):
    """Columns of a spilled table read on MPI ranks as
    :class:`~ldnn.data.shared_stats.SharedNumbers` or ``SharedText``: this rank's rows
    of them (those of ``rows`` it read, in ``rows``' order; with ``offset``, ``rows``
    are this rank's own, at ``offset``, ``offset`` + 1, ... of the whole), the ranks
    answering together."""

    def __init__(self, table, names, rows=None, offset: int | None = None):
        super().__init__(table, names, rows, here=offset is not None)
        self.offset = offset

    def __getitem__(self, name):
        if name not in self.names:
            raise KeyError(name)
        table, first = self.table, self.table.first
        if self.offset is not None:
            local, positions = self.rows, self.offset + np.arange(len(self.rows))
        elif self.rows is None:
            local, positions = slice(None), first + np.arange(table.m)
        else:  # (positions: where this rank's rows are among ``rows``)
            positions = np.flatnonzero((self.rows >= first) & (self.rows < first + table.m))
            local = self.rows[positions] - first
        values = table._local(name)[local]
        if name in table.number_index or name in table.as_numbers:
            return SharedNumbers(values, table.ranks)
        categories, number_like = table.categories[name], table.number_like[name]
        return SharedText(values, categories, number_like, table.ranks, positions)

    def only(self, names) -> Shared:
        return Shared(self.table, names, self.rows, self.offset)

    def at(self, rows) -> Shared:
        if self.offset is None:
            return Shared(self.table, self.names, rows if self.rows is None else self.rows[rows])
        # (rows among this rank's own: their offset is the rows the ranks before keep)
        kept = self.rows[rows]
        before = self.table.ranks.allgather(len(kept))[: self.table.ranks.Get_rank()]
        return Shared(self.table, self.names, kept, sum(before))
