"""Regularisation as it enters the cost and the gradients.

L2 (weight decay), as the course writes it:
    J_regularized = J + (lambd / (2m)) * sum_l ||W[l]||_F^2
    dW[l] += (lambd / m) * W[l]
L1 (``l1``, lambda_1), which pushes every weight towards 0 by the same amount:
    J_regularized = J + (l1 / m) * sum_l sum_ij |W[l]_ij|
    dW[l] += (l1 / m) * sign(W[l])          (the subgradient 0 where W[l]_ij = 0)
The biases are not penalised; a table's embedding E1, a factor of W[1], is.

Inverted dropout on hidden layer l with keep probability keep_prob:
    D[l] = (random(n[l], m) < keep_prob) / keep_prob,   A[l] = A[l] * D[l]
Dividing by keep_prob keeps the expected value of A[l] unchanged, so nothing needs
rescaling at prediction time, when dropout is off. The backward pass multiplies dA[l]
by the same D[l].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..base.backend import get_xp
from ..errors import ConfigurationError


def l2_cost(parameters: dict, lambd: float, m: int):
    """The L2 term (lambd / (2m)) * sum_l ||W[l]||_F^2, computed in float64 (a 0-d array of
    the parameters' module; 0.0 without L2)."""
    if not lambd:
        return 0.0
    total = 0.0
    for name, W in parameters.items():
        if name.startswith("W") or name == "E1":  # (a table's embedding E is a factor of W[1])
            total = total + squared_norm(W)
    return lambd / (2 * m) * total


def l1_cost(parameters: dict, l1: float, m: int):
    """The L1 term (l1 / m) * sum_l sum_ij |W[l]_ij|, in float64 (0.0 without L1)."""
    if not l1:
        return 0.0
    total = 0.0
    for name, W in parameters.items():
        if name.startswith("W") or name == "E1":
            xp = get_xp(W)
            total = total + xp.sum(xp.abs(W), dtype=np.float64)
    return l1 / m * total


def penalty_cost(parameters: dict, lambd: float, l1: float, m: int):
    """Both terms the cost gains from the weights: L2's and L1's."""
    cost = l2_cost(parameters, lambd, m)
    return cost + l1_cost(parameters, l1, m) if l1 else cost


def add_penalty_gradient(dW, W, lambd: float, l1: float, m: int, scratch=None) -> None:
    """dW += (lambd / m) W + (l1 / m) sign(W), in place: the penalties' gradients."""
    xp = get_xp(W)
    if lambd:
        dW += xp.multiply(W, lambd / m, out=scratch)
    if l1:
        sign = xp.sign(W, out=scratch)
        sign *= l1 / m
        dW += sign


def squared_norm(W):
    """||W||_F^2 = sum of W_ij^2, accumulated in float64 (a 0-d array of W's module).

    One formula on every device, so that a GPU's cost adds up as the CPU's does: einsum
    converts to float64 in small buffers, with no float64 copy of W per training step."""
    return get_xp(W).einsum("ij,ij->", W, W, dtype=np.float64)


def resolve_keep_probs(keep_prob: float | Sequence[float], L: int) -> tuple[float, ...]:
    """keep_prob for each hidden layer 1..L-1, from one value or a list of L - 1.

    The output layer never drops units.
    """

    def number(k) -> bool:
        return isinstance(k, int | float | np.integer | np.floating) and not isinstance(k, bool)

    if number(keep_prob):
        values = (float(keep_prob),) * (L - 1)
    elif isinstance(keep_prob, list | tuple | np.ndarray) and all(number(k) for k in keep_prob):
        values = tuple(float(k) for k in keep_prob)
        if len(values) != L - 1:
            raise ConfigurationError(
                f"keep_prob must be one value or one per hidden layer (L - 1 = {L - 1}), "
                f"got {len(values)} values: {list(values)}",
                field="keep_prob",
            )
    else:
        raise ConfigurationError(
            f"keep_prob must be a number or a list of numbers (one per hidden layer), "
            f"got {keep_prob!r}",
            field="keep_prob",
        )
    for l, k in enumerate(values, start=1):
        if not 0 < k <= 1:
            raise ConfigurationError(
                f"keep_prob for layer {l} must lie in (0, 1], got {k}", field="keep_prob"
            )
    return values


def dropout_mask(
    shape: tuple[int, int], keep_prob: float, rng: np.random.Generator, like, out=None
):
    """D = (random(shape) < keep_prob) / keep_prob, with the dtype and module of ``like``.

    The draws come from the one seeded NumPy generator even when ``like`` lives on a
    GPU, so a run draws the same masks on either device. ``out`` is an optional array of
    ``shape`` to write the mask into.
    """
    xp = get_xp(like)
    host_out = out if xp is np else None
    D = rng.random(shape, dtype=np.dtype(like.dtype), out=host_out)
    if xp is not np:
        D = xp.asarray(D) if out is None else _copy_into(out, D)
    xp.less(D, keep_prob, out=D)  # 1 where the unit is kept, 0 where it is dropped
    D /= keep_prob
    return D


def _copy_into(out, host):
    out[...] = get_xp(out).asarray(host)
    return out


def dropout_masks(layer_dims, m: int, keep_probs, rng, like, *, workspace=None, columns=None):
    """{l: D[l]} for every hidden layer l with keep_prob < 1, each of shape (n[l], m),
    drawn in layer order (the order of a forward pass). ``workspace`` lends the arrays;
    with ``columns``, only those columns of each mask are kept (a rank's share of the
    mini-batch: every rank draws the whole batch's masks, so the generators stay in step
    and example i gets the same mask whichever rank holds it)."""
    masks = {}
    for l, keep in enumerate(keep_probs, start=1):
        if keep < 1:
            shape = (layer_dims[l], m)
            out = None if workspace is None else workspace.get(f"D{l}", shape, like)
            D = dropout_mask(shape, keep, rng, like, out=out)
            masks[l] = D if columns is None else D[:, get_xp(D).asarray(columns)]
    return masks
