"""``ldnn evaluate | predict | summary | gradcheck | datasets | export``: the commands on
a model file, and the list of built-in data sets."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

from ..core.gradcheck import gradcheck
from ..data.datasets import DATASETS, is_dataset_name
from ..data.sources import load_for_model
from ..errors import ConfigurationError, DataFileError
from ..io import atomic_write, atomic_write_text, check_output, csv_pieces, text_table
from ..io.tables import printable
from ..model.network import DeepNetwork
from ..model.summary import cost_table
from ..runs import config as configuration
from ..runs.folders import run_folder_of
from ..runs.predictions import model_info, prediction_table, score_network
from .options import add_data_options, data_settings, int_list, name_list
from .printing import format_scores


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a model on data",
        description="Score MODEL on DATA: accuracy, log loss, per-class and macro "
        "precision/recall/F1, ROC-AUC and PR-AUC (two classes) and the confusion matrix, or "
        "MSE, MAE and R^2. Without DATA: the test part of the data the model was trained on.",
    )
    p.add_argument("model", help="a run folder (runs/<name>) or a model file")
    p.add_argument(
        "data",
        nargs="?",
        help="a built-in set (its test part) or a file (default: the run's own test part)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="write the table (or JSON) to FILE (default: stdout)",
    )
    add_overwrite_option(p)
    add_threshold_option(p)
    add_data_options(p, training=False)
    p.set_defaults(run=run_evaluate)

    p = subparsers.add_parser(
        "predict",
        help="write predictions to a CSV",
        description="Predict "
        "for every example of DATA; one row per example with the prediction "
        "and the class probabilities.",
    )
    p.add_argument("model", help="a run folder (runs/<name>) or a model file")
    p.add_argument("data", help="a built-in set (its test part) or a file, raw as in training")
    p.add_argument("-o", "--output", default="-", help="the CSV to write (default: stdout)")
    add_overwrite_option(p)
    p.add_argument(
        "--id-column", metavar="COL", help="tables: a column of DATA to write first, e.g. an ID"
    )
    add_threshold_option(p)
    add_data_options(p, training=False)
    p.set_defaults(run=run_predict)

    p = subparsers.add_parser(
        "summary",
        help="the shape table of a model",
        description="The notes' "
        "shape table: W, b, dW, db, Z, A of every layer at m examples, the "
        "parameter count, FLOPs per example and memory for a batch.",
    )
    p.add_argument("model", nargs="?", help="a model file")
    p.add_argument("--layers", type=int_list, help="instead of a model: n[0],...,n[L]")
    p.add_argument("--activation", type=name_list, default="relu", help="with --layers: g[l]")
    p.add_argument(
        "--dtype", choices=("float32", "float64"), default="float32", help="with --layers"
    )
    p.add_argument("--m", type=int, default=64, help="batch size for the shapes (default 64)")
    p.set_defaults(run=run_summary)

    p = subparsers.add_parser(
        "gradcheck",
        help="check backpropagation numerically",
        description="Run "
        "the gradient check (central differences) of a model, or of a fresh "
        "network from a config.toml, on the first --m examples of DATA.",
    )
    p.add_argument("model_or_config", help="a model file or a config.toml")
    p.add_argument("data", help="a built-in set or a file, read as for evaluate")
    p.add_argument("--m", type=int, default=8, help="examples to use (default 8)")
    p.add_argument(
        "--epsilon", type=float, default=1e-7, help="the step of the central differences"
    )
    p.add_argument(
        "--threshold", type=float, default=1e-7, help="the largest relative difference that passes"
    )
    add_data_options(p, training=False)
    p.set_defaults(run=run_gradcheck)

    from ..onnx import DEFAULT_OPSET, MIN_OPSET

    p = subparsers.add_parser(
        "export",
        help="write a model as ONNX",
        description="Export MODEL to ONNX: one Gemm and one activation op per layer, a "
        "dynamic batch dimension, probabilities and labels for classifiers.",
    )
    p.add_argument("model", metavar="MODEL", help="a run folder (runs/<name>) or a model file")
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="ONNX file to write (.onnx)"
    )
    add_overwrite_option(p)
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (>= {MIN_OPSET})")
    p.add_argument(
        "--dtype", choices=("float32", "float64"), default="float32", help="of the graph's floats"
    )
    p.set_defaults(run=run_export)

    p = subparsers.add_parser(
        "datasets",
        help="list the built-in data sets",
        description="List the built-in data sets with shape, classes and source.",
    )
    p.set_defaults(run=run_datasets)


def add_overwrite_option(parser) -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the -o file if it exists (never the model, its run folder or an input)",
    )


def add_threshold_option(parser) -> None:
    parser.add_argument(
        "--threshold",
        type=float,
        help="two classes: predict the second where its probability is at least this "
        "(default: the more probable class)",
    )


def load_model(path: str) -> DeepNetwork:
    """The model of a run folder (its model.npz) or a model file."""
    if Path(path).is_dir():
        model = Path(path) / "model.npz"
        if not model.is_file():
            raise DataFileError(f"{path} is a folder without a model.npz: not a finished run")
        path = str(model)
    return DeepNetwork.load(path)


def output_path(args, *data: str | None, stdout: bool = True) -> Path | None:
    """The -o file of a command on MODEL and ``data``, once it may be written (it is not
    the model, a file of its run folder or an input; it is new, or --overwrite); None for
    stdout ("-", where ``stdout``). See :func:`ldnn.io.check_output`."""
    if stdout and args.output in (None, "-"):
        return None
    reading = {run_folder_of(args.model): "the model's run folder", args.model: "the model"}
    reading.update({source: "DATA" for source in data})
    reading[getattr(args, "labels", None)] = "--labels"
    return check_output(args.output, reading=reading, overwrite=args.overwrite, flag="-o")


def own_data(args, info: dict) -> tuple[str, str]:
    """(DATA, part) for ``evaluate`` without DATA: the test part of the training data."""
    source, name = info.get("source") or "", info.get("name") or ""
    test_source = info.get("test_source") or ""
    if test_source and Path(test_source).is_file():  # trained with --test-data
        return test_source, args.part
    if source and Path(source).is_file():
        return source, args.part or "test"
    if is_dataset_name(source or name):
        return source or name, args.part or "test"
    raise ConfigurationError(
        f"{args.model} does not say which data it was trained on"
        + (f" ({source} is no longer there)" if source else "")
        + "; give DATA"
    )


def run_evaluate(args, session) -> int:
    network = load_model(args.model)
    info = model_info(network)
    source, part = (args.data, args.part) if args.data else own_data(args, info)
    output = output_path(args, source)
    data = load_for_model(source, info, data_settings(args), need_target=True, part=part)
    if data.Y is None:
        raise ConfigurationError(f"{source}: no targets to evaluate against")
    report_unexpected(source, data.unexpected)
    scores = score_network(network, data.X, data.Y, info, args.threshold)
    if args.json:
        if data.unexpected is not None:  # a table: what it holds that training did not
            scores["unseen_categories"] = data.unexpected["unseen"]
            scores["missing_values"] = data.unexpected["missing"]
        text = json.dumps(scores, indent=2)
    else:
        on = source if not part else f"{source} ({part} part)"
        text = format_scores(scores, f"{args.model} on {on}")
    if output is None:
        print(text)
    else:
        atomic_write_text(output, text + "\n")
        print(f"wrote the scores to {output}")
    return 0


def run_predict(args, session) -> int:
    network = load_model(args.model)
    output = output_path(args, args.data)
    info = model_info(network)
    data = load_for_model(args.data, info, data_settings(args), need_target=False, part=args.part)
    report_unexpected(args.data, data.unexpected)
    ids = None
    if args.id_column:
        if data.columns is None:
            raise ConfigurationError(
                f"--id-column is for tables (CSV, Parquet); {args.data} is not one"
            )
        if args.id_column not in data.columns:
            raise DataFileError(
                f"--id-column: no column {args.id_column!r} in {args.data}; columns: "
                f"{', '.join(data.columns.names)}"
            )
        ids = data.columns[args.id_column]
    header, rows = prediction_table(
        network, data.X, info, ids=ids, id_name=args.id_column or "", threshold=args.threshold
    )
    pieces = csv_pieces(header, rows)  # written as made: not the whole text at once
    if output is None:
        for piece in pieces:
            sys.stdout.write(piece)
    else:
        atomic_write(output, lambda file: [file.write(p.encode("utf-8")) for p in pieces])
        print(f"wrote {data.X.shape[1]} predictions to {output}")
    return 0


def report_unexpected(source: str, unexpected: dict | None) -> None:
    """One stderr line saying what a table holds that the model's training part did not,
    per column: categories it has not seen and missing values (nothing when it holds
    neither, or is not a table)."""
    parts = []
    for kind, what, done in (
        ("unseen", "categories outside the model's", "all zeros, or (other) where pooled"),
        ("missing", "missing values", "filled as in training"),
    ):
        counts = (unexpected or {}).get(kind) or {}
        if counts:
            listed = ", ".join(f"{printable(name)} {n:,}" for name, n in list(counts.items())[:8])
            more = f", ... ({len(counts):,} columns)" if len(counts) > 8 else ""
            parts.append(f"{what}: {listed}{more} ({done})")
    if parts:
        print(f"{printable(source)}: " + "; ".join(parts), file=sys.stderr)


def run_summary(args, session) -> int:
    if args.model and args.layers:
        raise ConfigurationError("give a MODEL file or --layers, not both")
    if args.m < 1:
        raise ConfigurationError(f"--m must be positive, got {args.m}")
    if args.model:
        network = DeepNetwork.load(args.model)
    elif args.layers:
        if len(args.layers) < 2:
            raise ConfigurationError(
                f"--layers for summary lists all of n[0], ..., n[L] (two or more), "
                f"got {args.layers}"
            )
        network = DeepNetwork(args.layers, activations=args.activation, dtype=args.dtype)
    else:
        raise ConfigurationError("give a MODEL file or --layers n0,n1,...,nL")
    network.summary(m=args.m)
    hp = network.hyperparameters
    print(cost_table(network.layer_dims, args.m, hp.dtype, hp.embedding_dims))
    return 0


def run_gradcheck(args, session) -> int:
    if args.m < 1:
        raise ConfigurationError(f"--m must be positive, got {args.m}")
    for flag in ("epsilon", "threshold"):
        value = getattr(args, flag)
        if not (value > 0 and math.isfinite(value)):
            raise ConfigurationError(f"--{flag} must be a positive number, got {value}")
    source = Path(args.model_or_config)
    if source.suffix.lower() == ".toml":
        config = configuration.from_file(source)
        config["data"]["source"] = args.data
        for key, value in data_settings(args).items():
            if value:
                config["data"][key] = value
        built = configuration.data_and_network(config)
        network = built.network
        network.initialize()
        X, Y = built.dataset.X_train, built.dataset.Y_train
    else:
        network = load_model(source)
        data = load_for_model(args.data, model_info(network), data_settings(args), need_target=True)
        X, Y = data.X, data.Y
        if Y is None:
            raise ConfigurationError(f"{args.data}: no targets to check the gradients against")
    X, Y = X[:, : args.m], Y[:, : args.m]
    result = gradcheck(network, X, Y, epsilon=args.epsilon, threshold=args.threshold)
    print(result)
    return 0 if result.passed else 1


def run_datasets(args, session) -> int:
    rows = []
    for info in DATASETS.values():
        needs = ""
        if info.extra:
            missing = _missing_package(info.name)
            needs = f"ldnn[{info.extra}]" + (" (not installed)" if missing else "")
        rows.append((info.name, info.shape, info.classes, info.source, needs))
    print(text_table(("name", "shape (n[0] x m)", "classes", "source", "needs"), rows))
    print("\nEach has a fixed seeded train/test split; `ldnn train NAME` trains on it.")
    return 0


def _missing_package(name: str) -> bool:
    module = {"mnist1d": "mnist1d", "faces": "skimage"}.get(name, "sklearn")
    return importlib.util.find_spec(module) is None


def run_export(args, session) -> int:
    """``ldnn export MODEL -o OUT``: the model as an ONNX graph (needs ldnn[onnx])."""
    from ..onnx import save_onnx

    network = load_model(args.model)
    output = output_path(args, stdout=False)
    save_onnx(network, output, dtype=args.dtype, opset=args.opset)
    print(f"wrote {output}")
    return 0
