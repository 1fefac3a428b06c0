"""On MPI ranks, a table streamed and split by hash: each rank keeps only its own rows.

With ``split = "hash"`` a row's part is a function of the row alone
(:mod:`ldnn.data.hash_split`), so a rank that read rows first, ..., first + m_r - 1 of
the file finds their parts without the others' rows. Each rank then holds only its own
rows of everything that grows with the rows (the targets, the parts' indices and keys,
the parts' X on its disk), and what is about the whole table is reduced across the ranks:

- the target's task and classes: from the ranks' distinct values (a text target's
  categories present; numbers: each rank's distinct values, or that it has more than
  :data:`~ldnn.data.files.MAX_INTEGER_CLASSES`), decided by ``encode_targets`` as for
  the whole column;
- the column rules: from the ranks' shares (:meth:`SpilledTable.shared`), as for any
  table streamed on ranks (one process's rules, exactly);
- the split's fingerprint: the SHA-256 of every row's bit (test or not), gathered on
  rank 0 (a byte a row there, once), and the counts of the parts.

Rank r's parts are its rows in the file's order, so the ranks' parts one after another
are one process's parts of the same split: P ranks train on one process's examples in
one process's order. The data set says so (``Dataset.ranks``): what is computed over a
whole part (the standardisation's statistics, the scores, the test cost) is then summed
across the ranks.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataFileError
from ..io import arrays_sha256
from .datasets import Dataset
from .encoding import TableEncoding
from .files import MAX_INTEGER_CLASSES, encode_targets
from .hash_split import check_training_part, column_keys, held_out, row_keys
from .limits import Limits, shown, shown_names
from .rules import check_markers
from .tables import Text


def local_dataset(source: str, data: dict, task, how: dict, spilled, read_as: str, names):
    """The :class:`Dataset` of this rank's rows of the spilled table (see the module):
    ``names`` = (target, features). Every rank calls it at once."""
    target, features = names
    ranks, first = spilled.ranks, spilled.first
    Y, task, classes = _targets(spilled, target, task)
    test_split, split_seed = data["test_split"], data["split_seed"]
    key = data.get("split_key") or ""
    if key and key not in spilled.names:
        raise DataFileError(
            f"{source}: no split key column {shown(key)}; columns: {shown_names(spilled.names)}"
        )
    keys = (
        row_keys(first, spilled.m)
        if not key
        else column_keys(spilled.column(key, here=True), key, source, first)
    )
    held = held_out(keys, test_split, split_seed)
    train, test = np.flatnonzero(~held), np.flatnonzero(held)
    counts = ranks.allgather((len(train), len(test)))
    totals = (sum(c[0] for c in counts), sum(c[1] for c in counts))
    check_training_part(totals[0], spilled.rows_total, test_split)
    before = counts[: ranks.Get_rank()]
    offsets = (sum(c[0] for c in before), sum(c[1] for c in before))
    drop, keep = data.get("drop") or (), data.get("keep") or ()
    check_markers(spilled.shared(features), drop, keep)
    encoding = TableEncoding.fit(
        spilled.shared(features, train, offsets[0]),
        drop=drop,
        keep=keep,
        impute=data.get("impute") or "median",
        missing=data.get("missing") or "category",
        limits=Limits.of(how),
        min_count=data.get("min_category_count") or 1,
    )
    unexpected = None
    if totals[1]:
        unexpected = encoding.unexpected(spilled.shared(features, test, offsets[1]))
    split = {
        "test_split": test_split,
        "split_seed": split_seed,
        "rows": spilled.rows_total,
        "stratified": False,
        "sha256": _fingerprint(ranks, held),
        "method": "hash",
        "key": key,
    }
    parts = (
        spilled.part(encoding, train, here=True),
        Y[:, train],
        spilled.part(encoding, test, here=True) if totals[1] else None,
        Y[:, test] if totals[1] else None,
    )
    return Dataset.of_table(
        source,
        parts,
        encoding,
        task=task,
        classes=classes,
        target=target,
        reading=how,
        split=split,
        test_unexpected=unexpected,
        read_as=read_as,
        train_keys=keys[train],
        ranks=ranks,
        totals=totals,
    )


def _targets(spilled, target: str, task):
    """(Y of this rank's rows (n[L], m_r), the task, the classes): as ``encode_targets``
    makes them of the whole column, from the ranks' distinct values."""
    ranks, source = spilled.ranks, spilled.source
    values = spilled.column(target, here=True)
    text = isinstance(values, Text)
    missing = values.codes < 0 if text else np.isnan(values)
    said = ranks.allgather(
        (spilled.first + int(np.argmax(missing)), int(missing.sum())) if missing.any() else None
    )
    if any(said):
        row, _ = min(s for s in said if s)
        total = sum(s[1] for s in said if s)
        raise DataFileError(
            f"{source}: target column {shown(target)} is missing in data row {row + 1} "
            f"({total} rows in all)"
        )
    classes = None
    if text:  # the categories present on any rank, as strings
        codes = np.unique(np.concatenate(ranks.allgather(np.unique(values.codes))))
        distinct = np.array([values.categories[c] for c in codes], dtype=object)
        _, task, classes = encode_targets(distinct, task=task, source=source)
        values = values.strings()
    elif task != "regression":  # each rank's distinct numbers, unless too many for classes
        here = np.unique(values)
        wanted = task == "classification" or len(here) <= MAX_INTEGER_CLASSES
        every = ranks.allgather((here if wanted else None, bool((here == np.round(here)).all())))
        if task == "classification" or all(u is not None and whole for u, whole in every):
            distinct = np.unique(np.concatenate([u for u, _ in every]))
            _, task, classes = encode_targets(distinct, task=task, source=source)
        else:  # more distinct numbers than classes have, or not whole numbers
            task = "regression"
    Y, task, classes = encode_targets(values, task=task, classes=classes, source=source)
    return (Y[:, None] if Y.ndim == 1 else Y).T, task, classes  # (a rank may have no rows)


def _fingerprint(ranks, held: np.ndarray) -> str:
    """The SHA-256 of every row's bit (held out or not), as one process makes it of the
    whole split: the bits gathered on rank 0, which tells the others."""
    every = ranks.gather(held, root=0)
    digest = arrays_sha256(np.packbits(np.concatenate(every))) if every is not None else None
    return ranks.bcast(digest, root=0)
