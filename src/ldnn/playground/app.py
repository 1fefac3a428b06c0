"""The playground's answers, without the sockets: a path (and a body) in, a reply out,
for :class:`ldnn.serve.server.AppServer`, the standard library's threading server that
``ldnn serve`` runs on (threads, bounded bodies, errors as JSON, no Nagle delay).

Endpoints: ``GET /`` the page and ``GET /static/NAME`` its files, from the package's own
static folder, looked up by exact name among the files found there at start (so no path
of a request is ever a path on disk: ``..``, ``%2e%2e`` and absolute paths are just not
names, 404); ``GET /events`` the frames as server-sent events; ``GET /state``;
``POST /control`` a control as JSON; ``GET /export/model.npz``, ``/export/model.onnx`` (with
the exporter the command line gives), ``/export/config.toml``, ``/export/data.csv`` and
``/export/command``; ``GET /parity`` the parity page, ``POST /parity/train`` a parity run
and ``GET /parity/state`` its curves (:mod:`.parity`);
``POST /course`` the notes' view of the
current mini-batch and ``POST /gradcheck`` the gradient check (:mod:`.course`; POSTs
because the server passes handlers the path without its query); ``POST /upload`` a CSV
as the body (at most ``max_upload`` bytes, else 413; :mod:`.upload`), answered with its
columns, which a control then trains on; ``GET /hierarchy`` the feature-hierarchy page,
``POST /hierarchy/train`` a run on the digits or the faces and ``GET /hierarchy/state``
its pictures and linear probes (:mod:`.hierarchy`). Every answer carries
:data:`SECURITY`'s headers, a Content-Security-Policy of ``default-src 'self'`` among
them: the page fetches nothing from elsewhere. Errors are JSON, as ``ldnn serve``'s:
``{"error_code": ..., "message": ...}``, and a control's name the ``field`` it got wrong.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources

from ..errors import LdnnError
from . import course, export
from .hierarchy import HierarchySession, Recipe
from .parity import Constructions, ParitySession
from .session import FPS, Session

#: The largest body of a control (and of any POST but an upload's).
MAX_CONTROL = 64 * 1024
#: The largest CSV an upload may send, unless ``ldnn playground --max-upload`` says.
MAX_UPLOAD = 4 * 1024 * 1024
#: The largest body the server reads: an upload's (a control's limit is the app's).
MAX_BODY = MAX_UPLOAD
#: Seconds between two keep-alive comments on an idle event stream.
KEEPALIVE = 15.0
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: The headers of every answer.
SECURITY = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
EXPORTS = {
    "/export/model.npz": ("application/octet-stream", export.model_bytes),
    "/export/model.onnx": ("application/octet-stream", export.onnx_bytes),
    "/export/config.toml": (
        "application/toml; charset=utf-8",
        lambda s: export.config_toml(s).encode("utf-8"),
    ),
    "/export/data.csv": ("text/csv; charset=utf-8", export.data_bytes),
    "/export/command": ("text/plain; charset=utf-8", lambda s: (export.COMMAND + "\n").encode()),
}
#: The POSTs, each with the object that answers it (a session's method, by name).
RUNS = {"/parity/train": "parity", "/hierarchy/train": "hierarchy"}
#: The notes' own view of the current mini-batch, and the gradient check: POSTs of a JSON
#: object of their options (an empty body: the defaults), see :mod:`.course`.
VIEWS = {"/course": course.view, "/gradcheck": course.check}


@dataclass
class Reply:
    """An answer of bytes (a file, a JSON document), or of a stream of chunks."""

    status: int
    content: bytes = b""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)

    def body(self) -> bytes:
        return self.content


@dataclass
class Events:
    """Server-sent events: the newest frame whenever there is one, at most FPS a second
    (frames made meanwhile are skipped, never queued)."""

    board: object
    status: int = 200
    content_type: str = "text/event-stream"
    headers: dict = field(default_factory=dict)

    def stream(self, stopping):
        number = 0
        self.board.watch(True)
        try:
            while not stopping.is_set():
                number, frame = self.board.after(number, KEEPALIVE)
                if stopping.is_set():
                    return
                yield b": idle\n\n" if frame is None else b"data: " + frame + b"\n\n"
                stopping.wait(1 / FPS)
        finally:  # the page went away (or the server stops): no frames for it
            self.board.watch(False)


def document(status: int, content: dict) -> Reply:
    return Reply(status, json.dumps(content).encode("utf-8") + b"\n")


def failure(status: int, code: str, message: str, field_name: str | None = None, **headers):
    """An error as ``ldnn serve`` says one, and the field a control got wrong."""
    content = {"error_code": code, "message": message}
    if field_name is not None:
        content["field"] = field_name
    reply = document(status, content)
    reply.headers.update(headers)
    return reply


def static_files() -> dict[str, bytes]:
    """{"/static/NAME": bytes} of the package's static folder (plain files of the kinds
    in TYPES), read once."""
    folder = resources.files("ldnn.playground") / "static"
    found = {}
    for item in folder.iterdir():
        suffix = "." + item.name.rpartition(".")[2]
        if item.is_file() and suffix in TYPES and not item.name.startswith("."):
            found[f"/static/{item.name}"] = item.read_bytes()
    return found


class PlaygroundApp:
    """The answers of one :class:`Session`'s page."""

    def __init__(
        self,
        session: Session,
        constructions: Constructions,
        max_upload: int = MAX_UPLOAD,
        recipe: Recipe | None = None,
        to_onnx=None,
    ):
        self.session, self.files = session, static_files()
        self.to_onnx = to_onnx  # ldnn.onnx.to_onnx, given (as the recipe) by the command
        self.parity = ParitySession(constructions)
        self.hierarchy = HierarchySession(recipe)
        self.max_upload = max_upload

    @property
    def max_body(self) -> int:
        """The largest body the server should read for this app (413 beyond)."""
        return max(MAX_CONTROL, self.max_upload)

    def close(self) -> None:
        """Stop the parity and hierarchy runs, if they train."""
        self.parity.close()
        self.hierarchy.close()

    def get(self, path: str):
        session = self.session
        if path in ("/", "/index.html"):
            path = "/static/index.html"
        elif path in ("/parity", "/parity.html"):
            path = "/static/parity.html"
        elif path == "/parity/state":
            return document(200, self.parity.state())
        elif path in ("/hierarchy", "/hierarchy.html"):
            path = "/static/hierarchy.html"
        elif path == "/hierarchy/state":
            return document(200, self.hierarchy.state())
        if path in self.files:
            return Reply(200, self.files[path], TYPES["." + path.rpartition(".")[2]])
        if path == "/events":
            return Events(session.board)
        if path == "/state":
            return document(200, session.call(session.state))
        if path in EXPORTS:
            kind, make = EXPORTS[path]
            if make is export.onnx_bytes:
                make = functools.partial(export.onnx_bytes, to_onnx=self.to_onnx)
            name = path.rpartition("/")[2]
            try:
                body = session.call(lambda: make(session))
            except LdnnError as problem:
                return failure(400, "BAD_REQUEST", str(problem), getattr(problem, "field", None))
            reply = Reply(200, body, kind)
            if name != "command":
                reply.headers["Content-Disposition"] = f'attachment; filename="{name}"'
            return reply
        if path in ("/control", "/upload", *RUNS) or path in VIEWS:
            return failure(405, "BAD_REQUEST", "this endpoint takes POST only", Allow="POST")
        return failure(404, "ENDPOINT_NOT_FOUND", f"no page {path[:200]!r}")

    def post(self, path: str, content_type: str, body: bytes):
        if path not in ("/control", "/upload", *RUNS, *VIEWS):
            return failure(404, "ENDPOINT_NOT_FOUND", f"no endpoint {path[:200]!r}")
        limit = self.max_upload if path == "/upload" else MAX_CONTROL
        if len(body) > limit:
            what = "an upload" if path == "/upload" else "this endpoint"
            return failure(
                413,
                "REQUEST_LIMIT_EXCEEDED",
                f"the body is {len(body):,} bytes, more than {what} takes ({limit:,})",
                "file" if path == "/upload" else None,
            )
        if path == "/upload":
            try:
                return document(200, self.session.receive(body))
            except LdnnError as problem:
                return failure(400, "BAD_REQUEST", str(problem), problem.field or "file")
        try:
            request = (
                json.loads(body.decode("utf-8")) if body.strip() or path == "/control" else None
            )
        except (UnicodeDecodeError, ValueError) as problem:
            return failure(400, "MALFORMED_REQUEST", f"the body is not JSON: {problem}")
        session = self.session
        try:
            if path == "/control":
                return document(200, session.control(request))
            if path in RUNS:
                return document(200, getattr(self, RUNS[path]).train(request))
            # On the training thread, between two steps: the live network as it stands, and
            # the part it trains on (the training part less a validation part).
            answer = VIEWS[path]
            return document(
                200, session.call(lambda: answer(session.network, session.part, request))
            )
        except LdnnError as problem:
            return failure(400, "BAD_REQUEST", str(problem), getattr(problem, "field", None))
