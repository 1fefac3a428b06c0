"""A table file read into :class:`~ldnn.data.tables.Columns` a batch of rows at a time.

Read whole, a file is first Arrow's table (its numbers, their validity, its text's
codes), then ldnn's columns beside it: at 2,000,000 rows of 20 numbers, 1.3 GiB at the
peak for 336 MB of float64 columns. Here each batch's numbers are written at once into
one (m, k) float64 array, an example's numbers together as the notes' X keeps them
(:class:`~ldnn.data.tables.NumberBlock`), and each batch's text keeps only its codes
(4 bytes a row) and its batch's distinct values until the column is whole; then the
text columns are made as a whole table's are (``tables.text_column``), so that the
categories, their order and the codes are the same.

The stream reads only what it can read as the whole-table path would: columns of
numbers and text, the types of the first block (pyarrow's streaming reader fixes
them there) holding in every later one. Anything else (a later block that does not fit
those types, a cell across lines that a block cuts, dates, a header or a first block
with something to say about it) gives None, and the file is read whole, as before, which
then says what is wrong with it: the errors are that path's, word for word.
"""

from __future__ import annotations

import numpy as np

from .arrow import arrow, cell_kind, is_text

#: How much more room than the rows a CSV file's head promises is set aside at first
#: (only what is written takes memory: the rest of an empty array is never touched).
_ROOM = 1.25


def read_batches(schema, batches, rows: int):
    """(the numbers (m, k) float64, the schema's position of each of their k columns,
    the text columns {position: a ChunkedArray}) of a file's record ``batches`` (about
    ``rows`` of them), or None where the stream cannot read it (see the module)."""
    pa = arrow()
    kinds = [_kind(pa, kind) for kind in schema.types]
    if None in kinds or not kinds:
        return None
    numeric = [i for i, kind in enumerate(kinds) if kind == "numbers"]
    pieces = {i: [] for i, kind in enumerate(kinds) if kind == "text"}
    values = np.empty((int(rows * _ROOM) + 1024, len(numeric)))
    m = 0
    try:
        for batch in batches:
            n = batch.num_rows
            if batch.schema.types != schema.types:
                return None
            if m + n > values.shape[0]:  # in place where it can (realloc), not a copy
                grown = max(m + n, int(values.shape[0] * 1.5) + 1024)
                values.resize((grown, len(numeric)), refcheck=False)
            for k, i in enumerate(numeric):
                # As a whole table's column is converted (tables._numbers): cast to float64
                # (whole numbers beyond 2**53 refuse it), NaN where missing.
                column = batch.column(i).cast(pa.float64())
                values[m : m + n, k] = column.to_numpy(zero_copy_only=False)
            for i, kept in pieces.items():
                kept.append(batch.column(i))
            m += n
    except MemoryError:
        raise
    except Exception:  # a block the first one's types do not fit, a cell cut, ...
        return None
    if m == 0:
        return None
    values.resize((m, len(numeric)), refcheck=False)  # the room not used given back
    text = {}
    for i, kept in pieces.items():
        column = pa.chunked_array(kept, schema.types[i])
        if pa.types.is_dictionary(column.type):
            column = column.unify_dictionaries()  # one dictionary for all its batches
        text[i] = column
    # Arrow's allocator keeps what the batches took for its next ones; there are none.
    pa.default_memory_pool().release_unused()
    return values, numeric, text


def _kind(pa, kind) -> str | None:
    """What the stream reads a column of Arrow type ``kind`` as: "numbers", or "text"
    (strings, or codes into strings); None for the rest, which the whole-table path reads."""
    if pa.types.is_dictionary(kind):
        return "text" if is_text(pa, kind.value_type) else None
    if is_text(pa, kind):
        return "text"
    return "numbers" if cell_kind(pa, kind) == "numbers" else None
