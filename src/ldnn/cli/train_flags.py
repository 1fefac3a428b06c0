"""The flags of ``ldnn train`` and how they become a configuration: which flag sets which
setting of config.toml's tables, and which flag an error about a setting points at."""

from __future__ import annotations

import argparse

from ..io.toml import read_toml
from ..runs import config as configuration
from ..runs.run_callbacks import CHECKPOINT_SECONDS
from ..runs.tracking import DEFAULT_MLFLOW_URI
from .options import (
    add_data_options,
    add_split_options,
    batch_size,
    float_list,
    int_list,
    name_list,
    seed_list,
    switches,
)

#: The flags of each config.toml table.
FLAGS = {
    "data": (
        "task",
        "test_split",
        "split_seed",
        "split",
        "split_key",
        "test_data",
        "standardize",
        "target",
        "features",
        "x_key",
        "y_key",
        "labels",
        "delimiter",
        "encoding",
        "na_values",
        "decimal",
        "drop",
        "keep",
        "impute",
        "missing",
        "min_category_count",
        "class_weight",
        "stream",
        "max_na_values",
        "max_columns",
        "max_categories",
        "max_cell_bytes",
        "max_memory",
    ),
    "model": (
        "layers",
        "activation",
        "output",
        "loss",
        "init",
        "keep_prob",
        "batch_norm",
        "embedding_width",
        "dtype",
    ),
    "training": (
        "optimizer",
        "learning_rate",
        *configuration.SCHEDULE_SETTINGS,
        "weight_decay",
        "nesterov",
        "clip_norm",
        "label_smoothing",
        "epochs",
        "batch_size",
        "shuffle_window",
        "lambd",
        "l1",
        "validation_split",
        "early_stopping",
        "swa_start",
        "ensemble",
        "seed",
        "device",
    ),
}
#: The flag that sets each hyperparameter, for the errors that name it as their field.
FLAG_FOR = {
    "learning_rate": "--lr",
    "lambd": "--l2",
    "l1": "--l1",
    "validation_split": "--val-split",
    "early_stopping": "--early-stopping",
    "swa_start": "--swa",
    "ensemble": "--ensemble",
    "batch_size": "--batch-size",
    "shuffle_window": "--shuffle-window",
    "keep_prob": "--keep-prob",
    "batch_norm": "--batch-norm",
    "embedding_width": "--embedding-width",
    "epochs": "--epochs",
    "decay_rate": "--decay-rate",
    "lr_schedule": "--lr-schedule",
    "time_interval": "--decay-every",
    "warmup_epochs": "--warmup-epochs",
    "min_learning_rate": "--min-lr",
    "lr_patience": "--lr-patience",
    "weight_decay": "--weight-decay",
    "nesterov": "--nesterov",
    "clip_norm": "--clip-norm",
    "label_smoothing": "--label-smoothing",
    "seed": "--seed",
    "device": "--device",
    "dtype": "--dtype",
    "init": "--init",
    "optimizer": "--optimizer",
}


