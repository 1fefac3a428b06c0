"""The scores of a part that MPI ranks hold together, each its own examples, computed
without gathering the part: :func:`~ldnn.core.metrics.classification_scores` and
:func:`~ldnn.core.metrics.regression_scores`, from what the ranks add up.

- What counts examples (accuracy, each class's precision, recall, F1 and support, the
  confusion matrix): from the confusion matrix summed across the ranks, its K^2 cells
  weighted by their counts in scikit-learn's own functions
  (:func:`~ldnn.core.metrics.counted_scores`): the same integers in the same formulas.
- Log loss, MSE, MAE, R^2: sums across the ranks (R^2's about the targets' mean, found
  first).
- The areas under the curves need the examples in the order of their scores, which no
  rank holds whole. For every chunk of each rank's positive examples (their scores as
  order-preserving keys, :data:`CHUNK` a rank at a time, gathered), every rank counts,
  by binary search in its own sorted keys, its negatives below, tied with and at or
  above each, and its positives at or above each; the counts are summed. Then

      ROC-AUC = sum over positives of (negatives below + 1/2 negatives tied) / (n+ n-)

  (the Mann-Whitney statistic, which the trapezoidal area under the ROC curve equals),
  and the average precision is the mean over the positives of the precision at their
  score, TP(s >= t) / (TP(s >= t) + FP(s >= t)) (scikit-learn's sum of
  (R_n - R_{n-1}) P_n over its thresholds). A rank holds its own examples and P x CHUNK
  keys, not the part.

The numbers are one process's within rounding (sums in another order): tested against
scikit-learn's at 1e-12.
"""

from __future__ import annotations

import numpy as np

from ..core.metrics import class_probabilities, counted_scores, predicted_classes
from ..data.shared_stats import order_keys, summed
from .predictions import in_target_units

#: Positive examples a rank asks about per round of the areas' counts.
CHUNK = 1 << 16


def shared_scores(AL, Y, info: dict, ranks) -> dict | None:
    """The scores of the part whose outputs A[L] (n[L], m_r) and prepared targets Y this
    rank holds, as :func:`~ldnn.runs.predictions.score_outputs` gives them for the whole
    part: every rank calls it at once, and rank 0 gets them (the others None: they do
    not even import scikit-learn)."""
    if info["task"] != "classification":
        return _regression(*in_target_units(AL, Y, info), ranks)
    y = np.asarray(Y).ravel().astype(np.int32)
    classes = info["classes"]
    K = len(classes)
    # The counts and the log loss's sum, a chunk of examples at a time (no temporary of m).
    cells, losses, eps = np.zeros(K * K, dtype=np.int64), 0.0, np.finfo(np.float64).eps
    for start in range(0, y.size, CHUNK):
        P, labels = class_probabilities(AL[:, start : start + CHUNK]), y[start : start + CHUNK]
        cells += np.bincount(labels * K + predicted_classes(P, None), minlength=K * K)
        losses += float(-np.log(np.clip(P[labels, np.arange(labels.size)], eps, 1)).sum())
    matrix = summed(ranks, cells).reshape(K, K)
    loss = summed(ranks, losses) / int(matrix.sum())
    lead = ranks.Get_rank() == 0
    true, guessed = np.nonzero(matrix)
    scores = (
        counted_scores(true, guessed, classes, loss, counts=matrix[true, guessed]) if lead else {}
    )
    if (matrix.sum(axis=1) > 0).all():  # the areas need every class among the labels
        if K == 2:  # (the second class's probability: a sigmoid's a, or softmax's row 1)
            second = np.asarray(AL[-1], dtype=np.float64)
            scores["roc_auc"], scores["pr_auc"] = _areas(second, y == 1, ranks)
        else:  # one class against the rest, each its probability among the K (sum 1)
            total = np.asarray(AL, dtype=np.float64).sum(axis=0)
            areas = [_areas(AL[k] / total, y == k, ranks)[0] for k in range(K)]
            scores["roc_auc"] = float(np.mean(areas))
    return scores if lead else None


def _areas(score: np.ndarray, positive: np.ndarray, ranks) -> tuple[float, float]:
    """(ROC-AUC, average precision) of ``score`` for the ``positive`` examples of all
    ranks (this rank's: score and positive, (m_r,) each); see the module."""
    keys = order_keys(score)
    pos, neg = keys[positive], keys[~positive]
    del keys
    pos.sort(), neg.sort()  # (in place: no third copy)
    n_pos, n_neg = summed(ranks, pos.size), summed(ranks, neg.size)
    twice_u, precisions = 0, 0.0  # (twice the statistic: whole numbers, exact)
    rounds = max(ranks.allgather(-(-pos.size // CHUNK)))
    for r in range(rounds):
        asked = ranks.allgather(pos[r * CHUNK : (r + 1) * CHUNK])
        queries = np.concatenate(asked)
        below, to = np.searchsorted(neg, queries, "left"), np.searchsorted(neg, queries, "right")
        counts = np.stack(
            [below, to - below, neg.size - below, pos.size - np.searchsorted(pos, queries)]
        ).astype(np.int64)
        counts = summed(ranks, counts)  # every rank's: negatives below, tied, >=; positives >=
        first = sum(len(a) for a in asked[: ranks.Get_rank()])
        mine = counts[:, first : first + len(asked[ranks.Get_rank()])]
        twice_u += int((2 * mine[0] + mine[1]).sum())
        precisions += float((mine[3] / (mine[3] + mine[2])).sum())
    twice_u, precisions = summed(ranks, twice_u), summed(ranks, precisions)
    return twice_u / (2 * n_pos * n_neg), precisions / n_pos


def _regression(predicted, targets, ranks) -> dict:
    """MSE, RMSE, MAE and R^2 (variance-weighted over the k outputs) of :func:`
    ~ldnn.core.metrics.regression_scores`, from sums across the ranks."""
    A, Y = np.asarray(predicted, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    m = summed(ranks, Y.shape[1])
    errors = Y - A
    mse = summed(ranks, float(np.square(errors).sum())) / (m * len(Y))
    mae = summed(ranks, float(np.abs(errors).sum())) / (m * len(Y))
    mean = summed(ranks, Y.sum(axis=1)) / m
    residual = summed(ranks, float(np.square(errors).sum()))
    total = summed(ranks, float(np.square(Y - mean[:, None]).sum()))
    if total > 0:
        r2 = 1 - residual / total
    else:  # constant targets: 1 for exact predictions, else 0 (as scikit-learn says)
        r2 = 1.0 if residual == 0 else 0.0
    scores = {"m": int(m), "mse": mse, "rmse": float(np.sqrt(mse)), "mae": mae, "r2": float(r2)}
    return scores if ranks.Get_rank() == 0 else None
