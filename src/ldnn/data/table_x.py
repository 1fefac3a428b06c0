"""The X of a table's training and test parts, built inside the block its file's numbers
were read into (:class:`~ldnn.data.tables.NumberBlock`), not beside it.

``encoding.encode(rows_of(columns, train))`` gives X_train a new (m_train, n_num) float64
array of numbers, X_test another: with the columns still held, the table's numbers twice
at once (640 MB at 2,000,000 rows of 20 numbers). The block is already those numbers,
an example's together as :class:`~ldnn.data.compact.CompactX` keeps them; so its rows
are put in the parts' order (train's, then test's), a column at a time, their missing
values filled as :meth:`~ldnn.data.encoding.TableEncoding.encode` fills them, the kept
columns moved to the front, and each part's numbers are a view of it. The values are
``encode``'s, bit for bit: each is the same float64, gathered and filled the same way.
"""

from __future__ import annotations

import numpy as np

from .compact import CompactX
from .encoding import TableEncoding
from .tables import Columns


def parts_in_block(encoding: TableEncoding, columns: Columns, train, test):
    """(X_train, X_test or None where ``test`` is empty) as CompactX, their numbers views
    of ``columns.block``; or None where that cannot be (no block, no text column, a
    numeric feature that is not one of the block's columns, or features in another order
    than the block's). The columns are spent: their numbers are rearranged in place."""
    block = columns.block
    numeric = [rule for rule in encoding.rules if rule.kind == "numbers"]
    if block is None or len(numeric) == len(encoding.columns):  # no text: a dense X
        return None
    values = block.values
    where = [block.index.get(rule.name) for rule in numeric]
    if None in where or values.shape[0] != columns.n_rows:
        return None
    if any(not _column_of(columns[r.name], values, j) for r, j in zip(numeric, where, strict=True)):
        return None
    if where != sorted(set(where)):  # moved to the front in place only in their order
        return None
    # The codes first: they read the text columns, which the block does not hold.
    numeric_rows, blocks = encoding.layout()
    text = columns.only([rule.name for rule in encoding.rules if rule.kind == "text"])
    codes = []
    for part in (train, test):
        part_codes = np.empty((len(part), len(blocks)), dtype=np.int32)
        encoding.write_codes(text.rows(part), part_codes)
        codes.append(part_codes)
    order = np.concatenate([train, test])
    for k, (rule, j) in enumerate(zip(numeric, where, strict=True)):
        # Column k's own values are no longer needed: each later rule's column is after j.
        column = values[order, j]  # the parts' examples, in their order (one column's copy)
        column[np.isnan(column)] = rule.fill
        values[:, k] = column
    m_train, n = len(train), len(numeric)
    X_train = CompactX(values[:m_train, :n], codes[0], numeric_rows, blocks)
    X_test = CompactX(values[m_train:, :n], codes[1], numeric_rows, blocks) if len(test) else None
    return X_train, X_test


def _column_of(values, block: np.ndarray, j: int) -> bool:
    """Whether ``values`` is column j of ``block`` (the view the reader made)."""
    return (
        isinstance(values, np.ndarray)
        and values.base is block
        and values.shape == (block.shape[0],)
        and values.strides == (block.strides[0],)
        and values.ctypes.data == block.ctypes.data + j * block.itemsize
    )