def add_arguments(p) -> None:
    """``ldnn train``'s arguments, on its parser ``p``."""
    p.add_argument("data", nargs="?", help="built-in set name (e.g. iris, parity:8) or file")
    p.add_argument("--config", help="a config.toml (e.g. from an earlier run); flags override it")
    p.add_argument(
        "--resume",
        metavar="RUN_FOLDER",
        help="continue an interrupted run from its checkpoint, with its own config.toml",
    )
    p.add_argument(
        "--preset",
        choices=sorted(configuration.PRESETS),
        help="the course application's models (course-*), or the recipe docs/recipes.md chose "
        "for MNIST-1D",
    )
    model = p.add_argument_group("model (hyperparameters)")
    model.add_argument("--layers", type=int_list, help="hidden sizes n[1..L-1], e.g. 20,7,5")
    model.add_argument("--activation", type=name_list, help="hidden activation(s): relu, tanh, ...")
    model.add_argument("--output-activation", dest="output", help="g[L] (default from the target)")
    model.add_argument("--output", action=_Ambiguous, help=argparse.SUPPRESS)
    model.add_argument("--loss", help="bce, cce or mse (default from the output)")
    model.add_argument("--init", help="course, scaled, xavier, he or uniform")
    model.add_argument("--keep-prob", type=float_list, help="dropout keep probability")
    model.add_argument(
        "--batch-norm",
        type=switches,
        metavar="yes|no|yes,no,...",
        help="batch-normalise the hidden layers (all, or one yes/no per hidden layer)",
    )
    model.add_argument(
        "--embedding-width",
        type=int,
        metavar="K",
        help="a table's text columns of more than K categories get a learned embedding of "
        "width K (W[1]'s block for each factored, (n[1], K) . (K, categories)); 0: none",
    )
    model.add_argument("--dtype", choices=("float32", "float64"), help="parameters and data")
    training = p.add_argument_group("training")
    training.add_argument("--optimizer", help="gd, momentum, rmsprop, adam or lbfgs")
    training.add_argument(
        "--lr", "--learning-rate", type=float, dest="learning_rate", help="alpha, the step size"
    )
    training.add_argument(
        "--lr-schedule",
        help="constant, inverse_time, exponential, step, cosine or plateau (docs/recipes.md)",
    )
    training.add_argument("--decay-rate", type=float, help="of the learning-rate schedule")
    training.add_argument(
        "--decay-every",
        type=int,
        dest="time_interval",
        metavar="EPOCHS",
        help="inverse_time, exponential, step: decay every EPOCHS epochs",
    )
    training.add_argument(
        "--warmup-epochs", type=int, help="epochs of linear warmup before the schedule"
    )
    training.add_argument(
        "--min-lr", type=float, dest="min_learning_rate", help="cosine and plateau: the floor"
    )
    training.add_argument(
        "--lr-patience", type=int, help="plateau: epochs without a better validation cost"
    )
    training.add_argument("--weight-decay", type=float, help="adamw: decoupled weight decay wd")
    training.add_argument(
        "--nesterov",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="momentum: Nesterov's look-ahead step",
    )
    training.add_argument(
        "--clip-norm", type=float, help="scale the gradient down to this L2 norm (0: off)"
    )
    training.add_argument(
        "--label-smoothing", type=float, help="cross-entropy: train on Y (1 - eps) + eps / K"
    )
    training.add_argument(
        "--epochs",
        "--iterations",
        type=int,
        dest="epochs",
        help="passes over the training part (iterations, for full-batch gradient descent)",
    )
    training.add_argument("--batch-size", type=batch_size, help="a number, or 'full'")
    training.add_argument(
        "--shuffle-window",
        type=int,
        metavar="W",
        help="shuffle within windows of W consecutive examples, the windows in a shuffled "
        "order, instead of all examples (0, the default): a table streamed from disk is "
        "read a window at a time (docs/scale.md)",
    )
    training.add_argument("--l2", type=float, dest="lambd", help="L2 strength lambda")
    training.add_argument(
        "--l1",
        type=float,
        dest="l1",
        help="L1 strength lambda_1: the cost gains (l1 / m) sum_l sum_ij |W[l]_ij| "
        "(default 0: off)",
    )
    training.add_argument(
        "--val-split",
        type=float,
        dest="validation_split",
        help="fraction of the training part held out to validate on and stop early by "
        "(default 0.2; 0: train on the whole part, every epoch, no early stopping)",
    )
    stopping = training.add_mutually_exclusive_group()
    stopping.add_argument(
        "--early-stopping",
        type=patience,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation cost and keep the "
        f"best epoch's parameters (default auto: {configuration.AUTO_PATIENCE} when there "
        "is a validation part; 0: never)",
    )
    stopping.add_argument(
        "--no-early-stopping",
        action="store_const",
        const=0,
        dest="early_stopping",
        help="train every epoch (the validation part, if any, is still scored and drawn)",
    )
    training.add_argument(
        "--ensemble",
        type=members,
        metavar="K",
        help="train K networks (seeds seed..seed+K-1, each its own validation part) and "
        f"average their Z[L] into one model (default auto: {configuration.AUTO_ENSEMBLE} "
        f"for a training part of at most {configuration.AUTO_ENSEMBLE_ROWS:,} rows, else "
        "1; docs/benchmarks.md)",
    )
    training.add_argument(
        "--swa",
        type=swa_start,
        dest="swa_start",
        metavar="START",
        help="stochastic weight averaging: the model is the mean of the parameters at the "
        "end of each epoch from epoch START (a whole number, or a fraction < 1 of --epochs) "
        "on; with a validation part the average is what is scored and early stopping "
        "keeps (docs/recipes.md); default auto: from epoch "
        f"{configuration.AUTO_SWA_START} when early stopping watches a validation part "
        "and the network has no batch norm; 0: off",
    )
    training.add_argument(
        "--seed", type=int, help="initialisation, shuffling, dropout, validation part"
    )
    training.add_argument(
        "--device", choices=("cpu", "gpu"), help="where to compute: cpu (NumPy) or gpu (CuPy)"
    )
    add_split_options(p)
    add_data_options(p, training=True)
    run = p.add_argument_group("run folder and output")
    run.add_argument("--name", help="the run folder's name (default <data>-<date>-<time>)")
    run.add_argument(
        "--seeds",
        type=seed_list,
        metavar="S,S,...",
        help="one run per seed (<name>-seed<S>), then each score's mean ± sd over them",
    )
    run.add_argument("--runs-dir", default="runs", help="where run folders go (default runs)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    run.add_argument(
        "--print-every", type=int, metavar="N", help='print "Cost after iteration i: J"'
    )
    run.add_argument("--no-plots", action="store_true", help="write no pictures")
    track = p.add_argument_group("tracking (optional extras)")
    track.add_argument(
        "--mlflow",
        nargs="?",
        const=DEFAULT_MLFLOW_URI,
        metavar="URI",
        help=f"log the run to MLflow: a tracking URI (default {DEFAULT_MLFLOW_URI}, artifacts "
        "in ./mlruns) or a server's http://host:port; needs ldnn[mlflow]",
    )
    track.add_argument(
        "--mlflow-experiment", default="ldnn", help="the MLflow experiment (default: ldnn)"
    )
    track.add_argument(
        "--tensorboard",
        nargs="?",
        const="",
        metavar="DIR",
        help="write TensorBoard event files to DIR (default: the run folder's tensorboard/); "
        "needs ldnn[tensorboard]",
    )
    run.add_argument(
        "--plot-test",
        action="store_true",
        help="also draw the test cost per epoch on the learning curve (labelled for reporting "
        "only: choose epochs on the validation part)",
    )
    run.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="N",
        help="write checkpoint.npz into the run folder every N epochs",
    )
    run.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=CHECKPOINT_SECONDS,
        metavar="S",
        help="and at the end of an epoch S seconds after the last checkpoint "
        f"(default {CHECKPOINT_SECONDS:g}; 0: never by time)",
    )


