"""Scores for ``ldnn evaluate`` and metrics.json: per-class precision, recall and F1,
log loss and the confusion matrix for classifiers; MSE, MAE and R^2 for regression."""

from __future__ import annotations

import numpy as np


def class_probabilities(AL) -> np.ndarray:
    """P(class k | x) of shape (K, m): a sigmoid's one unit a becomes the rows [1 - a, a]."""
    AL = np.asarray(AL, dtype=np.float64)
    return np.vstack([1 - AL, AL]) if AL.shape[0] == 1 else AL


def classification_scores(probabilities, labels, classes) -> dict:
    """Scores of class probabilities (K, m) against class indices (1, m) or (m,)."""
    P = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).ravel().astype(int)
    K, m = len(classes), y.size
    predicted = P.argmax(axis=0)
    matrix = np.zeros((K, K), dtype=int)
    np.add.at(matrix, (y, predicted), 1)
    eps = np.finfo(np.float64).eps
    log_loss = float(-np.log(np.clip(P[y, np.arange(m)], eps, 1)).mean())
    per_class = {}
    for k, name in enumerate(classes):
        tp = matrix[k, k]
        precision = tp / matrix[:, k].sum() if matrix[:, k].sum() else 0.0
        recall = tp / matrix[k].sum() if matrix[k].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[str(name)] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(matrix[k].sum()),
        }
    return {
        "m": int(m),
        "accuracy": float((predicted == y).mean()),
        "log_loss": log_loss,
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "classes": [str(c) for c in classes],
    }


def regression_scores(predicted, targets, names=None) -> dict:
    """MSE, MAE and R^2 of predictions against targets, both (k, m), in the data's units."""
    A = np.asarray(predicted, dtype=np.float64)
    Y = np.asarray(targets, dtype=np.float64)
    residual = A - Y
    total = ((Y - Y.mean(axis=1, keepdims=True)) ** 2).sum()
    return {
        "m": int(Y.shape[1]),
        "mse": float((residual**2).mean()),
        "mae": float(np.abs(residual).mean()),
        "r2": float(1 - (residual**2).sum() / total) if total else float("nan"),
    }


def format_scores(scores: dict, title: str = "") -> str:
    """A text table of the scores, as ``ldnn evaluate`` prints it."""
    lines = [title] if title else []
    if "accuracy" in scores:
        lines.append(
            f"m = {scores['m']}   accuracy = {scores['accuracy']:.4f}   "
            f"log loss = {scores['log_loss']:.4f}"
        )
        names = list(scores["per_class"])
        width = max(8, *(len(n) for n in names))
        lines.append(f"{'class':<{width}}  precision  recall  f1      support")
        for name, s in scores["per_class"].items():
            lines.append(
                f"{name:<{width}}  {s['precision']:<9.4f}  {s['recall']:<6.4f}  {s['f1']:<6.4f}"
                f"  {s['support']}"
            )
        lines.append("confusion matrix (rows: true class, columns: predicted):")
        cell = max(5, *(len(str(v)) + 1 for row in scores["confusion_matrix"] for v in row))
        for name, row in zip(names, scores["confusion_matrix"], strict=True):
            lines.append(f"{name:<{width}}  " + "".join(f"{v:>{cell}}" for v in row))
    else:
        lines.append(
            f"m = {scores['m']}   MSE = {scores['mse']:.6g}   MAE = {scores['mae']:.6g}   "
            f"R^2 = {scores['r2']:.4f}"
        )
    return "\n".join(lines)


def score_network(network, X, Y, info: dict) -> dict:
    """Scores of a network on X (n[0], m) and Y (scaled as in training)."""
    from .data import unscale_y

    AL = network.predict_proba(X)
    if info["task"] == "classification":
        return classification_scores(class_probabilities(AL), Y, info["classes"])
    return regression_scores(unscale_y(AL, info), unscale_y(Y, info))
