"""What the subcommands' parsers share: the parser class, argument types, and the options
that say how to read a data file."""

from __future__ import annotations

import argparse


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (plus where to find help), exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def int_list(text: str) -> list[int]:
    """ "20,7,5" -> [20, 7, 5]; "" or "none" -> []."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 20,7,5, got {text!r}"
        ) from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return values


def name_list(text: str) -> str | list[str]:
    """ "relu" -> "relu"; "relu,tanh" -> ["relu", "tanh"]."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    return names[0] if len(names) == 1 else names


def float_list(text: str) -> float | list[float]:
    """ "0.8" -> 0.8; "0.8,0.5" -> [0.8, 0.5]."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or numbers, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def batch_size(text: str) -> int:
    """A positive whole number, or "full" (returned as 0, config.toml's full batch)."""
    if text.lower() in ("full", "all"):
        return 0
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number or 'full', got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive (or 'full'), got {text!r}")
    return value


def add_data_options(parser, *, training: bool) -> None:
    """The "data files" group: how to read DATA (the target column, the arrays, ...)."""
    group = parser.add_argument_group("data files")
    group.add_argument("--target", help="CSV: the target column (default: the last column)")
    if training:
        group.add_argument(
            "--features",
            type=lambda t: [v.strip() for v in t.split(",")],
            help="CSV: comma-separated feature columns (default: all but the target)",
        )
    group.add_argument("--x-key", help=".npz: the array of inputs (default X or x)")
    group.add_argument("--y-key", help=".npz: the array of targets (default Y or y)")
    group.add_argument("--labels", help=".npy: the file of targets that goes with DATA")
    if not training:
        group.add_argument(
            "--part",
            choices=("test", "train"),
            default="test",
            help="built-in sets: which part to use (default test)",
        )


def add_split_options(parser) -> None:
    """How a file is split and prepared: --task, --test-split, --split-seed, --standardize."""
    data = parser.add_argument_group("data")
    data.add_argument("--task", choices=("auto", "classification", "regression"))
    data.add_argument("--test-split", type=float, help="files: fraction held out (default 0.2)")
    data.add_argument("--split-seed", type=int)
    data.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise features with the training part's mean and std (default on)",
    )


def data_settings(args) -> dict:
    """The [data] keys that say how to read a file, from the parsed options."""
    return {k: getattr(args, k, None) for k in ("target", "x_key", "y_key", "labels")}