class _Ambiguous(argparse.Action):
    """``train --output`` said two things: the output layer or a file of predictions."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(
            "train has no --output: --output-activation sets g[L], the output layer; "
            "predictions go to a file with `ldnn predict MODEL DATA -o FILE`"
        )


def patience(text: str):
    """--early-stopping's value: 'auto' or whole epochs >= 0."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected auto or whole epochs >= 0, got {text!r}")
    return value


def members(text: str) -> int | str:
    """--ensemble's value: auto or a whole number of networks >= 1."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected auto or a number of networks >= 1, got {text!r}"
        )
    return value


def swa_start(text: str) -> float | str:
    """--swa's value: 0 (off), a fraction in (0, 1) of the epochs, a whole epoch >= 1, or
    auto (from epoch 1 when early stopping watches a validation part)."""
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf") or (value >= 1 and not value.is_integer()):
        raise argparse.ArgumentTypeError(
            f"expected auto, 0 (off), a fraction in (0, 1) of the epochs or a whole epoch "
            f">= 1, got {text!r}"
        )
    return int(value) if value >= 1 else value


def build_config(args) -> dict:
    """Defaults, then --preset, then --config, then the flags given on the command line."""
    config = configuration.DEFAULTS
    if args.preset:
        config = configuration.merge(
            config, configuration.preset(args.preset), f"--preset {args.preset}"
        )
    if args.config:
        config = configuration.from_file(args.config, config)
    flags = {
        table: {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
        for table, keys in FLAGS.items()
    }
    if args.data:
        flags["data"]["source"] = args.data
    if "split_key" in flags["data"]:  # a key is hashed: --split-key alone says --split hash
        flags["data"].setdefault("split", "hash")
    if "layers" in flags["model"]:
        # A new depth makes per-layer lists from a config stale: keep them if uniform.
        for key in ("activation", "keep_prob"):
            value = config["model"][key]
            if key not in flags["model"] and isinstance(value, list):
                same = len(set(value)) == 1
                flags["model"][key] = value[0] if same else configuration.DEFAULTS["model"][key]
    if _plain_lbfgs(args, config, flags):
        # L-BFGS takes the whole part at once and refuses dropout: the tables' default
        # keep_prob is not for it (one the user set still is, and is refused).
        flags["model"]["keep_prob"] = 1.0
    # DATA stays as given (a path relative to here); provenance.json says where here was.
    return configuration.merge(config, flags, "command line")


def _plain_lbfgs(args, config: dict, flags: dict) -> bool:
    """Whether the run is L-BFGS with keep_prob left at the default (no flag, preset or
    config file sets it)."""
    optimizer = flags["training"].get("optimizer", config["training"]["optimizer"])
    if optimizer != "lbfgs" or "keep_prob" in flags["model"]:
        return False
    preset = configuration.preset(args.preset) if args.preset else {}
    given = read_toml(args.config) if args.config else {}
    return all("keep_prob" not in table.get("model", {}) for table in (preset, given))
