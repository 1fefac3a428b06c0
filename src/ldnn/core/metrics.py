"""Turning A[L] into predictions, and scoring them.

Two kinds of scores live here. During training, per mini-batch and per epoch: the
accuracy of A[L] against the loss-prepared Y, and (cost, accuracy) of parameters on a
data set; these are NumPy (or CuPy) one-liners on the training path. For reports
(``ldnn evaluate``, metrics.json, the estimators' validation scores): per-class
precision, recall and F1 and their macro means, ROC-AUC and PR-AUC, the confusion
matrix, log loss, MSE, RMSE, MAE and R^2, computed with scikit-learn's metrics where it
has them.
"""

from __future__ import annotations

import numpy as np

from ..base.backend import get_xp
from ..errors import ConfigurationError, MissingPackageError
from .activations import get_activation
from .losses import get_loss
from .propagation import compute_cost, forward_in_blocks


def is_classifier(output_activation: str) -> bool:
    return output_activation in ("sigmoid", "softmax")


def predictions(AL, output_activation: str):
    """Predictions from A[L] of shape (n[L], m).

    sigmoid  0/1 per unit (threshold 0.5), shape (n[L], m)
    softmax  the class index of the largest probability, shape (1, m)
    other    A[L] itself (regression)
    """
    xp = get_xp(AL)
    if output_activation == "sigmoid":
        return (AL > 0.5).astype(np.int64)
    if output_activation == "softmax":
        return xp.argmax(AL, axis=0).reshape(1, -1)
    return AL


def right_predictions(AL, Y, output_activation: str):
    """How many of the m examples are predicted right (all labels right, for multilabel),
    for Y the loss-prepared target of shape (n[L], m), 0/1 or one-hot: a 0-d array of AL's
    module; None for regression."""
    xp = get_xp(AL)
    if output_activation == "sigmoid":
        right = ((AL > 0.5) == (Y > 0.5)).all(axis=0)
    elif output_activation == "softmax":
        right = xp.argmax(AL, axis=0) == xp.argmax(Y, axis=0)
    else:
        return None
    return xp.count_nonzero(right)


def accuracy(AL, Y, output_activation: str) -> float | None:
    """Fraction of examples predicted right (all labels right, for multilabel).

    Y is the loss-prepared target of shape (n[L], m): 0/1 or one-hot. None for regression.
    """
    right = right_predictions(AL, Y, output_activation)
    return None if right is None else float(right / AL.shape[1])


def cost_and_accuracy(parameters: dict, X, Y, activations, loss) -> tuple[float, float | None]:
    """(J, accuracy) of ``parameters`` on X (n[0], m) and the loss-prepared Y (n[L], m):
    the data cost without dropout or the L2 term, as validation scores are taken."""
    AL = forward_in_blocks(X, parameters, activations)
    output = get_activation(activations[-1]).name
    return float(compute_cost(AL, Y, get_loss(loss))), accuracy(AL, Y, output)


def mean_squared_error(AL, Y) -> float:
    """(1/(m n[L])) sum (a - y)^2: the plain mean, without the cost's 1/2."""
    diff = AL.astype(np.float64) - Y.astype(np.float64)
    return float((diff * diff).mean())


# -- scores for reports ---------------------------------------------------------------------
def _sklearn_metrics():
    try:
        from sklearn import metrics
    except ImportError:
        raise MissingPackageError(
            "scores need scikit-learn's metrics: pip install 'ldnn[cli]'"
        ) from None
    return metrics


def class_probabilities(AL) -> np.ndarray:
    """P(class k | x) of shape (K, m): a sigmoid's one unit a becomes the rows [1 - a, a]."""
    AL = np.asarray(AL, dtype=np.float64)
    return np.vstack([1 - AL, AL]) if AL.shape[0] == 1 else AL


def log_loss(probabilities, labels) -> float:
    """The mean over the m examples of -log p(true class), in float64, with p clipped to
    [eps, 1]: the cross-entropy of the notes for class probabilities (K, m) and class
    indices (m,). (scikit-learn's log_loss would renormalise float32 probabilities.)"""
    P = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).ravel().astype(int)
    eps = np.finfo(np.float64).eps
    return float(-np.log(np.clip(P[y, np.arange(y.size)], eps, 1)).mean())


