"""Weights of the training examples by their class ([data] class_weight)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigurationError
from .datasets import Dataset
from .shared_stats import summed


def class_weights(dataset: Dataset, chosen) -> np.ndarray | None:
    """Each training example's weight, shape (m,), or None for ``chosen`` "" (all 1).

    ``"balanced"`` weighs class k by m / (K m_k), scikit-learn's rule (so every class
    weighs as much in the cost as the others together); a table {class name: weight}
    weighs the classes it names (the others 1).
    """
    if not chosen:
        return None
    if dataset.task != "classification":
        raise ConfigurationError("class_weight is for classification; this target is numbers")
    labels = np.asarray(dataset.Y_train).reshape(-1).astype(int)
    K = len(dataset.classes)
    if chosen == "balanced" and dataset.ranks is not None:
        # Each rank holds its own examples: the whole part's counts, summed across the
        # ranks, in scikit-learn's formula m / (K_present m_k) (compute_class_weight's).
        counts = summed(dataset.ranks, np.bincount(labels, minlength=K))
        present = np.flatnonzero(counts)
        weights = np.ones(K)
        weights[present] = counts.sum() / (len(present) * counts[present].astype(np.float64))
    elif chosen == "balanced":
        from sklearn.utils.class_weight import compute_class_weight

        present = np.unique(labels)
        weights = np.ones(K)
        weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    else:
        unknown = sorted(set(chosen) - set(dataset.classes))
        if unknown:
            raise ConfigurationError(
                f"class_weight names {unknown}, which are not classes: {dataset.classes}"
            )
        weights = np.array([float(chosen.get(c, 1.0)) for c in dataset.classes])
    return weights[labels]
