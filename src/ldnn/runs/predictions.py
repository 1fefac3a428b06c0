"""What a trained model says about data, in the data's own terms: its predictions with
the class names or in the target's units, and the scores of those predictions.

The model's ``metadata["data"]`` (its *info*: task, classes, feature names and the
preparation, see :mod:`ldnn.data.sources`) says how to read the outputs A[L].
"""

from __future__ import annotations

import numpy as np

from ..core.metrics import (
    class_probabilities,
    classification_scores,
    is_classifier,
    predicted_classes,
    regression_scores,
)
from ..data.info import complete_info
from ..data.preparation import Preparation
from ..data.tables import Text
from ..errors import ConfigurationError


def model_info(network) -> dict:
    """What ``network`` remembers of its data; a model saved from Python gets defaults."""
    hp = network.hyperparameters
    return complete_info(
        network.metadata.get("data", {}),
        hp.layer_dims[0],
        hp.layer_dims[-1],
        is_classifier(hp.activations[-1]),
    )


def score_network(network, X, Y, info: dict, threshold: float | None = None) -> dict:
    """Scores of a network on X (n[0], m) and Y, both prepared as in training: for
    classification against class indices Y (1, m) (two classes: the second where its
    probability is at least ``threshold``, if given); for regression in the target's
    units."""
    return score_outputs(network.predict_proba(X), Y, info, threshold)


def score_outputs(AL, Y, info: dict, threshold: float | None = None) -> dict:
    """:func:`score_network`'s scores of the outputs A[L] (n[L], m) it computed."""
    if info["task"] == "classification":
        return classification_scores(class_probabilities(AL), Y, info["classes"], threshold)
    if threshold is not None:
        raise ConfigurationError("--threshold is for classifiers; this model is a regression")
    return regression_scores(*in_target_units(AL, Y, info))


def in_target_units(AL, Y, info: dict) -> tuple[np.ndarray, np.ndarray]:
    """A regression's outputs A[L] and prepared targets Y, both (n[L], m), back in the
    target's units (y = a * std + mean, with the training part's statistics), as float64:
    what its scores and pictures are computed on."""
    preparation = Preparation.from_metadata(info)
    to_units = preparation.inverse_y
    return to_units(np.asarray(AL, dtype=np.float64)), to_units(np.asarray(Y, dtype=np.float64))


def predicted(
    network, X, info: dict, threshold: float | None = None
) -> tuple[list[str], list | None, np.ndarray]:
    """(header, labels, values): what ``network`` says of each example of X (n[0], m),
    prepared as in training, one row of ``values`` per example.

    Classification: ``labels`` the predicted class's name per example (two classes with
    ``threshold``: the second where its probability is at least ``threshold``) and
    ``values`` (m, K) the probability of each class, headed "prediction", "p_<class>".
    Regression: ``labels`` None and ``values`` (m, n[L]) the outputs in the target's
    units (float64), headed "prediction" (or "prediction_0", ...).
    """
    AL = network.predict_proba(X)
    if info["task"] == "classification":
        P = class_probabilities(AL)
        classes = info["classes"]
        labels = [classes[k] for k in predicted_classes(P, threshold)]
        return ["prediction", *(f"p_{c}" for c in classes)], labels, P.T
    if threshold is not None:
        raise ConfigurationError("--threshold is for classifiers; this model is a regression")
    values = Preparation.from_metadata(info).inverse_y(AL.astype(np.float64))
    header = ["prediction"] if len(values) == 1 else [f"prediction_{i}" for i in range(len(values))]
    return header, None, values.T


def prediction_table(
    network, X, info: dict, *, ids=None, id_name: str = "", threshold: float | None = None
) -> tuple[list[str], list[list[str]]]:
    """(header, rows): :func:`predicted` as text, one row per example of X (n[0], m):
    class probabilities to 6 significant digits, a regression's outputs to 8. With
    ``ids`` (a column of the data, m values), the first column is ``id_name`` holding
    them. The rows are made as they are read (an iterator): the text of millions of
    rows is never held at once.
    """
    header, labels, values = predicted(network, X, info, threshold)
    if labels is not None:
        rows = (
            [label, *(f"{p:.6g}" for p in row)] for label, row in zip(labels, values, strict=True)
        )
    else:
        rows = ([f"{v:.8g}" for v in row] for row in values)
    if ids is not None:
        header = [id_name, *header]
        rows = ([text, *row] for text, row in zip(cell_texts(ids), rows, strict=True))
    return header, rows


def cell_texts(values):
    """A table's column as the text of its cells, one at a time: whole numbers without
    ".0", "" where a value is missing."""
    if isinstance(values, Text):
        return ("" if v is None else v for v in values.strings())
    return ("" if v != v else str(int(v)) if v == int(v) else repr(float(v)) for v in values)
