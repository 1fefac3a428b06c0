"""The argparse parser of ``ldnn``: one subcommand per job, --help on each. Each
subcommand's module adds its own parser and the function that runs it,
``args.run(args, session)`` (:class:`~ldnn.cli.session.Session`)."""

from __future__ import annotations

import argparse

from .._version import __version__
from ..runs.config import DEFAULTS
from . import commands, experiment, playground, runs, serve, train, tune
from .options import Parser, show_defaults

EPILOG = """examples:
  ldnn datasets
  ldnn train iris --layers 16,8 --epochs 200
  ldnn train data.csv --target species --name my-run
  ldnn evaluate runs/my-run/model.npz data.csv
  ldnn predict runs/my-run/model.npz new.csv -o predictions.csv
  ldnn summary --layers 12288,20,7,5,1 --m 64
  ldnn export runs/my-run/model.npz -o model.onnx
  ldnn runs --sort test --desc
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ldnn",
        description="L-layer deep neural networks in NumPy: train, evaluate, predict.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ldnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    train.add_parser(sub)
    commands.add_parsers(sub)
    tune.add_parser(sub)
    experiment.add_parser(sub)
    runs.add_parser(sub)
    serve.add_parser(sub)
    playground.add_parser(sub)
    parser.subcommands = sub.choices  # name -> its parser, for its own error messages
    # The config.toml defaults of the flags that set it (whose argparse default is None).
    config_defaults = {key: value for table in DEFAULTS.values() for key, value in table.items()}
    for name, command in sub.choices.items():
        command.add_argument(
            "--threads",
            default="auto",
            metavar="N",
            help="BLAS threads: a number, or auto: the cores the machine's load leaves free, "
            "or OPENBLAS_NUM_THREADS where set (default: %(default)s)",
        )
        show_defaults(command, config_defaults if name in ("train", "tune") else None)
    return parser


def parse(argv: list[str]):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        parser.exit(2)
    if unknown:  # said by the subcommand, whose --help lists what it takes
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args
