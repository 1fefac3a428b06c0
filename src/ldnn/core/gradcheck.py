"""Gradient checking: backward propagation against central differences.

For each entry theta_i of the flattened parameters (W1, b1, ..., WL, bL):

    dtheta_approx_i = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)

and the check compares the vectors with the relative difference

    difference = ||dtheta - dtheta_approx||_2 / (||dtheta||_2 + ||dtheta_approx||_2)

Everything runs in float64 whatever the model's dtype, because with eps = 1e-7 float32
cannot resolve the change in J. With dropout the masks are drawn once and held fixed,
so J is a deterministic function of theta. X may keep a table's categories as codes
(:class:`~ldnn.data.compact.CompactX`): layer 1 is then the gather and the scatter-add of
:mod:`ldnn.core.categorical`, checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..base.checks import as_array, check_same_m, check_sample_weight
from ..errors import ShapeError
from .categorical import holds_categories
from .flat import gradients_to_vector, locate
from .losses import example_weights, get_loss
from .parameters import check_parameters, names_of
from .propagation import backward, compute_cost, forward, resolve_activations
from .regularization import dropout_mask, resolve_keep_probs


@dataclass
class GradcheckResult:
    """Outcome of :func:`gradcheck`.

    Attributes
    ----------
    difference : float
        ||g - g_approx|| / (||g|| + ||g_approx||).
    threshold : float
    passed : bool
        difference < threshold.
    worst : list of (parameter, (row, column), backprop, numerical)
        The entries with the largest absolute disagreement, largest first.
    n_parameters : int
    """

    difference: float
    threshold: float
    passed: bool
    n_parameters: int
    worst: list = field(default_factory=list)

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"gradient check {verdict}: relative difference {self.difference:.3e} "
            f"(threshold {self.threshold:.0e}) over {self.n_parameters} parameters"
        ]
        if not self.passed:
            lines.append("largest disagreements (parameter[row, col]: backprop vs numerical):")
            for name, (i, j), g, g_approx in self.worst:
                lines.append(f"  {name}[{i}, {j}]: {g:.6e} vs {g_approx:.6e}")
        return "\n".join(lines)


def gradcheck(
    model_or_parameters,
    X,
    Y,
    *,
    activations=None,
    loss=None,
    lambd: float | None = None,
    keep_prob=None,
    l1: float | None = None,
    masks: dict | None = None,
    sample_weight=None,
    epsilon: float = 1e-7,
    threshold: float = 1e-7,
    seed: int = 0,
    n_worst: int = 5,
) -> GradcheckResult:
    """Check backward propagation against central differences.

    Parameters
    ----------
    model_or_parameters : DeepNetwork or dict
        A network (its parameters, activations, loss, lambd, l1 and keep_prob are used) or a
        parameters dict ``W{l}`` (n[l], n[l-1]), ``b{l}`` (n[l], 1).
    X : array of shape (n[0], m), or a CompactX (a table's categories as codes)
    Y : array of shape (n[L], m) (or labels, as the loss accepts them)
    activations, loss, lambd, keep_prob, l1
        Required with a parameters dict (lambd and l1 default to 0, keep_prob to 1);
        override the network's with a network.
    masks : dict {l: D[l]}, optional
        Fixed dropout masks; drawn once from ``seed`` when keep_prob < 1 and none given.
    sample_weight : array of shape (m,), optional
        Each example's weight: J = sum_i w_i L_i / sum_i w_i, and backward weighs dZ[L]
        by w_i / sum w.
    epsilon : float
        The step of the central differences.

    Returns
    -------
    GradcheckResult
    """
    parameters = model_or_parameters
    hp = getattr(model_or_parameters, "hyperparameters", None)
    if hp is not None:
        parameters = model_or_parameters.fitted_parameters()
        activations = hp.activations if activations is None else activations
        loss = hp.loss if loss is None else loss
        lambd = hp.lambd if lambd is None else lambd
        l1 = hp.l1 if l1 is None else l1
        keep_prob = hp.keep_prob if keep_prob is None else keep_prob
    if activations is None or loss is None:
        raise ShapeError("gradcheck on a parameters dict needs activations= and loss=")
    parameters = {k: np.asarray(v, dtype=np.float64) for k, v in parameters.items()}
    dims = check_parameters(parameters)
    L = len(dims) - 1
    activations = resolve_activations(activations, L)
    loss = get_loss(loss)
    lambd, l1 = lambd or 0.0, l1 or 0.0
    X = (X if holds_categories(X) else as_array(X, "X")).astype(np.float64)
    Y = loss.prepare_targets(as_array(Y, "Y"), dims[-1], np.float64)
    check_same_m(X, Y)
    w = None if sample_weight is None else check_sample_weight(sample_weight, X.shape[1])
    if masks is None and keep_prob is not None:
        keep = resolve_keep_probs(keep_prob, L)
        rng = np.random.default_rng(seed)
        masks = {
            l: dropout_mask((dims[l], X.shape[1]), k, rng, X)
            for l, k in enumerate(keep, start=1)
            if k < 1
        }

    # Batch-normalised layers in training mode: each pass normalises with the batch's
    # own statistics (the running ones are left as they are).
    def cost(params):
        AL, _ = forward(X, params, activations, masks=masks, batch_statistics="batch")
        return compute_cost(AL, Y, loss, params, lambd, sample_weight=w, l1=l1)

    AL, caches = forward(X, parameters, activations, masks=masks, batch_statistics="batch")
    weights = example_weights(X.shape[1], w)
    grads = backward(AL, Y, caches, activations, loss, weights=weights, lambd=lambd, l1=l1)
    g = gradients_to_vector(grads, L, np.float64)

    g_approx = np.empty_like(g)
    i = 0
    names = names_of(parameters)[0]
    for key in names:
        flat = parameters[key].reshape(-1)  # a view: perturbing it perturbs the parameter
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + epsilon
            J_plus = cost(parameters)
            flat[j] = original - epsilon
            J_minus = cost(parameters)
            flat[j] = original
            g_approx[i] = (J_plus - J_minus) / (2 * epsilon)
            i += 1

    denominator = np.linalg.norm(g) + np.linalg.norm(g_approx)
    difference = float(np.linalg.norm(g - g_approx) / denominator) if denominator else 0.0
    order = np.argsort(-np.abs(g - g_approx))[:n_worst]
    shapes = {key: parameters[key].shape for key in names}
    worst = [(*locate(int(k), shapes), float(g[k]), float(g_approx[k])) for k in order]
    return GradcheckResult(difference, threshold, difference < threshold, g.size, worst)
