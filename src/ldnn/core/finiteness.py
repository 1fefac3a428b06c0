"""Whether parameters give finite outputs and a finite cost on data, cheaply.

Training can end with parameters that are finite but so large that the forward pass
overflows (a learning rate far too large). To tell, a bound from the norms settles the
common case without a forward pass: for each column a[l-1] of A[l-1],

    ||z[l]||_2 <= ||W[l]||_F ||a[l-1]||_2 + ||b[l]||_2          (Cauchy-Schwarz)
    ||a[l]||_2 <= gain * ||z[l]||_2   (relu, linear: gain 1; leaky relu: max(1, slope))
    ||a[l]||_2 <= sqrt(n[l])          (sigmoid, tanh: |a| <= 1; softmax: its column sums to 1)

(each activation says its own: ``Activation.norm_bound``)
starting from ||x||_2 <= sqrt(n[0]) max |x| (a batch-normalised layer with the W' and b'
its running statistics fold into, :func:`ldnn.core.batchnorm.folded`). When every such bound
stays far below the dtype's largest number, no product, sum or activation can overflow.
Otherwise (or for an activation of the user's, whose bound is inf) the forward pass
itself is run over the data, in blocks, and its outputs and cost are checked.

No parameters keep the squared error finite where a target's square already overflows
(|y| above sqrt of the largest number: 1.3e154 in float64):
:func:`ldnn.base.checks.check_targets` names such targets before training, which would
otherwise read as a divergence.
"""

from __future__ import annotations

import math

import numpy as np

from ..base.backend import get_xp
from .batchnorm import folded
from .losses import get_loss
from .parameters import number_of_layers
from .propagation import compute_cost, forward_in_blocks, resolve_activations
from .regularization import squared_norm

#: What a bound must stay below, as a fraction of the dtype's largest number.
_MARGIN = 1e-6


def output_bound(parameters: dict, activations, x_extent: float) -> float:
    """An upper bound of ||a[L]||_2 over columns x with max |x_i| <= ``x_extent``
    (inf when a layer's bound grows too large or its activation has none)."""
    L = number_of_layers(parameters)
    activations = resolve_activations(activations, L)
    limit = float(np.finfo(parameters["W1"].dtype).max) * _MARGIN
    bound = x_extent * math.sqrt(parameters["W1"].shape[1])
    for l in range(1, L + 1):
        # A batch-normalised layer at inference is the linear map its statistics fold into.
        with np.errstate(all="ignore"):
            W, b = folded(parameters, l)
        z = math.sqrt(squared_norm(W)) * bound + math.sqrt(squared_norm(b))
        if not z < limit:
            return math.inf
        bound = activations[l - 1].norm_bound(z, W.shape[0])  # inf: none known
        if not bound < limit:
            return math.inf
    return bound


def finite_on(parameters: dict, X, Y, activations, loss, x_extent: float) -> bool:
    """Whether ``parameters`` give finite outputs A[L] and a finite cost on X (n[0], m)
    and Y (n[L], m), or class labels Y (m,), whose entries are at most ``x_extent``."""
    loss = get_loss(loss)
    limit = float(np.finfo(parameters["W1"].dtype).max) * _MARGIN
    bound = output_bound(parameters, activations, x_extent)
    if loss.output_range is not None and bound < limit:
        return True  # cross-entropy of probabilities from finite Z: clipped, finite
    if loss.output_range is None and bound < math.sqrt(limit):
        y_extent = float(get_xp(Y).abs(Y).max()) if Y.size else 0.0
        # (||a|| + ||y||)^2 m < limit, asked without squaring: Python's float ** raises
        # OverflowError where NumPy's would give inf (targets of 1e300, say).
        if bound + y_extent * math.sqrt(Y.shape[0]) < math.sqrt(limit / max(Y.shape[-1], 1)):
            return True  # (a - y)^2 summed over m columns stays finite
    with np.errstate(all="ignore"):
        AL = forward_in_blocks(X, parameters, activations)
        if not math.isfinite(float(AL.min())) or not math.isfinite(float(AL.max())):
            return False
        if loss.output_range is not None:
            return True
        return math.isfinite(compute_cost(AL, Y, loss))