def predicted_classes(probabilities, threshold: float | None = None) -> np.ndarray:
    """The class index (m,) of class probabilities (K, m): the most probable class, or
    for K = 2 with a ``threshold``, the second class where its probability >= threshold."""
    P = np.asarray(probabilities)
    if threshold is None:
        return P.argmax(axis=0)
    if P.shape[0] != 2:
        raise ConfigurationError(f"--threshold is for two classes; the model has {P.shape[0]}")
    if not 0 <= threshold <= 1:
        raise ConfigurationError(f"--threshold must lie in [0, 1], got {threshold}")
    return (P[1] >= threshold).astype(int)


def classification_scores(probabilities, labels, classes, threshold: float | None = None) -> dict:
    """Scores of class probabilities (K, m) against class indices (1, m) or (m,).

    The predicted class is the most probable one; for two classes, with ``threshold``,
    it is the second class where its probability is at least ``threshold``. Besides
    accuracy, log loss, the per-class scores and the confusion matrix: their unweighted
    means over the classes ("macro"); for two classes the ROC-AUC and the PR-AUC (average
    precision) of the second class's probability; for more, the one-vs-rest macro ROC-AUC.
    The areas are left out where a class is absent from the labels.
    """
    metrics = _sklearn_metrics()
    P = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).ravel().astype(int)
    K = len(classes)
    predicted = predicted_classes(P, threshold)
    scores = counted_scores(y, predicted, classes, log_loss(P, y))
    if np.unique(y).size == K:  # the areas need every class among the labels
        if K == 2:
            scores["roc_auc"] = float(metrics.roc_auc_score(y, P[1]))
            scores["pr_auc"] = float(metrics.average_precision_score(y, P[1]))
        else:
            scores["roc_auc"] = float(
                metrics.roc_auc_score(y, _normalized(P).T, multi_class="ovr", average="macro")
            )
    if threshold is not None:
        scores["threshold"] = float(threshold)
    return scores


def counted_scores(y, predicted, classes, log_loss_value: float, counts=None) -> dict:
    """The scores of :func:`classification_scores` that count examples: accuracy, the
    per-class precision, recall, F1 and support, their macro means and the confusion
    matrix, of true classes ``y`` and ``predicted`` ones (m,), with the log loss given.
    With ``counts``, each (y, predicted) pair stands for that many examples: the cells of
    a confusion matrix, which scikit-learn's functions then weigh (the same integers in
    the same formulas as the examples themselves would give)."""
    metrics = _sklearn_metrics()
    labels = np.arange(len(classes))
    matrix = metrics.confusion_matrix(y, predicted, labels=labels, sample_weight=counts)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0, sample_weight=counts
    )
    per_class = {
        str(name): {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k, name in enumerate(classes)
    }
    return {
        "m": int(y.size if counts is None else np.sum(counts)),
        "accuracy": float(metrics.accuracy_score(y, predicted, sample_weight=counts)),
        "log_loss": log_loss_value,
        "macro": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        "per_class": per_class,
        "confusion_matrix": matrix.astype(np.int64).tolist(),
        "classes": [str(c) for c in classes],
    }


def _normalized(P) -> np.ndarray:
    """Columns summing to exactly 1, as roc_auc_score checks (float32 softmax may not)."""
    return P / P.sum(axis=0, keepdims=True)


def r2(targets, predicted) -> float:
    """R^2 = 1 - SS_res / SS_tot of predictions against targets, both (k, m), summed over
    the k outputs (scikit-learn's "variance_weighted"; the usual R^2 for one output).
    Constant targets give 1.0 for exact predictions and 0.0 otherwise."""
    metrics = _sklearn_metrics()
    Y, A = np.asarray(targets, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    return float(metrics.r2_score(Y.T, A.T, multioutput="variance_weighted"))


def regression_scores(predicted, targets) -> dict:
    """MSE, RMSE, MAE and R^2 of predictions against targets, both (k, m), in the data's
    units: the errors over all k * m values (RMSE = sqrt(MSE), in the target's units)."""
    metrics = _sklearn_metrics()
    A = np.asarray(predicted, dtype=np.float64)
    Y = np.asarray(targets, dtype=np.float64)
    return {
        "m": int(Y.shape[1]),
        "mse": float(metrics.mean_squared_error(Y.ravel(), A.ravel())),
        "rmse": float(metrics.root_mean_squared_error(Y.ravel(), A.ravel())),
        "mae": float(metrics.mean_absolute_error(Y.ravel(), A.ravel())),
        "r2": r2(Y, A),
    }
