"""Full-batch training with SciPy's L-BFGS-B (the optional ``lbfgs`` extra).

L-BFGS works on one flat vector theta, so the parameters are flattened in the order
W1, b1, ..., WL, bL; each function evaluation is one forward and one backward pass over
all m examples. Dropout is not supported: the cost must be a deterministic function.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigurationError
from .metrics import accuracy
from .propagation import backward, compute_cost, forward, resolve_activations
from .vectorize import gradients_to_vector, parameters_to_vector, vector_to_parameters


def train_lbfgs(
    parameters, X, Y, hp, *, validation=None, callbacks=(), epochs=None, sample_weight=None
):
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise ConfigurationError(
            "optimizer 'lbfgs' needs SciPy: pip install 'ldnn[lbfgs]'"
        ) from None
    from .training import History, evaluate_cost

    if any(k < 1 for k in hp.keep_prob):
        raise ConfigurationError("optimizer 'lbfgs' does not support dropout (keep_prob < 1)")
    activations = resolve_activations(hp.activations, hp.L)
    dtype = parameters["W1"].dtype
    history = History()

    def cost_and_gradient(theta):
        params = vector_to_parameters(theta.astype(dtype), hp.layer_dims)
        AL, caches = forward(X, params, activations)
        cost = compute_cost(AL, Y, hp.loss, params, hp.lambd, sample_weight=sample_weight)
        grads = backward(
            AL, Y, caches, activations, hp.loss, lambd=hp.lambd, sample_weight=sample_weight
        )
        # SciPy's line search works in float64 whatever the network's dtype.
        return cost, gradients_to_vector(grads, hp.L, np.float64)

    class Stop(Exception):
        pass

    theta0 = parameters_to_vector(parameters, np.float64)
    iterate = {"last finite": theta0}  # where to stop if a callback or NaN ends the run

    def after_iteration(intermediate_result):
        theta = intermediate_result.x
        epoch = len(history)
        params = vector_to_parameters(theta.astype(dtype), hp.layer_dims)
        record = {"epoch": epoch, "cost": float(intermediate_result.fun), "learning_rate": None}
        if not math.isfinite(record["cost"]):
            history.stop_reason = "diverged"
            raise Stop
        iterate["last finite"] = np.array(theta)
        AL, _ = forward(X, params, activations)
        record["accuracy"] = accuracy(AL, Y, hp.activations[-1])
        if validation is not None:
            record["val_cost"], record["val_accuracy"] = evaluate_cost(params, *validation, hp)
        history.append(record)
        if any([callback(epoch, record, params) for callback in callbacks]):
            history.stop_reason = "callback"
            raise Stop

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
    except Stop:
        final = iterate["last finite"]
    parameters.update(vector_to_parameters(np.asarray(final).astype(dtype), hp.layer_dims))
    return history
