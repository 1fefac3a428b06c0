"""``ldnn serve MODEL``: a trained model as an HTTP endpoint that speaks MLflow's
scoring protocol (:mod:`ldnn.serve`; docs/serve.md)."""

from __future__ import annotations

import argparse
import sys

from ..data.limits import format_size, parse_size
from .commands import add_threshold_option, load_model

DEFAULT_MAX_BODY = "64M"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="answer predictions over HTTP (MLflow's scoring protocol)",
        description="Serve MODEL over HTTP as `mlflow models serve` does: POST /invocations "
        "with JSON (dataframe_split, dataframe_records, instances, inputs) or CSV rows, raw "
        "as `ldnn predict` takes them; GET /ping, /health, /version and /metadata. "
        "Ctrl-C or SIGTERM stops it (exit 0).",
    )
    p.add_argument("model", metavar="MODEL", help="a run folder (runs/<name>) or a model file")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on; 0.0.0.0 takes requests from other machines too",
    )
    p.add_argument("--port", type=port, default=5000, help="the port; 0 picks a free one")
    p.add_argument(
        "--max-body",
        type=size,
        default=DEFAULT_MAX_BODY,
        metavar="SIZE",
        help="the largest request body, e.g. 64M; larger ones get 413 unread",
    )
    p.add_argument(
        "--max-rows",
        type=positive,
        default=100_000,
        metavar="N",
        help="the most rows one request may hold",
    )
    add_threshold_option(p)
    p.set_defaults(run=run_serve)


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def size(text: str) -> int:
    value = parse_size(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"expected a size such as 64M or 1G, got {text!r}")
    return value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def run_serve(args, session) -> int:
    # Imported here: http.server is not worth loading for every other command.
    from ..serve import ModelServer, ServedModel, serve_until_stopped

    network = load_model(args.model)
    model = ServedModel(network, args.model, threshold=args.threshold, max_rows=args.max_rows)
    try:
        server = ModelServer(model, args.host, args.port, max_body=args.max_body)
        serve_until_stopped(
            server,
            ready=lambda: print(
                f"serving {args.model} at {server.url} (bodies up to "
                f"{format_size(args.max_body)}, {args.max_rows:,} rows; Ctrl-C stops)",
                flush=True,
            ),
            say=lambda line: print(f"ldnn serve: {line}", file=sys.stderr, flush=True),
        )
    finally:
        model.close()
    return 0
