"""A :class:`~ldnn.serve.app.ServedModel` over HTTP, on the standard library's
``http.server``: a thread per connection, so that requests are answered side by side.
What ldnn's servers share is here too: :class:`JSONServer` and :class:`JSONHandler`
(timeouts, bounded bodies, errors as JSON), :class:`AppServer` for an app without
sockets (``ldnn playground``'s) and :func:`serve_until_stopped`.

Why ``ThreadingHTTPServer``: it comes with Python (no dependency to install, nothing to
fetch on a machine without a network), and threads are enough to keep a slow client or
a large request from holding up the others: NumPy's products and pyarrow's reader let
go of the GIL, the Python parts of requests take turns (docs/serve.md measures what
that costs). A network's forward pass keeps its scratch arrays per thread
(:meth:`ldnn.model.network.DeepNetwork._output`), so concurrent requests share the
parameters, which nobody writes, and nothing else.

What a request may ask is bounded before it is read: a body's declared length is checked
against ``max_body`` before a byte of it is read (413); a body without a length (chunked)
is refused (411); a client that stops sending frees its thread after ``TIMEOUT``
seconds. Only the endpoints' exact paths are served (no files: a path such as
``/../x`` is just not one of them, 404). Every answer is JSON, the errors of
``http.server`` itself too; an error nobody foresaw is a 500 of one line, and its
traceback goes to the server's stderr only.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .._version import __version__
from ..training.interrupts import StopOnSignals
from .app import CONTENT_TYPES, Answer, ServedModel, error, media_type, too_large, unsupported

#: Seconds a connection may stay silent (mid-request, or idle between two requests).
TIMEOUT = 60


class JSONServer(ThreadingHTTPServer):
    """A threading HTTP server on ``address`` (port 0: a free one; an IPv6 host such as
    ``::1`` too), whose connections do not hold up its end. ldnn's servers (``ldnn
    serve``, ``ldnn playground``) are this with their own :class:`JSONHandler`."""

    daemon_threads = True  # an idle keep-alive connection does not hold up the end

    def __init__(self, address: tuple[str, int], handler):
        if ":" in address[0]:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class ModelServer(JSONServer):
    """The HTTP server of one :class:`ServedModel` on ``(host, port)`` (port 0: a free one).

    Parameters
    ----------
    model : ServedModel
    host, port : str, int
    max_body : int
        The most bytes a request's body may hold.
    """

    def __init__(self, model: ServedModel, host: str = "127.0.0.1", port: int = 0, *, max_body):
        self.model, self.max_body = model, max_body
        super().__init__((host, port), Handler)


class JSONHandler(BaseHTTPRequestHandler):
    """One connection's requests (HTTP/1.1: a client may send several in turn), answered
    with :class:`Answer` documents; what ldnn's servers share: the timeouts, no Nagle
    delay, the bounded body, errors as JSON and no log line per request."""

    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT
    # The headers and the body go out in two writes: with Nagle's algorithm the second
    # waits for the client's delayed ACK of the first, 40 ms an answer.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return f"ldnn/{__version__}"  # the Server header need not tell Python's version

    def body_length(self) -> int | Answer:
        """The body's declared length (else the error to answer, the body left unread):
        a body must come with a Content-Length, not chunked."""
        if self.headers["Transfer-Encoding"]:
            return error(411, "BAD_REQUEST", "send the body with a Content-Length, not chunked")
        declared = self.headers["Content-Length"]
        if declared is None:
            return error(411, "BAD_REQUEST", "a POST needs a Content-Length")
        if not declared.strip().isdigit():
            return error(
                400, "BAD_REQUEST", f"Content-Length must be a whole number, got {declared[:40]!r}"
            )
        return int(declared)

    def read_body(self, length: int) -> bytes:
        """The body of ``length`` bytes (checked against the server's limit first)."""
        self.body_read = True
        return self.rfile.read(length)

    def answer(self, answer: Answer) -> None:
        """Send ``answer`` as JSON."""
        self.send(answer.status, answer.body() + b"\n", "application/json", answer.headers)

    def send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        """Send an answer of ``body``; one that leaves a request's body unread ends the
        connection (the unread body would be taken for the next request)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        request_headers = getattr(self, "headers", None)  # none where the request line was bad
        if not self.body_read and request_headers is not None and _has_body(request_headers):
            self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one_request(self) -> None:
        """http.server's own, with any error nobody foresaw answered as a 500 of one line."""
        self.body_read = False
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as problem:  # noqa: BLE001 - the client gets one line, stderr the rest
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            try:
                self.answer(
                    error(500, "INTERNAL_ERROR", f"internal error ({type(problem).__name__})")
                )
            except OSError:
                pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """http.server's own errors (a malformed request line, a method it does not
        know, a header too long), as JSON."""
        self.close_connection = True
        phrase = message or self.responses.get(code, ("error",))[0]
        kind = "INTERNAL_ERROR" if code >= 500 and code != 501 else "BAD_REQUEST"
        self.answer(error(code, kind, phrase))

    def log_message(self, format: str, *args) -> None:
        """No line per request: at thousands a second they would cost more than the
        answers. Errors of the server itself still go to stderr."""


class Handler(JSONHandler):
    """One connection's requests to a :class:`ModelServer`: MLflow's endpoints."""

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]  # the exact path: never a file, never normalised
        if path == "/invocations":
            self.answer(_wrong_method("POST"))
        else:
            self.answer(self.server.model.get(path))

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        path = self.path.partition("?")[0]  # the exact path: never a file, never normalised
        if path in ("/ping", "/health", "/version", "/metadata"):
            self.answer(_wrong_method("GET"))
        elif path != "/invocations":
            self.answer(self.server.model.missing(path))
        else:
            body = self.body()
            if isinstance(body, Answer):
                self.answer(body)
            else:
                self.answer(self.server.model.invocations(self.headers["Content-Type"], body))

    def body(self) -> bytes | Answer:
        """The request's body, once its declared length is known to be within the limit
        (else the error to answer, the body left unread)."""
        content_type = self.headers["Content-Type"] or ""
        if media_type(content_type)[0] not in CONTENT_TYPES:
            return unsupported(content_type)
        length = self.body_length()
        if isinstance(length, Answer):
            return length
        if length > self.server.max_body:
            return too_large(length, self.server.max_body)
        return self.read_body(length)


