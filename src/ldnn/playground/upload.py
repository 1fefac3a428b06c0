"""A CSV the page uploads, and the run it describes.

The file's bytes are written into the session's own temporary folder (made by
``tempfile.mkdtemp``, mode 0700, removed when the session closes), under a name of the
session's making (``upload-N.csv``: nothing of the request is ever a path), and read
back by ldnn's own table reader (:func:`ldnn.data.table_source.read`): the bytes are
data, never code, and nothing is unpickled. A file that is not text, has no rows, fewer
than two columns or a column the reader refuses is refused with a
:class:`~ldnn.errors.DataFileError` of ``field`` "file" whose message names the column.

Training on it is ``ldnn train``'s own path (:func:`ldnn.runs.config.data_and_network`
on a [data] table naming the file, its target, the columns the page leaves out (``drop``,
as ``--drop``) and the task): with the task "auto" the target's values decide it (classes
or a regression) and the output layer, every column neither the target nor dropped is a
feature, text
columns one-hot and missing cells imputed by :class:`~ldnn.data.encoding.TableEncoding`
as they are for ``ldnn train``. The pictures lie in the plane :mod:`.plane` says.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.table_source import read, reading
from ..errors import ConfigurationError, DataFileError, LdnnError
from ..runs.config import data_and_network, resolved
from .build import DATA_FILE, Built, run_config
from .datasets import UPLOAD
from .plane import projection

#: The most examples of each part drawn as points (and the projection is fitted on).
DRAWN = 1000
#: The most inputs n[0] an upload may encode to: the pictures' grids are n[0] x 1,600
#: numbers, written out (text columns' one-hot rows too).
MAX_INPUTS = 2000


@dataclass(frozen=True)
class Upload:
    """An uploaded CSV: its number in the session, where it is kept, its columns and
    rows."""

    number: int
    path: Path
    columns: tuple
    rows: int

    def describe(self) -> dict:
        """What the page is told: the columns to choose the target from (the last one
        suggested, as ``ldnn train`` takes it by default)."""
        return {
            "upload": self.number,
            "columns": list(self.columns),
            "rows": self.rows,
            "target": self.columns[-1],
        }


def _said(problem: Exception, path: Path) -> str:
    """The reader's message with the session's folder left out (the page's name for the
    file is "the upload")."""
    return str(problem).replace(str(path), "the upload").replace(str(path.parent), "")


def reading_of(settings: dict | None) -> dict:
    """The [data] reading settings of an upload: its markers of missing cells and its
    decimal point, as the page sets them."""
    settings = settings or {}
    markers = list(settings.get("na_values", []))
    return {"na_values": markers, "decimal": settings.get("decimal", ".")}


def store(body: bytes, folder: Path, number: int, settings: dict | None = None) -> Upload:
    """Keep ``body`` as ``folder``/upload-``number``.csv and read its columns, as
    ``settings`` say to read it (:func:`reading_of`; a DataFileError of field "file" if
    it cannot be trained on, the file removed)."""
    if not body.strip():
        raise DataFileError("the upload is empty: a CSV with a header row is needed", field="file")
    utf16 = body[:2] in (b"\xff\xfe", b"\xfe\xff")
    if b"\x00" in body[:65536] and not utf16:
        raise DataFileError(
            "the upload is not a CSV: it holds binary data (NUL bytes)", field="file"
        )
    path = Path(folder) / f"upload-{number}.csv"
    path.write_bytes(body)
    try:
        columns = read(str(path), reading(reading_of(settings)))
        names, rows = list(columns.names), columns.n_rows
    except LdnnError as problem:
        path.unlink(missing_ok=True)
        raise DataFileError(_said(problem, path), field="file") from None
    except Exception as problem:  # noqa: BLE001 - a reader's surprise is the file's fault here
        path.unlink(missing_ok=True)
        raise DataFileError(
            f"the upload could not be read as a CSV ({type(problem).__name__}: "
            f"{_said(problem, path)[:200]})",
            field="file",
        ) from None
    if len(names) < 2:
        path.unlink(missing_ok=True)
        raise DataFileError(
            f"the upload has {len(names)} column ({names[0][:60]!r}): a CSV of at least a "
            "feature and a target, with a header row and commas (or ; tab |) between cells, "
            "is needed",
            field="file",
        )
    return Upload(number, path, tuple(names), rows)


def check_choice(settings: dict, upload: Upload | None) -> dict:
    """``settings`` for an upload checked against it: the upload they name is the one
    kept (0: the latest), its target is one of its columns, and so is every column left
    out (``drop``: the target never is, and at least one feature stays): ConfigurationErrors
    naming "upload", "target" and "drop"."""
    if settings["dataset"] != UPLOAD:
        return settings
    if upload is None:
        raise ConfigurationError("no CSV has been uploaded: upload one first", field="upload")
    number = settings["upload"] or upload.number
    if number != upload.number:
        raise ConfigurationError(
            f"upload {number} is no longer kept (the latest is {upload.number}): upload the "
            "file again",
            field="upload",
        )
    target = settings["target"] or upload.columns[-1]
    if target not in upload.columns:
        listed = ", ".join(repr(c) for c in upload.columns[:12])
        raise ConfigurationError(
            f"target {target[:60]!r} is not a column of the upload; its columns: {listed}",
            field="target",
        )
    unknown = [c for c in settings["drop"] if c not in upload.columns]
    if unknown:
        raise ConfigurationError(
            f"drop: {unknown[0][:60]!r} is not a column of the upload",
            field="drop",
        )
    drop = [c for c in settings["drop"] if c != target]  # (a target is never a feature)
    if len(drop) >= len(upload.columns) - 1:
        raise ConfigurationError(
            f"every column but the target {target[:60]!r} is left out: keep at least one feature",
            field="drop",
        )
    return {**settings, "upload": number, "target": target, "drop": drop}


def _dense(X) -> np.ndarray:
    return X.dense() if hasattr(X, "dense") else np.asarray(X)


def _sample(m: int, seed: int) -> np.ndarray:
    if m <= DRAWN:
        return np.arange(m)
    return np.sort(np.random.default_rng(seed).choice(m, DRAWN, replace=False))


def build_upload(settings: dict, folder: Path, upload: Upload) -> Built:
    """The run of an uploaded table: its data.csv (the upload's bytes) in ``folder``, read
    and prepared by ``ldnn train``'s path, and the network; a DataFileError naming
    "target" or "file" if the table cannot be trained on as asked."""
    source = Path(folder) / DATA_FILE
    shutil.copyfile(upload.path, source)
    table = {
        "target": settings["target"],
        "features": [],
        "drop": list(settings["drop"]),
        "task": settings["task"],
        "output": "auto",
        **reading_of(settings),
    }
    config = run_config(settings, str(source), max(1, settings["stop_after"]), table)
    try:
        raw, dataset, info, network = data_and_network(config)
    except LdnnError as problem:
        message = _said(problem, source)
        field = problem.field or ("target" if "target" in message.lower() else "file")
        raise DataFileError(message, field=field) from None
    n0 = dataset.X_train.shape[0]
    if n0 > MAX_INPUTS:
        raise DataFileError(
            f"the upload encodes to n[0] = {n0:,} inputs (text columns one-hot), more than "
            f"the playground draws ({MAX_INPUTS:,}); ldnn train takes it",
            field="file",
        )
    train = _sample(dataset.X_train.shape[1], settings["seed"])
    plane = projection(_dense(dataset.X_train[:, train]), list(dataset.feature_names))
    P_test, Y_test = np.zeros((2, 0)), np.zeros((1, 0))
    if dataset.X_test is not None:
        test = _sample(dataset.X_test.shape[1], settings["seed"] + 1)
        P_test = plane.coordinates(_dense(dataset.X_test[:, test]))
        Y_test = raw.Y_test[:1, test]
    return Built(
        resolved(config, network.hyperparameters),
        dataset,
        info,
        network,
        plane.coordinates(_dense(dataset.X_train[:, train])),
        P_test,
        raw.Y_train[:1, train],
        Y_test,
        plane,
        Path(folder),
        list(dataset.feature_names),
        train,
    )
