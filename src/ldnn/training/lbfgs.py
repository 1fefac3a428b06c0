"""Full-batch training with SciPy's L-BFGS-B (the optional ``lbfgs`` extra).

L-BFGS works on one flat vector theta, so the parameters are flattened in the order
W1, b1, ..., WL, bL; each function evaluation is one forward and one backward pass over
all m examples. Dropout is not supported: the cost must be a deterministic function.
One L-BFGS iteration is one epoch of the :class:`~ldnn.training.history.History`.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.flat import gradients_to_vector, parameters_to_vector, vector_to_parameters
from ..core.losses import example_weights, one_hot
from ..core.metrics import accuracy, cost_and_accuracy
from ..core.propagation import backward, compute_cost, forward, resolve_activations
from ..errors import ConfigurationError
from .history import History, run_callbacks


def _minimize():
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise ConfigurationError(
            "optimizer 'lbfgs' needs SciPy: pip install 'ldnn[lbfgs]'"
        ) from None
    return minimize


class _Stop(Exception):
    """Raised from SciPy's callback to end the run (a callback asked, or a NaN cost)."""


def train_lbfgs(
    parameters: dict,
    X,
    Y,
    hp,
    *,
    validation: tuple | None = None,
    callbacks=(),
    sample_weight=None,
    epochs: int | None = None,
    stop=None,
):
    """Train ``parameters`` in place with L-BFGS-B, for at most ``epochs`` iterations
    (default ``hp.epochs``); the arguments are those of :class:`ldnn.training.loop.Training`.
    The method draws nothing and keeps no state between calls: after ``stop`` ends a run
    (polled after every iteration), the next starts its memory afresh."""
    minimize = _minimize()
    if any(k < 1 for k in hp.keep_prob):
        raise ConfigurationError("optimizer 'lbfgs' does not support dropout (keep_prob < 1)")
    if Y.ndim == 1:  # class labels: the full batch's one-hot
        Y = one_hot(Y, hp.layer_dims[-1], X.dtype)
    activations = resolve_activations(hp.activations, hp.L)
    dtype = parameters["W1"].dtype
    weights = example_weights(X.shape[1], sample_weight, dtype=dtype)
    history = History()

    def cost_and_gradient(theta):
        params = vector_to_parameters(
            theta.astype(dtype), hp.layer_dims, embedding=hp.embedding_dims
        )
        AL, caches = forward(X, params, activations)
        cost = compute_cost(AL, Y, hp.loss, params, hp.lambd, sample_weight=sample_weight, l1=hp.l1)
        grads = backward(
            AL, Y, caches, activations, hp.loss, weights=weights, lambd=hp.lambd, l1=hp.l1
        )
        # SciPy's line search works in float64 whatever the network's dtype.
        return cost, gradients_to_vector(grads, hp.L, np.float64)

    theta0 = parameters_to_vector(parameters, np.float64)
    iterate = {"last finite": theta0}  # where to stop if a callback or NaN ends the run

    def after_iteration(intermediate_result):
        theta = intermediate_result.x
        epoch = len(history)
        params = vector_to_parameters(
            theta.astype(dtype), hp.layer_dims, embedding=hp.embedding_dims
        )
        record = {"epoch": epoch, "cost": float(intermediate_result.fun), "learning_rate": None}
        if not math.isfinite(record["cost"]):
            history.stop_reason = "diverged"
            raise _Stop
        iterate["last finite"] = np.array(theta)
        AL, _ = forward(X, params, activations)
        record["accuracy"] = accuracy(AL, Y, hp.activations[-1])
        if validation is not None:
            record["val_cost"], record["val_accuracy"] = cost_and_accuracy(
                params, *validation, activations, hp.loss
            )
        history.append(record)
        if run_callbacks(callbacks, epoch, record, params):
            history.stop_reason = "callback"
            raise _Stop
        if stop is not None and stop():
            history.stop_reason = "interrupted"
            raise _Stop

    try:
        result = minimize(
            cost_and_gradient,
            theta0,
            jac=True,
            method="L-BFGS-B",
            callback=after_iteration,
            options={"maxiter": hp.epochs if epochs is None else epochs},
        )
        final = result.x if math.isfinite(result.fun) else iterate["last finite"]
    except _Stop:
        final = iterate["last finite"]
    parameters.update(
        vector_to_parameters(
            np.asarray(final).astype(dtype), hp.layer_dims, embedding=hp.embedding_dims
        )
    )
    return history
