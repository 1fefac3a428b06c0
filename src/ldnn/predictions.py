"""What a trained model says about data, in the data's own terms: its predictions with
the class names or in the target's units, and the scores of those predictions.

The model's ``metadata["data"]`` (its *info*: task, classes, feature names and the
preparation, see :mod:`ldnn.data.sources`) says how to read the outputs A[L].
"""

from __future__ import annotations

import numpy as np

from .data.preparation import Preparation
from .data.sources import complete_info
from .metrics import class_probabilities, classification_scores, is_classifier, regression_scores


def model_info(network) -> dict:
    """What ``network`` remembers of its data; a model saved from Python gets defaults."""
    hp = network.hyperparameters
    return complete_info(
        network.metadata.get("data", {}),
        hp.layer_dims[0],
        hp.layer_dims[-1],
        is_classifier(hp.activations[-1]),
    )


def score_network(network, X, Y, info: dict) -> dict:
    """Scores of a network on X (n[0], m) and Y, both prepared as in training: for
    classification against class indices Y (1, m); for regression in the target's units."""
    AL = network.predict_proba(X)
    if info["task"] == "classification":
        return classification_scores(class_probabilities(AL), Y, info["classes"])
    preparation = Preparation.from_metadata(info)
    return regression_scores(preparation.inverse_y(AL), preparation.inverse_y(Y))


def prediction_table(network, X, info: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows): one row per example of X (n[0], m), prepared as in training.

    Classification: the predicted class's name, then the probability of each class
    (``p_<class>``, 6 significant digits). Regression: each output in the target's units
    (8 significant digits).
    """
    AL = network.predict_proba(X)
    if info["task"] == "classification":
        P = class_probabilities(AL)
        classes = info["classes"]
        header = ["prediction", *(f"p_{c}" for c in classes)]
        rows = [[classes[int(column.argmax())], *(f"{p:.6g}" for p in column)] for column in P.T]
        return header, rows
    values = Preparation.from_metadata(info).inverse_y(AL.astype(np.float64))
    header = ["prediction"] if len(values) == 1 else [f"prediction_{i}" for i in range(len(values))]
    return header, [[f"{v:.8g}" for v in column] for column in values.T]
