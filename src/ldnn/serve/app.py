"""A trained model's answers to the requests of MLflow's scoring protocol, without the
sockets: what :mod:`ldnn.serve.server` hands over (a path, a content type, a body) in,
an :class:`Answer` (a status and a JSON document) out.

Predictions take ``ldnn predict``'s own path: a body becomes the CSV file ``ldnn
predict`` would read (a CSV body as it is, a JSON body by :mod:`ldnn.serve.formats`),
:func:`ldnn.data.sources.load_for_model` reads it with the model's column rules and
standardisation, and :func:`ldnn.runs.predictions.predicted` says what the model makes
of it; so a request and ``ldnn predict`` on the same rows agree, and a request is held
to the limits a file is (:mod:`ldnn.data.limits`). The file lives in a private folder
for the time of its request.

Errors are MLflow's: ``{"error_code": "BAD_REQUEST", "message": "..."}``, one line
naming the field, the row or the column, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..data.encoding import TableEncoding
from ..data.limits import format_size
from ..data.sources import load_for_model
from ..errors import LdnnError
from ..runs.predictions import model_info, predicted
from .formats import csv_of_rows, table_of_json

#: The content types /invocations takes (a charset parameter aside).
CONTENT_TYPES = ("application/json", "text/csv")
#: A JSON body's rows, written as a CSV file, are read as this (whatever the model's
#: own file was: its delimiter and decimal point).
JSON_AS_CSV = {"delimiter": ",", "decimal": ".", "encoding": "utf-8"}


@dataclass
class Answer:
    """An HTTP answer: its status and its JSON document."""

    status: int
    document: dict | list
    headers: dict = field(default_factory=dict)

    def body(self) -> bytes:
        return json.dumps(self.document, ensure_ascii=False).encode("utf-8")


def error(status: int, code: str, message: str, **headers) -> Answer:
    """MLflow's error document: ``{"error_code": code, "message": message}``."""
    return Answer(status, {"error_code": code, "message": message}, headers)


