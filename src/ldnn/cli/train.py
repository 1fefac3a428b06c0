"""``ldnn train``: resolve the configuration, train, and write the run folder."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import ConfigurationError, DivergenceWarning, LdnnError
from ..network import DeepNetwork
from ..progress import CourseLines, ProgressBar
from ..runs import default_run_name, dumps_toml, free_path, read_config, run_folder
from .config import DEFAULTS, merge, network_arguments, preset, resolved
from .data import load_training_data, preprocess, scale_x
from .scores import class_probabilities, format_scores, score_network

FLAGS = {
    "data": (
        "task", "test_split", "split_seed", "standardize", "target", "features", "x_key",
        "y_key", "labels",
    ),
    "model": ("layers", "activation", "output", "loss", "init", "keep_prob", "dtype"),
    "training": (
        "optimizer", "learning_rate", "lr_schedule", "decay_rate", "epochs", "batch_size",
        "lambd", "validation_split", "early_stopping", "seed", "device",
    ),
}  # fmt: skip
MODEL_FILE = "model.npz"
#: Hyperparameter names as errors give them, and the flag that sets each.
FLAG_FOR = {
    "learning_rate": "--lr",
    "lambd": "--l2",
    "validation_split": "--val-split",
    "early_stopping": "--early-stopping",
    "batch_size": "--batch-size",
    "keep_prob": "--keep-prob",
    "epochs": "--epochs",
    "decay_rate": "--decay-rate",
    "lr_schedule": "--lr-schedule",
    "seed": "--seed",
    "device": "--device",
    "unknown init": "--init",
    "unknown optimizer": "--optimizer",
}


def build_config(args) -> dict:
    """Defaults, then --preset, then --config, then the flags given on the command line."""
    config = DEFAULTS
    if args.preset:
        config = merge(config, preset(args.preset), f"--preset {args.preset}")
    if args.config:
        config = merge(config, read_config(args.config), f"config file {args.config!r}")
    flags = {
        table: {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
        for table, keys in FLAGS.items()
    }
    if args.data:
        flags["data"]["source"] = args.data
    if "layers" in flags["model"]:
        # A new depth makes per-layer lists from a config stale: keep them if uniform.
        for key in ("activation", "keep_prob"):
            value = config["model"][key]
            if key not in flags["model"] and isinstance(value, list):
                same = len(set(value)) == 1
                flags["model"][key] = value[0] if same else DEFAULTS["model"][key]
    config = merge(config, flags, "command line")
    for key in ("source", "labels"):
        value = config["data"][key]
        if value and Path(value).exists():
            config["data"][key] = str(Path(value).resolve())
    return config


def _network(config: dict, dataset) -> DeepNetwork:
    arguments = network_arguments(config, dataset.n_features, dataset.n_outputs)
    if dataset.task == "regression" and arguments["output"] is None and not arguments["loss"]:
        arguments["output"] = "linear"
    layer_dims = arguments.pop("layer_dims")
    if arguments["early_stopping"] and not arguments["validation_split"]:
        raise ConfigurationError(
            "--early-stopping needs a validation part to watch: add --val-split, e.g. 0.1"
        )
    try:
        return DeepNetwork(layer_dims, **arguments)
    except TypeError as error:
        raise ConfigurationError(f"invalid hyperparameter value: {error}") from None
    except LdnnError as error:
        flag = next((f for key, f in FLAG_FOR.items() if str(error).startswith(key)), None)
        if flag is None:
            raise
        raise type(error)(f"{error} (flag {flag})") from None


def _history_csv(history, test_costs: list) -> str:
    """One row per epoch: the History's columns, then the test cost (empty without one)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*history.COLUMNS, "test_cost"])
    for k, row in enumerate(history.rows()):
        values = [*row.values(), test_costs[k] if k < len(test_costs) else None]
        writer.writerow(
            ["" if v is None else repr(v) if isinstance(v, float) else v for v in values]
        )
    return buffer.getvalue()


def _fit(network: DeepNetwork, dataset, args) -> tuple:
    epochs = network.hyperparameters.epochs
    bar = None if args.quiet else ProgressBar(epochs, description=f"training on {dataset.name}")
    callbacks = [] if bar is None else [bar]
    if args.print_every:
        if args.print_every < 1:
            raise ConfigurationError(f"--print-every must be positive, got {args.print_every}")
        callbacks.append(CourseLines(args.print_every, epochs, bar.write if bar else print))
    test_costs = []
    if dataset.X_test is not None:
        # The test cost is watched for the learning curve only; nothing decides on it.
        def watch(epoch, record, parameters):
            test_costs.append(network.evaluate(dataset.X_test, dataset.Y_test)["cost"])

        callbacks.insert(0, watch)
    start = time.perf_counter()
    try:
        # A diverging run overflows on its way to the guard, which reports it once.
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always", DivergenceWarning)
            history = network.fit(dataset.X_train, dataset.Y_train, callbacks=callbacks)
    finally:
        if bar is not None:
            bar.close()
    for warning in caught:
        print(f"ldnn: warning: {warning.message}", file=sys.stderr)
    return history, time.perf_counter() - start, test_costs


