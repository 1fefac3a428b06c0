"""The argparse parser of ``ldnn``: one subcommand per job, --help on each."""

from __future__ import annotations

import argparse
import sys

from .config import PRESETS

EPILOG = """examples:
  ldnn datasets
  ldnn train iris --layers 16,8 --epochs 200
  ldnn train data.csv --target species --name my-run
  ldnn evaluate runs/my-run/model.npz data.csv
  ldnn predict runs/my-run/model.npz new.csv -o predictions.csv
  ldnn summary --layers 12288,20,7,5,1 --m 64
  ldnn export runs/my-run/model.npz -o model.onnx
"""


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
    names = [v.strip() for v in text.split(",") if v.strip()]
    return names[0] if len(names) == 1 else names


def float_list(text: str) -> float | list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or numbers, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def batch_size(text: str) -> int:
    if text.lower() in ("full", "all", "0"):
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


def _data_options(parser, *, training: bool) -> None:
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


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a network and write a run folder",
        description="Train a network on DATA (a built-in set, see `ldnn datasets`, or a "
        ".csv/.npz/.npy/.h5 file with one example per row) and write runs/<name>/ with the "
        "model, config.toml, history.csv, metrics.json and pictures.",
    )
    p.add_argument("data", nargs="?", help="built-in set name (e.g. iris, parity:8) or file")
    p.add_argument("--config", help="a config.toml (e.g. from an earlier run); flags override it")
    p.add_argument("--preset", choices=sorted(PRESETS), help="the course application's models")
    model = p.add_argument_group("model (hyperparameters)")
    model.add_argument("--layers", type=int_list, help="hidden sizes n[1..L-1], e.g. 20,7,5")
    model.add_argument("--activation", type=name_list, help="hidden activation(s): relu, tanh, ...")
    model.add_argument("--output", help="output activation (default from the target)")
    model.add_argument("--loss", help="bce, cce or mse (default from the output)")
    model.add_argument("--init", help="course, scaled, xavier or he")
    model.add_argument("--keep-prob", type=float_list, help="dropout keep probability")
    model.add_argument("--dtype", choices=("float32", "float64"))
    training = p.add_argument_group("training")
    training.add_argument("--optimizer", help="gd, momentum, rmsprop, adam or lbfgs")
    training.add_argument("--lr", "--learning-rate", type=float, dest="learning_rate")
    training.add_argument("--lr-schedule", help="constant, exponential, inverse_time, ...")
    training.add_argument("--decay-rate", type=float)
    training.add_argument("--epochs", "--iterations", type=int, dest="epochs")
    training.add_argument("--batch-size", type=batch_size, help="a number, or 'full'")
    training.add_argument("--l2", type=float, dest="lambd", help="L2 strength lambda")
    training.add_argument("--val-split", type=float, dest="validation_split")
    training.add_argument("--early-stopping", type=int, metavar="PATIENCE")
    training.add_argument("--seed", type=int)
    training.add_argument(
        "--device", choices=("cpu", "gpu"), help="where to compute: cpu (NumPy) or gpu (CuPy)"
    )
    data = p.add_argument_group("data")
    data.add_argument("--task", choices=("auto", "classification", "regression"))
    data.add_argument("--test-split", type=float, help="files: fraction held out (default 0.2)")
    data.add_argument("--split-seed", type=int)
    data.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise features with the training part's mean and std (default on)",
    )
    _data_options(p, training=True)
    run = p.add_argument_group("run folder and output")
    run.add_argument("--name", help="the run folder's name (default <data>-<date>-<time>)")
    run.add_argument("--runs-dir", default="runs", help="where run folders go (default runs)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    run.add_argument(
        "--print-every", type=int, metavar="N", help='print "Cost after iteration i: J"'
    )
    run.add_argument("--no-plots", action="store_true", help="write no pictures")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ldnn",
        description="L-layer deep neural networks in NumPy: train, evaluate, predict.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"ldnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _train_parser(sub)

    p = sub.add_parser(
        "evaluate",
        help="score a model on data",
        description="Score MODEL on "
        "DATA: accuracy, per-class precision/recall/F1, log loss and confusion "
        "matrix, or MSE, MAE and R^2.",
    )
    p.add_argument("model", help="a model file (runs/<name>/model.npz)")
    p.add_argument("data", help="a built-in set (its test part) or a file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _data_options(p, training=False)

    p = sub.add_parser(
        "predict",
        help="write predictions to a CSV",
        description="Predict "
        "for every example of DATA; one row per example with the prediction "
        "and the class probabilities.",
    )
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("-o", "--output", default="-", help="the CSV to write (default: stdout)")
    _data_options(p, training=False)

    p = sub.add_parser(
        "summary",
        help="the shape table of a model",
        description="The notes' "
        "shape table: W, b, dW, db, Z, A of every layer at m examples, the "
        "parameter count, FLOPs per example and memory for a batch.",
    )
    p.add_argument("model", nargs="?", help="a model file")
    p.add_argument("--layers", type=int_list, help="instead of a model: n[0],...,n[L]")
    p.add_argument("--activation", type=name_list, default="relu")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--m", type=int, default=64, help="batch size for the shapes (default 64)")

    p = sub.add_parser(
        "gradcheck",
        help="check backpropagation numerically",
        description="Run "
        "the gradient check (central differences) of a model, or of a fresh "
        "network from a config.toml, on the first --m examples of DATA.",
    )
    p.add_argument("model_or_config", help="a model file or a config.toml")
    p.add_argument("data")
    p.add_argument("--m", type=int, default=8, help="examples to use (default 8)")
    p.add_argument("--epsilon", type=float, default=1e-7)
    p.add_argument("--threshold", type=float, default=1e-7)
    _data_options(p, training=False)

    p = sub.add_parser(
        "export",
        help="write a model as ONNX",
        description="Export MODEL to ONNX: one Gemm and one activation op per layer, a "
        "dynamic batch dimension, probabilities and labels for classifiers.",
    )
    from ..onnx import add_export_arguments

    add_export_arguments(p)

    from .tune import add_parser as _add_tune

    _add_tune(sub)

    from .experiment import add_parser as _add_experiment

    _add_experiment(sub)

    sub.add_parser(
        "datasets",
        help="list the built-in data sets",
        description="List the built-in data sets with shape, classes and source.",
    )
    return parser


def parse(argv: list[str] | None):
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        parser.exit(2)
    return args