class AppServer(JSONServer):
    """The HTTP server of an app without sockets (``ldnn playground``'s): an object whose
    ``get(path)`` and ``post(path, content_type, body)`` return what to answer, an
    :class:`Answer` or a reply with ``status``, ``headers``, ``content_type`` and either
    ``body()`` (bytes) or ``stream(stopping)`` (chunks of bytes, written as they come
    until the generator ends, the client leaves or the server stops).

    Parameters
    ----------
    app : object
    host, port : str, int
    max_body : int
        The most bytes a request's body may hold (413 beyond, before a byte is read).
    headers : dict, optional
        Headers every answer carries (a Content-Security-Policy, say).
    """

    def __init__(self, app, host="127.0.0.1", port=0, *, max_body: int, headers=None):
        self.app, self.max_body, self.headers = app, max_body, dict(headers or {})
        self.stopping = threading.Event()
        super().__init__((host, port), AppHandler)

    def shutdown(self) -> None:
        self.stopping.set()  # streams end
        super().shutdown()


class AppHandler(JSONHandler):
    """One connection's requests to an :class:`AppServer`'s app."""

    def send(self, status, body, content_type, headers=None) -> None:
        super().send(status, body, content_type, {**self.server.headers, **(headers or {})})

    def do_GET(self) -> None:
        self.reply(self.server.app.get(self.path.partition("?")[0]))

    def do_POST(self) -> None:
        length = self.body_length()
        if isinstance(length, Answer):
            self.answer(length)
        elif length > self.server.max_body:
            self.answer(
                error(
                    413,
                    "REQUEST_LIMIT_EXCEEDED",
                    f"the body is {length:,} bytes, more than this server takes "
                    f"({self.server.max_body:,})",
                )
            )
        else:
            body = self.read_body(length)
            path = self.path.partition("?")[0]
            self.reply(self.server.app.post(path, self.headers["Content-Type"] or "", body))

    def reply(self, reply) -> None:
        if isinstance(reply, Answer):
            self.answer(reply)
        elif hasattr(reply, "stream"):
            self.close_connection = True  # the stream ends with the connection
            self.send_response(reply.status)
            headers = {**self.server.headers, **reply.headers}
            for key, value in {**headers, "Content-Type": reply.content_type}.items():
                self.send_header(key, value)
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for chunk in reply.stream(self.server.stopping):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (ConnectionError, TimeoutError, OSError):
                pass
        else:
            self.send(reply.status, reply.body(), reply.content_type, reply.headers)


def _has_body(headers) -> bool:
    return bool(headers["Transfer-Encoding"]) or (headers["Content-Length"] or "0").strip() != "0"


def _wrong_method(allowed: str) -> Answer:
    return error(405, "BAD_REQUEST", f"this endpoint takes {allowed} only", Allow=allowed)


def serve_until_stopped(server: JSONServer, *, ready=None, say=print) -> str:
    """Answer requests until SIGINT (Ctrl-C) or SIGTERM, then stop taking connections
    and close the server; return the signal's name. ``ready()`` is called once both the
    server and the signal handlers are in place (where to print the address: a client
    that reads it may signal at once); ``say`` is given a line when a signal comes. A
    second signal stops at once (KeyboardInterrupt)."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
    )
    with StopOnSignals(say=lambda line: None) as stop:
        thread.start()
        if ready is not None:
            ready()
        while not stop() and thread.is_alive():
            time.sleep(0.1)  # signals reach only the main thread, which waits here
        say(f"{stop.name or 'stopped'}: stopping")
        server.shutdown()
        thread.join()
        server.server_close()
    return stop.name
