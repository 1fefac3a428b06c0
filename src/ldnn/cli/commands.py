"""``ldnn evaluate | predict | summary | gradcheck | datasets``."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigurationError
from ..io import atomic_write
from ..network import DeepNetwork
from .data import load_for_model, model_info, unscale_y
from .scores import class_probabilities, format_scores, score_network


def _data_settings(args) -> dict:
    return {k: getattr(args, k, None) for k in ("target", "x_key", "y_key", "labels")}


def run_evaluate(args) -> int:
    network = DeepNetwork.load(args.model)
    info = model_info(network)
    X, Y, _ = load_for_model(
        args.data, info, _data_settings(args), need_target=True, part=args.part
    )
    if Y is None:
        raise ConfigurationError(f"{args.data}: no targets to evaluate against")
    scores = score_network(network, X, Y, info)
    if args.json:
        print(json.dumps(scores, indent=2))
    else:
        print(format_scores(scores, f"{args.model} on {args.data}"))
    return 0


def run_predict(args) -> int:
    network = DeepNetwork.load(args.model)
    info = model_info(network)
    X, _, _ = load_for_model(
        args.data, info, _data_settings(args), need_target=False, part=args.part
    )
    AL = network.predict_proba(X)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if info["task"] == "classification":
        P = class_probabilities(AL)
        classes = info["classes"]
        writer.writerow(["prediction", *(f"p_{c}" for c in classes)])
        for k, column in enumerate(P.T):
            writer.writerow([classes[int(P[:, k].argmax())], *(f"{p:.6g}" for p in column)])
    else:
        values = unscale_y(AL.astype(np.float64), info)
        names = (
            ["prediction"] if len(values) == 1 else [f"prediction_{i}" for i in range(len(values))]
        )
        writer.writerow(names)
        for column in values.T:
            writer.writerow([f"{v:.8g}" for v in column])
    text = buffer.getvalue()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        atomic_write(args.output, lambda file: file.write(text.encode()))
        print(f"wrote {X.shape[1]} predictions to {args.output}")
    return 0


def cost_table(layer_dims, m: int, dtype: str) -> str:
    """Parameter count, FLOPs per example, and memory for a batch of m examples."""
    dims = list(layer_dims)
    parameters = sum(dims[l] * dims[l - 1] + dims[l] for l in range(1, len(dims)))
    # A forward pass costs one multiply and one add per weight, plus the bias add;
    # backward costs about twice that (dW and dA_prev), hence the usual 3x for training.
    forward = sum(2 * dims[l] * dims[l - 1] + dims[l] for l in range(1, len(dims)))
    size = np.dtype(dtype).itemsize
    activations = sum(2 * n * m for n in dims[1:]) + dims[0] * m  # Z[l], A[l] and X
    memory = (2 * parameters + activations) * size  # W, b, their gradients, caches
    return "\n".join(
        [
            f"FLOPs per example: forward {forward:,}, forward + backward ~{3 * forward:,}",
            f"memory for a batch of m = {m} ({dtype}): parameters + gradients + caches "
            f"~{_bytes(memory)}",
        ]
    )


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def run_summary(args) -> int:
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
    print(cost_table(network.layer_dims, args.m, network.hyperparameters.dtype))
    return 0


def run_gradcheck(args) -> int:
    from ..gradcheck import gradcheck

    source = Path(args.model_or_config)
    if source.suffix.lower() == ".toml":
        from ..runs import read_config
        from .config import DEFAULTS, merge
        from .data import load_training_data, preprocess
        from .train import _network

        config = merge(DEFAULTS, read_config(source), f"config file {str(source)!r}")
        config["data"]["source"] = args.data
        for key, value in _data_settings(args).items():
            if value:
                config["data"][key] = value
        dataset, info = preprocess(
            load_training_data(config["data"]), config["data"]["standardize"]
        )
        network = _network(config, dataset)
        network.initialize()
        X, Y = dataset.X_train, dataset.Y_train
    else:
        network = DeepNetwork.load(source)
        info = model_info(network)
        X, Y, _ = load_for_model(args.data, info, _data_settings(args), need_target=True)
    if args.m < 1:
        raise ConfigurationError(f"--m must be positive, got {args.m}")
    X, Y = X[:, : args.m], Y[:, : args.m]
    result = gradcheck(network, X, Y, epsilon=args.epsilon, threshold=args.threshold)
    print(result)
    return 0 if result.passed else 1


def run_datasets(args) -> int:
    from ..data.datasets import DATASETS

    rows = [("name", "shape (n[0] x m)", "classes", "source", "needs")]
    for info in DATASETS.values():
        needs = ""
        if info.extra:
            missing = _missing_package(info.name)
            needs = f"ldnn[{info.extra}]" + (" (not installed)" if missing else "")
        rows.append((info.name, info.shape, info.classes, info.source, needs))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print("\nEach has a fixed seeded train/test split; `ldnn train NAME` trains on it.")
    return 0


def _missing_package(name: str) -> bool:
    module = {"mnist1d": "mnist1d", "faces": "skimage"}.get(name, "sklearn")
    return importlib.util.find_spec(module) is None


def run_export(args) -> int:
    """``ldnn export MODEL -o OUT``: the model as an ONNX graph (needs ldnn[onnx])."""
    from ..onnx import export_file

    export_file(args.model, args.output, dtype=args.dtype, opset=args.opset)
    print(f"wrote {args.output}")
    return 0
