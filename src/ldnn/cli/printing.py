"""What the commands print: scores as the terminal shows them, a training run's data and
model, how it ended, and a spread over seeds. Text from files (class and column names,
paths) is shown :func:`~ldnn.io.tables.printable`: its control characters escaped."""

from __future__ import annotations

import statistics
from pathlib import Path

from ..io.tables import printable, text_table
from ..training.averaging import swa_start_epoch


def format_scores(scores: dict, title: str = "") -> str:
    """A text table of the scores, as ``ldnn evaluate`` prints it: the first line sums
    them up (accuracy and log loss, or MSE, RMSE, MAE and R^2, in the target's units)."""
    lines = [printable(title)] if title else []
    if "error" in scores:  # the part could not be scored (its outputs overflow)
        lines.append(f"m = {scores['m']}   not scored: {printable(scores['error'])}")
    elif "accuracy" in scores:
        areas = "".join(
            f"   {label} = {scores[key]:.4f}"
            for key, label in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"))
            if key in scores
        )
        lines.append(
            f"m = {scores['m']}   accuracy = {scores['accuracy']:.4f}   "
            f"log loss = {scores['log_loss']:.4f}{areas}"
        )
        if "threshold" in scores:
            lines.append(
                f"predicted {scores['classes'][1]!r} where its probability >= "
                f"{scores['threshold']:g}"
            )
        names = [printable(name) for name in scores["per_class"]]
        width = max(8, *(len(n) for n in names))
        lines.append(f"{'class':<{width}}  precision  recall  f1      support")
        for name, s in zip(names, scores["per_class"].values(), strict=True):
            lines.append(
                f"{name:<{width}}  {s['precision']:<9.4f}  {s['recall']:<6.4f}  {s['f1']:<6.4f}"
                f"  {s['support']}"
            )
        if "macro" in scores:
            s = scores["macro"]
            lines.append(
                f"{'macro':<{width}}  {s['precision']:<9.4f}  {s['recall']:<6.4f}  {s['f1']:<6.4f}"
                f"  {scores['m']}"
            )
        lines.append("confusion matrix (rows: true class, columns: predicted):")
        cell = max(5, *(len(str(v)) + 1 for row in scores["confusion_matrix"] for v in row))
        for name, row in zip(names, scores["confusion_matrix"], strict=True):
            lines.append(f"{name:<{width}}  " + "".join(f"{v:>{cell}}" for v in row))
    else:
        lines.append(
            f"m = {scores['m']}   MSE = {scores['mse']:.6g}   RMSE = {scores['rmse']:.6g}   "
            f"MAE = {scores['mae']:.6g}   R^2 = {scores['r2']:.4f}"
        )
    return "\n".join(lines)


def seeds_summary(seeds, metrics: list[dict]) -> str:
    """Mean ± sd (over the seeds, sd with n - 1) of each part's headline scores."""
    lines = [f"over seeds {', '.join(map(str, seeds))} (mean ± sd):"]
    for part in ("train", "validation", "test"):
        for key in ("accuracy", "roc_auc", "r2", "cost"):
            values = [m.get(part, {}).get(key) for m in metrics]
            if values and all(isinstance(v, int | float) for v in values):
                sd = statistics.stdev(values) if len(values) > 1 else 0.0
                lines.append(f"  {part} {key}: {statistics.fmean(values):.4f} ± {sd:.4f}")
    return "\n".join(lines)


def describe(run) -> None:
    """The data (and what was done to each column of a table) and the model."""
    raw, hp = run.raw, run.network.hyperparameters
    if run.decisions():
        print(text_table(("column", "kind", "done"), run.decisions()))
    if raw.read_as:
        print(printable(f"table: {raw.read_as}"))
    print(
        printable(
            f"data: {raw.name}, {raw.m_train} training examples, "
            f"{raw.m_test} test examples, "
            f"{raw.n_features} features" + (f", target {raw.target!r}" if raw.target else "")
        )
    )
    embedding = ""
    if hp.embedding:  # the text columns of more than k categories
        sizes = ", ".join(f"{K:,}" for K in hp.embedding)
        embedding = f", embedding k={hp.embedding_width} of text columns of {sizes} categories"
    elif hp.embedding_width:
        embedding = f", no text column of more than {hp.embedding_width} categories to embed"
    averaging = ""
    if hp.swa_start:  # say it: the model is not the last epoch's parameters
        averaging = f", weights averaged from epoch {swa_start_epoch(hp)} on (--swa)"
    if run.ensemble > 1:  # ... nor one network's
        first = run.config["training"]["seed"]
        seeds = f"seeds {first}..{first + run.ensemble - 1}"
        averaging += f"; an ensemble of {run.ensemble} ({seeds}, --ensemble), Z[L] averaged"
    print(
        f"model: layer_dims {list(hp.layer_dims)}, {'/'.join(hp.activations)}, "
        f"{hp.optimizer} lr={hp.learning_rate:g}, {hp.epochs} epochs, "
        f"batch {hp.batch_size or 'full'}{embedding}{averaging}"
    )


def report(run, target: Path) -> None:
    """How training ended, each part's scores, and where the run folder is."""
    history, metrics, raw = run.history, run.metrics, run.raw
    if run.ensemble > 1 and len(run.members) == run.ensemble:
        epochs = ", ".join(str(len(network.history)) for network in run.members)
        print(f"trained {run.ensemble} networks ({epochs} epochs) in {run.seconds:.1f} s")
    else:
        print(f"trained {len(history)} epochs in {run.seconds:.1f} s ({history.stop_reason})")
    for part in ("train", "test"):
        if part in metrics:
            line = format_scores(metrics[part]).splitlines()[0]
            print(f"{part:>5}: {line}")
    if raw.reference and "test" in metrics and "accuracy" in metrics["test"]:
        print(f"test accuracy {metrics['test']['accuracy']:.1%}   ({raw.reference})")
    print(f"run folder: {printable(target)}")
