"""A table (CSV, Parquet) as training data, and as data for a model trained on one.

For training: the columns are read, the target column's values become class indices or
regression targets, the rows are split into training and test parts (stratified by
class for classification), the :class:`~ldnn.data.encoding.TableEncoding` is fitted on
the training part alone and turns both parts into X. What the model must remember (how
the file was read, the rules of every column, the split) goes into its description.
X is the notes' (n[0], m); a table with text columns gives a
:class:`~ldnn.data.compact.CompactX`, its one-hot rows kept as codes.

For a model: the file is read as in training, its columns are found by name and encoded
by the model's rules (and what they hold that training did not, counted); with
``part="test"`` (or "train") on the file the model was trained on, the same split gives
the same rows.

A file whose whole read would not fit in memory (or is asked to, [data] ``stream``) is
streamed from disk instead (:mod:`ldnn.data.table_spill`): the same rules, split and X,
bit for bit, its numbers read a mini-batch at a time (:func:`how_to_read` decides).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..base.memory import give_back_memory
from ..errors import ConfigurationError, DataChangedWarning, DataFileError
from ..io import arrays_sha256, file_sha256
from .datasets import Dataset
from .encoding import TableEncoding
from .files import encode_targets
from .hash_split import SPLIT_METHODS, check_training_part, column_keys, held_out, row_keys
from .limits import LIMITS, Limits, available_memory, format_size, shown, shown_names
from .rules import check_markers
from .split import split_indices
from .table_files import whole_read_need
from .table_local import local_dataset
from .table_spill import reading_ranks, spill
from .table_x import parts_in_block
from .tables import Columns, Text, read_columns

#: The [data] keys that say how a table is read, and their defaults: the file's format,
#: and the limits of what it may ask for (:mod:`ldnn.data.limits`).
READING = {
    "delimiter": "",
    "encoding": "",
    "na_values": [],
    "decimal": ".",
    **{key: limit.default for key, limit in LIMITS.items()},
}


#: The [data] ``stream`` setting's values (``--stream``).
STREAM_SETTINGS = ("auto", "on", "off")


def reading(data: dict, info: dict | None = None) -> dict:
    """How to read the table: the [data] table's settings, else those of training (the
    limits as whole numbers, checked)."""
    remembered = (info or {}).get("read", {})
    how = {k: data.get(k) or remembered.get(k) or default for k, default in READING.items()}
    return how | Limits.of(how).settings()


def read(source: str, how: dict) -> Columns:
    return read_columns(
        source,
        delimiter=how["delimiter"] or None,
        encoding=how["encoding"] or None,
        na_values=how["na_values"],
        decimal=how["decimal"],
        limits=Limits.of(how),
    )


def target_values(columns: Columns, target: str) -> np.ndarray:
    """The target column as numbers (float64) or strings (object), none missing."""
    values = columns[target]
    missing = values.codes < 0 if isinstance(values, Text) else np.isnan(values)
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise DataFileError(
            f"{columns.source}: target column {shown(target)} is missing in data row {row} "
            f"({int(missing.sum())} rows in all)"
        )
    return values.strings() if isinstance(values, Text) else values


def _split_settings(data: dict) -> tuple[float, int]:
    test_split, split_seed = data.get("test_split", 0.2), data.get("split_seed", 0)
    if (
        isinstance(test_split, bool)
        or not isinstance(test_split, int | float)
        or not (0 <= test_split < 1)
    ):
        raise ConfigurationError(f"--test-split must lie in [0, 1), got {test_split!r}")
    if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise ConfigurationError(f"--split-seed must be a whole number >= 0, got {split_seed!r}")
    return float(test_split), split_seed


def _split_method(data: dict) -> tuple[str, str]:
    """(the split's method, its key column or ""), checked."""
    method, key = data.get("split") or "shuffle", data.get("split_key") or ""
    if method not in SPLIT_METHODS:
        raise ConfigurationError(
            f"--split must be one of {', '.join(SPLIT_METHODS)}, got {method!r}", field="split"
        )
    if not isinstance(key, str):
        raise ConfigurationError(f"--split-key must name a column, got {key!r}", field="split_key")
    if key and method != "hash":
        raise ConfigurationError(
            f"--split-key {key!r} keys a hash split: it needs --split hash, got {method!r}",
            field="split_key",
        )
    return method, key


def split_rows(
    data: dict, Y, task: str, columns: Columns | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(training rows, test rows, what the model remembers of the split): by default
    seeded and stratified by class for classification; with ``split = "hash"`` each
    row's part from a hash of its row number, or of its value in ``columns``'
    ``split_key`` column (:mod:`ldnn.data.hash_split`), each part in the file's order."""
    test_split, split_seed = _split_settings(data)
    method, key = _split_method(data)
    m = Y.shape[-1]
    stratify = Y.reshape(-1) if task == "classification" and method == "shuffle" else None
    if method == "hash":
        held = held_out(_split_keys(columns, key, m), test_split, split_seed)
        train, test = np.flatnonzero(~held), np.flatnonzero(held)
        check_training_part(train.size, m, test_split)
    else:
        train, test = split_indices(
            m, test_split, split_seed, stratify=stratify, name="--test-split"
        )
    split = {
        "test_split": test_split,
        "split_seed": split_seed,
        "rows": m,
        "stratified": stratify is not None,
        # (as int64 whatever the platform's index type; no copy where it is int64 already)
        "sha256": arrays_sha256(np.asarray(train, np.int64), np.asarray(test, np.int64)),
    }
    if method == "hash":  # (its fingerprint: the bit of each row, as ranks can make it)
        split |= {"method": "hash", "key": key, "sha256": arrays_sha256(np.packbits(held))}
    return train, test, split


def remembered_split(split: dict) -> dict:
    """The [data] settings that make again the split a model remembers (``split_rows``'
    third value): its fraction and seed, and its method and key where it was hashed."""
    return {**split, "split": split.get("method") or "shuffle", "split_key": split.get("key", "")}


def train_keys(data: dict, train: np.ndarray, m: int, columns: Columns | None = None):
    """The hash split's keys of the training rows ``train`` (by which ``ldnn train`` holds
    its validation part out too), or None for the shuffled split."""
    method, key = _split_method(data)
    return None if method != "hash" else _split_keys(columns, key, m)[train]


def _split_keys(columns: Columns | None, key: str, m: int) -> np.ndarray:
    """The hash split's keys of the m rows: their numbers, or their ``key`` column's values."""
    if not key:
        return row_keys(0, m)
    if columns is None:
        raise ConfigurationError(
            f"--split-key {key!r} names a column: it needs a table with named columns",
            field="split_key",
        )
    if key not in columns:
        raise DataFileError(
            f"{columns.source}: no split key column {shown(key)}; columns: "
            f"{shown_names(columns.names)}"
        )
    return column_keys(columns[key], key, columns.source)


def how_to_read(source: str, data: dict, how: dict) -> tuple[bool, str]:
    """(whether to stream the table from disk, a line for the output saying why): the
    [data] ``stream`` setting, and with "auto" (its default) whether reading the file
    whole would take more memory than this process has, or than ``max_memory`` allows a
    whole read (:mod:`ldnn.data.table_spill`)."""
    setting = data.get("stream") or "auto"
    if setting not in STREAM_SETTINGS:
        raise ConfigurationError(
            f"--stream must be one of {', '.join(STREAM_SETTINGS)}, got {setting!r}",
            field="stream",
        )
    if setting == "off":
        return False, "read whole into memory (--stream off)"
    if setting == "on":
        return True, "streamed from disk (--stream on)"
    try:
        need = whole_read_need(Path(source), how["delimiter"] or None, how["encoding"] or None)
    except (OSError, LookupError, ValueError):  # the whole read says what is wrong
        return False, ""
    room, limit = available_memory(), Limits.of(how).max_memory
    sizes = f"a whole read takes about {format_size(need)}, this process has {format_size(room)}"
    if need > room:
        return True, f"streamed from disk: {sizes} (--stream off reads it whole)"
    if need > limit:  # a whole read would be refused: the stream keeps within the limit
        over = f"over --max-memory's {format_size(limit)}"
        return True, f"streamed from disk: a whole read takes about {format_size(need)}, {over}"
    return False, f"read whole into memory: {sizes} (--stream on streams it from disk)"


def table_for_training(source: str, data: dict, task: str | None) -> Dataset:
    """The training and test parts of a table file, encoded (see the module docstring)."""
    how = reading(data)
    streamed, read_as = how_to_read(source, data, how)
    ranks = reading_ranks()
    if ranks is not None and ranks.Get_size() > 1:  # all ranks read it one way (together)
        votes = ranks.allgather(streamed)
        if any(votes) and not streamed:
            rank = votes.index(True)
            streamed, read_as = (
                True,
                f"streamed from disk: rank {rank} has not the memory to read it whole",
            )
    spilled = spill(source, how, Limits.of(how), comm=ranks) if streamed else None
    if spilled is not None and spilled.ranks is not None:
        counts = ", ".join(f"{n:,}" for n in spilled.counts)
        read_as += f"; {len(spilled.counts)} ranks, each read its share of the rows: {counts}"
    try:
        return _table_for_training(source, data, task, how, spilled, read_as)
    finally:
        if spilled is not None:
            spilled.close()
            give_back_memory()  # what reading and preparing a block at a time left free


def _table_for_training(source, data, task, how, spilled, read_as) -> Dataset:
    columns = read(source, how) if spilled is None else spilled.columns
    target = data.get("target") or columns.names[-1]
    if target not in columns:
        raise DataFileError(
            f"{source}: no target column {shown(target)}; columns: {shown_names(columns.names)}"
        )
    features = data.get("features") or [n for n in columns.names if n != target]
    unknown = [n for n in features if n not in columns]
    if unknown:
        raise DataFileError(
            f"{source}: no feature column {shown(unknown[0])}; columns: "
            f"{shown_names(columns.names)}"
        )
    if target in features:
        raise DataFileError(f"{source}: the target column {target!r} cannot be a feature too")
    ranks = None if spilled is None else spilled.ranks
    if ranks is not None and _split_method(data)[0] == "hash" and data.get("impute") != "mean":
        # Each row's part is its own: each rank keeps only the rows it read.
        test_split, split_seed = _split_settings(data)
        settings = {**data, "test_split": test_split, "split_seed": split_seed}
        read_as += "; each keeps its own rows (--split hash)"
        return local_dataset(source, settings, task, how, spilled, read_as, (target, features))
    Y, task, classes = encode_targets(target_values(columns, target), task=task, source=source)
    Y = Y.reshape(len(Y), -1).T  # the notes' layout: (n[L], m)
    train, test, split = split_rows(data, Y, task, columns)
    keys = train_keys(data, train, Y.shape[-1], columns)
    table = columns.only(features)
    drop, keep = data.get("drop") or (), data.get("keep") or ()
    # On MPI ranks the rules are fitted from the ranks' shares (exactly one process's);
    # the mean of impute "mean" is a sum in the training part's order: gathered.
    shared = spilled is not None and spilled.ranks is not None and data.get("impute") != "mean"
    whole = spilled.shared(features) if shared else table
    check_markers(whole, drop, keep)  # before the split: its rows are the file's
    limits = Limits.of(how)
    encoding = TableEncoding.fit(
        spilled.shared(features, train) if shared else rows_of(table, train),
        drop=drop,
        keep=keep,
        impute=data.get("impute") or "median",
        missing=data.get("missing") or "category",
        limits=limits,
        min_count=data.get("min_category_count") or 1,
    )
    if spilled is None:  # (streamed, X is on disk)
        encoding.check_memory(table.n_rows, source, limits)
    test_columns = spilled.shared(features, test) if shared else rows_of(table, test)
    unexpected = encoding.unexpected(test_columns) if test.size else None
    # Y's parts before X's: a target of numbers may be a view of the block X is built in.
    Y_train, Y_test = Y[:, train], (Y[:, test] if test.size else None)
    # Each part's X, the notes' (n[0], m), from the file's rows: no X of all rows to split;
    # with text columns, in the block the file's numbers were read into (which spends
    # the table's columns: nothing reads them after this).
    if spilled is not None:
        parts = (spilled.part(encoding, train), spilled.part(encoding, test) if test.size else None)
    else:
        parts = parts_in_block(encoding, table, train, test)
    if parts is None:
        X_train = encoding.encode(rows_of(table, train), limits=limits)
        X_test = encoding.encode(rows_of(table, test), limits=limits) if test.size else None
    else:
        X_train, X_test = parts
    del table, columns
    return Dataset.of_table(
        source,
        (X_train, Y_train, X_test, Y_test),
        encoding,
        task=task,
        classes=classes,
        target=target,
        reading=how,
        split=split,
        test_unexpected=unexpected,
        read_as=read_as,
        train_keys=keys,
    )


class _Rows(Mapping):
    """The columns of a table at some rows, each taken when it is asked for."""

    def __init__(self, data, rows):
        self.data, self.rows = data, rows

    def __getitem__(self, name):
        return self.data[name][self.rows]

    def __contains__(self, name) -> bool:
        return name in self.data

    def __iter__(self):
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def rows_of(table: Columns, rows) -> Columns:
    """``table.rows(rows)`` without its copy: each column is taken at ``rows`` when read
    (the rules and the encoding read a column at a time, so a part of a large table is
    never held twice)."""
    return Columns(_Rows(table.data, rows), table.source)


def file_dataset(source: str, X, Y, train, test, **fields) -> Dataset:
    """The :class:`Dataset` of a file's X (n[0], m) and Y (n[L], m), split into the
    columns ``train`` and ``test``."""
    return Dataset(
        Path(source).name,
        X[:, train],
        Y[:, train],
        X[:, test] if test.size else None,
        Y[:, test] if test.size else None,
        source=str(Path(source).resolve()),
        sha256=file_sha256(source),
        **fields,
    )


def table_for_model(source: str, info: dict, data: dict, *, need_target: bool, part=None):
    """(X of shape (n[0], m) before standardisation, Y or None, the columns read, what
    they hold that training did not: :meth:`TableEncoding.unexpected`'s counts)."""
    how = reading(data, info)
    streamed, _ = how_to_read(source, data, how)
    spilled = spill(source, how, Limits.of(how)) if streamed else None
    columns = read(source, how) if spilled is None else spilled.columns
    encoding = None
    if "columns" in info:
        encoding = TableEncoding.from_metadata(info["columns"])
        if spilled is None:
            X = encoding.encode(columns, limits=Limits.of(how))
        else:  # on disk, read a block of examples at a time
            X = spilled.part(encoding, np.arange(spilled.m))
    else:  # a model from before the column rules: its features are columns of numbers
        X = _numbers(columns, info["feature_names"]).T
    target = data.get("target") or info.get("target")
    Y = None
    if (need_target or part in ("train", "test")) and target and target in columns:
        task = info["task"]
        classes = info.get("classes") if task == "classification" else None
        Y, _, _ = encode_targets(
            target_values(columns, target), task=task, classes=classes, source=source
        )
        Y = Y.reshape(len(Y), -1).T
    if part in ("train", "test"):
        rows = _part(source, info, Y, part, columns)
        X, columns = X[:, rows], columns.rows(rows)
        Y = None if Y is None else Y[:, rows]
    unexpected = None if encoding is None else encoding.unexpected(columns)
    return X, Y, columns, unexpected


def _part(source: str, info: dict, Y, part: str, columns: Columns) -> np.ndarray:
    """The rows of ``part`` of the split the model was trained with, on the same file (on
    any file with the key column, where the split hashed a key: each row's part is its
    key's, however the rows were added to or reordered)."""
    split, trained_on = info.get("split"), Path(info.get("source") or "")
    if Y is None:
        raise DataFileError(f"--part {part}: {source} has no target column to split it by")
    keyed = bool(split) and bool(split.get("key"))
    same = (
        keyed
        or Path(source).resolve() == trained_on.resolve()
        or (
            Path(source).name == trained_on.name
            and bool(split)
            and split.get("rows") == Y.shape[-1]
        )
    )
    if not split or not same:
        raise DataFileError(
            f"--part {part}: {source} is not the file the model was trained on "
            f"({info.get('source') or 'unknown'}), so it has no {part} part"
        )
    if not keyed:
        warn_if_changed(source, info, part)
    train, test, _ = split_rows(remembered_split(split), Y, info["task"], columns)
    return test if part == "test" else train


def warn_if_changed(source: str, info: dict, part: str) -> None:
    """Warn when the file's bytes differ from those the model was trained on: its
    ``part`` part is then not the rows the model was trained or tested with."""
    trained = info.get("sha256")
    if trained and file_sha256(source) != trained:
        used = "tested" if part == "test" else "trained"
        warnings.warn(
            f"{source} has changed since the model was trained on it (its SHA-256 differs): "
            f"its {part} part is not the rows the model was {used} with",
            DataChangedWarning,
            stacklevel=2,
        )


def _numbers(columns: Columns, names: list[str]) -> np.ndarray:
    missing = [n for n in names if n not in columns]
    if missing:
        raise DataFileError(f"{columns.source}: no column {missing[0]!r}, which the model needs")
    for name in names:
        values = columns[name]
        if isinstance(values, Text) or np.isnan(values).any():
            raise DataFileError(
                f"{columns.source}: column {name!r} must hold numbers with none missing "
                "(this model was saved before ldnn encoded text and missing values)"
            )
    return np.column_stack([columns[n] for n in names])