class ServedModel:
    """A model and what serving it needs: its description, and a private folder for
    the files of requests under way.

    Parameters
    ----------
    network : DeepNetwork
        A trained network, loaded from its model file.
    name : str
        How the model is named in answers (the MODEL argument).
    threshold : float, optional
        Two classes: predict the second where its probability is at least this.
    max_rows : int
        The most rows one request may hold.
    """

    def __init__(self, network, name: str, *, threshold=None, max_rows: int = 100_000):
        self.network, self.name = network, name
        self.info = model_info(network)
        self.threshold, self.max_rows = threshold, max_rows
        # One prediction before the first request: a threshold the model cannot take is
        # refused now, and a GPU model's device copy of its parameters is made here,
        # once, instead of by the first requests at the same time.
        self.outputs = predicted(
            network, np.zeros((network.layer_dims[0], 1)), self.info, threshold
        )[0]
        self.metadata = describe(network, self.info, name, self.outputs)
        self.folder = Path(tempfile.mkdtemp(prefix="ldnn-serve-"))  # mode 0700

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the endpoints ---------------------------------------------------------------
    def get(self, path: str) -> Answer:
        """GET /ping, /health, /version or /metadata."""
        if path in ("/ping", "/health"):
            return Answer(200, {"status": "ok"})
        if path == "/version":
            return Answer(200, {"ldnn": __version__})
        if path == "/metadata":
            return Answer(200, self.metadata)
        return self.missing(path)

    def missing(self, path: str) -> Answer:
        return error(404, "ENDPOINT_NOT_FOUND", f"no endpoint {path[:200]!r}; see GET /metadata")

    def invocations(self, content_type: str, body: bytes) -> Answer:
        """POST /invocations: predictions for the rows of ``body``."""
        kind, charset = media_type(content_type)
        if kind not in CONTENT_TYPES:
            return unsupported(content_type)
        try:
            if kind == "text/csv":
                reading = {"encoding": charset} if charset else {}
                return self._predict(body, reading)
            try:
                document = json.loads(body.decode(charset or "utf-8"), parse_constant=_refuse)
            except (UnicodeDecodeError, LookupError, ValueError) as problem:
                return error(400, "MALFORMED_REQUEST", f"the body is not JSON: {_line(problem)}")
            names, rows = table_of_json(document)
            if len(rows) > self.max_rows:
                return self._too_many(len(rows))
            return self._predict(csv_of_rows(names, rows).encode("utf-8"), JSON_AS_CSV)
        except MemoryError:
            return error(413, "REQUEST_LIMIT_EXCEEDED", "no memory for this request's rows")
        except LdnnError as problem:
            return error(400, "BAD_REQUEST", str(problem))

    # -- predictions ----------------------------------------------------------------
    def _predict(self, csv: bytes, reading: dict) -> Answer:
        """Predictions for a CSV file's rows, read as ``ldnn predict`` reads a file."""
        handle, path = tempfile.mkstemp(suffix=".csv", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(csv)
            try:
                # A request's rows are read whole: its body is bounded (--max-body), and
                # a request streamed through the disk would only be slower.
                reading = {**reading, "stream": "off"}
                data = load_for_model(path, self.info, reading, need_target=False)
            except LdnnError as problem:  # say "the request" where it says the file
                raise type(problem)(str(problem).replace(path, "the request")) from None
        finally:
            os.unlink(path)
        m = data.X.shape[1]
        if m > self.max_rows:
            return self._too_many(m)
        header, labels, values = predicted(self.network, data.X, self.info, self.threshold)
        document = {"predictions": predictions_document(header, labels, values)}
        unexpected = data.unexpected or {}
        if unexpected.get("unseen") or unexpected.get("missing"):
            document["warnings"] = {
                "unseen_categories": unexpected.get("unseen") or {},
                "missing_values": unexpected.get("missing") or {},
            }
        return Answer(200, document)

    def _too_many(self, m: int) -> Answer:
        return error(
            413,
            "REQUEST_LIMIT_EXCEEDED",
            f"the request holds {m:,} rows, more than this server takes ({self.max_rows:,}; "
            "ldnn serve --max-rows raises it)",
        )


def predictions_document(header: list[str], labels, values: np.ndarray) -> list:
    """MLflow's "predictions": a record per row of the columns ``ldnn predict`` writes
    (the class and each ``p_<class>``); a regression of one output, its values."""
    if labels is None and len(header) == 1:
        return values[:, 0].tolist()
    rows = values.tolist()
    if labels is None:
        return [dict(zip(header, row, strict=True)) for row in rows]
    return [
        dict(zip(header, (label, *row), strict=True))
        for label, row in zip(labels, rows, strict=True)
    ]


def describe(network, info: dict, name: str, outputs: list[str]) -> dict:
    """GET /metadata: the model's inputs (each column's name and kind), what it
    predicts, its layers, and what identifies the data it was trained on."""
    inputs, ignored = [], []
    if "columns" in info:
        for rule in TableEncoding.from_metadata(info["columns"]).rules:
            if rule.kind == "dropped":
                ignored.append({"name": rule.name, "reason": rule.reason})
            elif rule.kind == "numbers":
                inputs.append({"name": rule.name, "type": "number"})
            else:
                inputs.append(
                    {"name": rule.name, "type": "category", "categories": list(rule.categories)}
                )
    else:  # a model of arrays, or from before the column rules: a column per feature
        inputs = [{"name": n, "type": "number"} for n in info["feature_names"]]
    provenance = network.metadata.get("provenance") or {}
    data = provenance.get("data") or {}
    source = info.get("source") or data.get("source") or ""
    described = {
        "model": name,
        "run": network.metadata.get("run"),
        "task": info["task"],
        "inputs": inputs,
        "ignored_columns": ignored,
        "outputs": outputs,
        "layer_dims": list(network.layer_dims),
        "activations": list(network.hyperparameters.activations),
        "ldnn_version": __version__,
        "trained_with_ldnn": provenance.get("ldnn"),
        # The file's name only: where it lay on the training machine is not the
        # clients' business.
        "data_source": Path(source).name if source else None,
        "data_sha256": info.get("sha256") or data.get("sha256"),
    }
    if info["task"] == "classification":
        described["classes"] = list(info["classes"])
    else:
        described["target"] = info.get("target")
    return described


def media_type(content_type: str) -> tuple[str, str]:
    """("text/csv", "utf-8") of "text/csv; charset=utf-8": the type in lower case, and
    its charset ("" where none is given)."""
    kind, *parameters = (content_type or "").split(";")
    charset = ""
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"')
    return kind.strip().lower(), charset


def unsupported(content_type: str) -> Answer:
    given = repr(content_type[:100]) if content_type else "none"
    return error(
        415,
        "BAD_REQUEST",
        f"Content-Type must be one of {', '.join(CONTENT_TYPES)}; got {given}",
    )


def too_large(length: int, limit: int) -> Answer:
    return error(
        413,
        "REQUEST_LIMIT_EXCEEDED",
        f"the body is {format_size(length)}, more than this server takes "
        f"({format_size(limit)}; ldnn serve --max-body raises it)",
    )


def _refuse(constant: str):
    """JSON has no NaN or Infinity (Python's reader takes them): a missing value is null."""
    raise ValueError(f"{constant} is not JSON (a missing value is null)")


def _line(problem: Exception) -> str:
    return str(problem).splitlines()[0][:300] if str(problem) else type(problem).__name__
