"""Building a network for a task: the output layer follows from the targets.

=====================  ==========================  ===============================
task                   output layer                loss
=====================  ==========================  ===============================
classification, K = 2  1 sigmoid unit              binary cross-entropy
                       (2 softmax units if asked)  (categorical cross-entropy)
classification, K > 2  K softmax units             categorical cross-entropy
multilabel (K labels)  K independent sigmoids      binary cross-entropy, summed
regression (k targets) k linear units              mean squared error (1/2m)
=====================  ==========================  ===============================

The command line, the search, the experiments and the scikit-learn estimators all build
their networks here: layer_dims = [n[0], hidden..., n[L]] with n[L] and g[L] from this
table, and every other setting passed through to :class:`~ldnn.model.network.DeepNetwork`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigurationError
from .network import DeepNetwork

TASKS = ("classification", "multilabel", "regression")


def output_layer(task: str, n: int) -> tuple[int, str, str]:
    """(n[L], g[L], loss) for ``task`` with ``n`` classes, labels or targets."""
    if task == "classification":
        if n < 2:
            raise ConfigurationError(f"classification needs 2 or more classes, got {n}")
        if n == 2:
            return 1, "sigmoid", "binary_crossentropy"
        return n, "softmax", "categorical_crossentropy"
    if task == "multilabel":
        return n, "sigmoid", "binary_crossentropy"
    if task == "regression":
        return n, "linear", "mean_squared_error"
    raise ConfigurationError(f"task must be one of {', '.join(TASKS)}, got {task!r}")


def network_for(
    n_features: int,
    hidden: Sequence[int],
    *,
    task: str,
    n: int,
    output: str | None = None,
    loss: str | None = None,
    **settings,
) -> DeepNetwork:
    """A :class:`DeepNetwork` with layer_dims [n_features, *hidden, n[L]] for ``task``.

    Parameters
    ----------
    n_features : int
        n[0].
    hidden : sequence of int
        n[1], ..., n[L-1]; empty for a network without hidden layers.
    task : "classification", "multilabel" or "regression"
    n : int
        The number of classes, labels or regression targets.
    output, loss : str, optional
        Set either to override the table's output layer (the other then follows from it,
        as :class:`DeepNetwork` resolves them); by default both come from the table.
    **settings
        Everything else :class:`DeepNetwork` takes: activations, init, keep_prob,
        optimizer, learning_rate, epochs, batch_size, seed, dtype, ...
    """
    n_out, default_output, default_loss = output_layer(task, n)
    if output is None and loss is None:
        output, loss = default_output, default_loss
    elif task == "classification" and n == 2 and "softmax" in (output, _output_of(loss)):
        n_out = 2  # two classes through a softmax: one unit per class, as for K > 2
    return DeepNetwork([n_features, *hidden, n_out], output=output, loss=loss, **settings)


def _output_of(loss: str | None) -> str | None:
    return "softmax" if loss == "categorical_crossentropy" else None


def network_for_dataset(dataset, hidden: Sequence[int], **settings) -> DeepNetwork:
    """:func:`network_for` a :class:`~ldnn.data.Dataset`'s features and targets."""
    return network_for(
        dataset.n_features, hidden, task=dataset.task, n=dataset.n_targets, **settings
    )
