"""What the subcommands' parsers share: the parser class, argument types, and the options
that say how to read a data file."""

from __future__ import annotations

import argparse

from ..data.hash_split import SPLIT_METHODS
from ..data.limits import LIMITS, format_size


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (plus where to find help), exit 2.
    Flags are never abbreviated: ``--output`` must not silently mean ``--output-activation``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def show_defaults(parser, defaults: dict | None = None) -> None:
    """Say every option's default in its help: argparse's own default where it has one,
    else ``defaults[dest]`` (the config.toml default of a flag whose argparse default is
    None, so that a config file is not overridden by an unset flag)."""
    for action in parser._actions:  # argparse keeps no public list of a parser's actions
        if not action.help or action.help == argparse.SUPPRESS or "default" in action.help:
            continue
        if action.nargs == 0:  # --help, --version, switches: nothing to default
            continue
        value = action.default if action.default is not None else (defaults or {}).get(action.dest)
        if value is None:
            continue
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        action.help += f" (default: {shown or 'none'})"


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


def seed_list(text: str) -> list[int]:
    """ "0,1,2" -> [0, 1, 2]: whole numbers >= 0, none twice."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds such as 0,1,2, got {text!r}") from None
    if any(v < 0 for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"seeds must be different whole numbers >= 0: {text!r}")
    return values


def switches(text: str) -> bool | list[bool]:
    """ "yes" -> True; "no" -> False; "yes,no" -> [True, False] (true/false, on/off too)."""
    words = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
    values = [words.get(v.strip().lower()) for v in text.split(",")]
    if None in values:
        raise argparse.ArgumentTypeError(f"expected yes, no or a list of them, got {text!r}")
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


def names(text: str) -> list[str]:
    """ "a,b" -> ["a", "b"]."""
    return [v.strip() for v in text.split(",") if v.strip()]


def add_data_options(parser, *, training: bool) -> None:
    """The "data files" group: how to read DATA (the target column, the arrays, ...)."""
    group = parser.add_argument_group("data files")
    # A model reads a file as its training file was read, unless told otherwise.
    model = "" if training else "; default: as in training"
    group.add_argument(
        "--target",
        help="tables: the target column (default: "
        + ("the last column)" if training else "the model's)"),
    )
    group.add_argument(
        "--delimiter",
        help="tables: the separator (default: from the header" + (")" if training else model + ")"),
    )
    group.add_argument(
        "--encoding",
        help="tables: the text encoding (default UTF-8, or UTF-16 by its byte-order mark"
        + (")" if training else model + ")"),
    )
    group.add_argument(
        "--na-values",
        type=names,
        metavar="A,B",
        help="tables: more markers of a missing value, e.g. '?' (empty cells always are"
        + (")" if training else model + ")"),
    )
    group.add_argument(
        "--stream",
        choices=("auto", "on", "off"),
        help="tables: stream the file from disk, a batch of rows at a time, instead of "
        "reading it whole (default auto: when a whole read would not fit in memory)",
    )
    group.add_argument(
        "--decimal",
        choices=(".", ","),
        help="tables: the decimal point of numbers (default ." + (")" if training else model + ")"),
    )
    if training:
        group.add_argument(
            "--features",
            type=names,
            help="tables: comma-separated feature columns (default: all but the target)",
        )
        group.add_argument("--drop", type=names, metavar="A,B", help="tables: columns to drop")
        group.add_argument(
            "--keep",
            type=names,
            metavar="A,B",
            help="tables: columns to keep though they look like IDs, free text or constants",
        )
        group.add_argument(
            "--impute", choices=("median", "mean"), help="missing numbers (default median)"
        )
        group.add_argument(
            "--missing",
            choices=("category", "most_frequent"),
            help="missing text: a category of its own (default) or the most frequent one",
        )
        group.add_argument(
            "--min-category-count",
            type=int,
            metavar="N",
            help="text seen fewer than N times in training pooled into one (other) category "
            "(default 1: none)",
        )
        group.add_argument(
            "--class-weight",
            choices=("balanced",),
            help="weigh each class by m / (K x its count) (a table of weights: config.toml)",
        )
    _add_limits(parser, training)
    group.add_argument("--x-key", help=".npz: the array of inputs (default X or x)")
    group.add_argument("--y-key", help=".npz: the array of targets (default Y or y)")
    group.add_argument("--labels", help=".npy: the file of targets that goes with DATA")
    if not training:
        group.add_argument(
            "--part",
            choices=("test", "train"),
            help="the test (or training) part of the split the model was trained with: for "
            "a built-in set (default test) or the file it was trained on (default: all rows)",
        )


def _add_limits(parser, training: bool) -> None:
    """The limits of what a table may ask for (:mod:`ldnn.data.limits`), each a flag."""
    group = parser.add_argument_group(
        "limits", "what a table may ask for; a file over one is refused in one line"
    )
    helps = {
        "max_na_values": "markers --na-values may give (at most 10,000)",
        "max_columns": "columns of a table",
        "max_categories": "categories of a text column, each a one-hot feature",
        "max_cell_bytes": "bytes in one cell or column name, e.g. 4M",
        "max_memory": "memory reading a table and holding its X may take, e.g. 16G "
        "(estimated before reading)",
    }
    for key, limit in LIMITS.items():
        default = format_size(limit.default) if limit.size else f"{limit.default:,}"
        default += "" if training else ", or as in training"
        group.add_argument(
            "--" + key.replace("_", "-"),
            type=str if limit.size else int,
            metavar="SIZE" if limit.size else "N",
            help=f"tables: the most {helps[key]} (default {default})",
        )


def add_split_options(parser) -> None:
    """How a file is split and prepared: --task, --test-split, --split-seed, --split,
    --split-key, --standardize."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        help="auto: classes for text or few whole numbers, regression otherwise",
    )
    data.add_argument("--test-split", type=float, help="files: fraction held out (default 0.2)")
    data.add_argument("--split-seed", type=int, help="files: the seed of the test split")
    data.add_argument(
        "--split",
        choices=SPLIT_METHODS,
        help="files: shuffle (default: a seeded permutation of the rows, stratified by "
        "class) or hash (each row's part from a hash of its number, or of --split-key: "
        "stable as rows are added, and found by each rank for its own rows)",
    )
    data.add_argument(
        "--split-key",
        metavar="COLUMN",
        help="tables: hash this column's values (an ID) instead of the row number "
        "(implies --split hash)",
    )
    data.add_argument(
        "--test-data",
        metavar="FILE",
        help="a second file for the test part (no split of DATA), read as DATA is",
    )
    data.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise features with the training part's mean and std (default on)",
    )


#: The [data] keys that say how to read a file (and the limits of what it may ask for).
READING = (
    "target",
    "x_key",
    "y_key",
    "labels",
    "delimiter",
    "encoding",
    "na_values",
    "decimal",
    *LIMITS,
)


def data_settings(args) -> dict:
    """The [data] keys that say how to read a file, from the parsed options."""
    return {k: getattr(args, k, None) for k in (*READING, "stream")}
