"""``ldnn playground``: a local page that trains ldnn's own network as you watch
(:mod:`ldnn.playground`; docs/playground.md)."""

from __future__ import annotations

import sys

from .serve import port, size


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "playground",
        help="a local web page that trains a network as you watch, in the notes' notation",
        description="Start a page at http://127.0.0.1:PORT where ldnn's own network trains on "
        "2-D data sets while you change its layers, activations, α and the rest; it draws "
        "the decision surface, every unit and W[l]. Ctrl-C or SIGTERM stops it (exit 0).",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: this machine only)"
    )
    p.add_argument("--port", type=port, default=8000, help="the port; 0 picks a free one")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.add_argument(
        "--max-upload",
        type=size,
        default="4M",
        metavar="SIZE",
        help="the largest CSV the page may upload, e.g. 4M (default) or 64M; larger: 413",
    )
    p.set_defaults(run=run_playground)


def run_playground(args, session) -> int:
    # Imported here: http.server is not worth loading for every other command.
    import webbrowser

    from ..onnx import to_onnx
    from ..playground import SECURITY, PlaygroundApp, Session
    from ..serve.server import AppServer, serve_until_stopped

    playground = Session()
    try:
        app = PlaygroundApp(
            playground,
            parity_constructions(),
            max_upload=args.max_upload,
            recipe=hierarchy_recipe(),
            to_onnx=to_onnx,
        )
        server = AppServer(app, args.host, args.port, max_body=app.max_body, headers=SECURITY)

        def ready() -> None:
            print(f"ldnn playground at {server.url}/ (Ctrl-C stops)", flush=True)
            if args.open:
                webbrowser.open(f"{server.url}/")

        serve_until_stopped(
            server,
            ready=ready,
            say=lambda line: print(f"ldnn playground: {line}", file=sys.stderr, flush=True),
        )
    finally:
        playground.close()
    return 0


def parity_constructions():
    """The parity page's :class:`~ldnn.playground.parity.Constructions`: the three networks
    of ``ldnn experiment depth_vs_width`` (its deep XOR tree, its wide AND layer and its
    counting layer), its ``size`` and its ``exact_errors`` (given here, as the hierarchy's
    recipe is, so that the playground does not import the experiments)."""
    from ..experiments.depth_vs_width import and_or, counting, deep_xor_tree, exact_errors, size
    from ..playground.parity import Constructions

    networks = {"deep": deep_xor_tree, "wide": and_or, "counting": counting}
    return Constructions(networks, size, exact_errors)


def hierarchy_recipe():
    """The feature-hierarchy page's :class:`~ldnn.playground.hierarchy.Recipe`: the
    experiment's own functions, its probe and its networks for the digits and the faces
    (given here, where both rooms are in reach, so that the playground does not import
    the experiments)."""
    from ..experiments import feature_hierarchy as experiment
    from ..playground.hierarchy import Recipe

    def network(name: str) -> dict:
        settings = experiment.config(name, quick=False)
        return {
            "hidden": list(settings["hidden"]),
            **experiment.TRAINING,
            "batch_size": settings["batch_size"],
            "lambd": settings["lambd"],
        }

    return Recipe(
        experiment.layer_activations,
        experiment.ascend,
        experiment.varied_units,
        experiment.top_examples,
        experiment.probe,
        experiment.TOP_K,
        experiment.UNITS_SHOWN,
        {name: network(name) for name in ("digits", "faces")},
    )