def _pictures(folder: Path, network, history, raw, info, scores, test_costs) -> list[str]:
    from .. import plots

    written = []
    plots.learning_curve(
        history,
        folder / "learning_curve.png",
        f"Learning curve: {raw.name}",
        {"test cost": test_costs} if test_costs else None,
    )
    written.append("learning_curve.png")
    if info["task"] != "classification":
        return written
    name = "test" if "test" in scores else "train"
    plots.confusion_matrix(
        np.array(scores[name]["confusion_matrix"]),
        info["classes"],
        folder / "confusion_matrix.png",
        f"Confusion matrix: {raw.name} ({name} part)",
    )
    written.append("confusion_matrix.png")
    if raw.n_features == 2:

        def predict(X):
            return class_probabilities(network.predict_proba(scale_x(X, info))).argmax(axis=0)

        plots.decision_boundary(
            predict,
            raw.X_train,
            raw.Y_train,
            folder / "decision_boundary.png",
            info["classes"],
            f"Decision boundary: {raw.name} (training part)",
        )
        written.append("decision_boundary.png")
    if raw.image_shape is not None:
        plots.first_layer_weights(network.parameters["W1"], raw.image_shape, folder / "weights.png")
        written.append("weights.png")
    return written


def run_train(args) -> int:
    config = build_config(args)
    raw = load_training_data(config["data"])
    dataset, info = preprocess(raw, config["data"]["standardize"])
    network = _network(config, dataset)
    config = resolved(config, network.hyperparameters)
    target = (
        Path(args.runs_dir) / args.name
        if args.name
        else free_path(Path(args.runs_dir), default_run_name(config["data"]["source"]))
    )
    if target.exists() and not args.overwrite:
        raise ConfigurationError(
            f"run folder {str(target)!r} exists; choose another --name or pass --overwrite"
        )
    if not args.quiet:
        hp = network.hyperparameters
        print(
            f"data: {raw.name}, {raw.X_train.shape[1]} training examples, "
            f"{0 if raw.X_test is None else raw.X_test.shape[1]} test examples, "
            f"{raw.n_features} features" + (f", target {raw.target!r}" if raw.target else "")
        )
        print(
            f"model: layer_dims {list(hp.layer_dims)}, {'/'.join(hp.activations)}, "
            f"{hp.optimizer} lr={hp.learning_rate:g}, {hp.epochs} epochs, "
            f"batch {hp.batch_size or 'full'}"
        )
    history, seconds, test_costs = _fit(network, dataset, args)
    with np.errstate(all="ignore"):  # a diverged model scores NaN, said once above
        scores = {"train": score_network(network, dataset.X_train, dataset.Y_train, info)}
        if dataset.X_test is not None:
            scores["test"] = score_network(network, dataset.X_test, dataset.Y_test, info)
    metrics = {
        **scores,
        "epochs_run": len(history),
        "stop_reason": history.stop_reason,
        "best_epoch": history.best_epoch,
        "train_seconds": round(seconds, 3),
    }
    if raw.reference:
        metrics["reference"] = raw.reference
    network.metadata = {"data": info, "run": target.name}
    with run_folder(target, overwrite=args.overwrite) as folder:
        network.save(folder / MODEL_FILE)
        comment = f"ldnn run {target.name}: rerun with `ldnn train --config config.toml`"
        (folder / "config.toml").write_text(dumps_toml(config, comment))
        (folder / "history.csv").write_text(_history_csv(history, test_costs))
        pictures = (
            []
            if args.no_plots
            else _pictures(folder, network, history, raw, info, scores, test_costs)
        )
        metrics["pictures"] = pictures
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _report(target, history, metrics, raw, seconds)
    return 0


def _report(target: Path, history, metrics: dict, raw, seconds: float) -> None:
    print(f"trained {len(history)} epochs in {seconds:.1f} s ({history.stop_reason})")
    for part in ("train", "test"):
        if part in metrics:
            s = metrics[part]
            line = format_scores(s).splitlines()[0]
            print(f"{part:>5}: {line}")
    if raw.reference and "test" in metrics and "accuracy" in metrics["test"]:
        print(f"test accuracy {metrics['test']['accuracy']:.1%}   ({raw.reference})")
    print(f"run folder: {target}")
