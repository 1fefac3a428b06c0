"""The argparse parser of ``ldnn``: one subcommand per job, --help on each. Each
subcommand's module adds its own parser and the function that runs it (``args.run``)."""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from . import commands, experiment, train, tune
from .options import Parser

EPILOG = """examples:
  ldnn datasets
  ldnn train iris --layers 16,8 --epochs 200
  ldnn train data.csv --target species --name my-run
  ldnn evaluate runs/my-run/model.npz data.csv
  ldnn predict runs/my-run/model.npz new.csv -o predictions.csv
  ldnn summary --layers 12288,20,7,5,1 --m 64
  ldnn export runs/my-run/model.npz -o model.onnx
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
    return parser


def parse(argv: list[str] | None):
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        parser.exit(2)
    return args
