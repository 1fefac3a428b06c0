"""Forward and backward propagation through L layers, vectorised over m examples.

This module is the notes' math in one place. Shapes, with X = A[0] of shape (n[0], m):

    W[l] : (n[l], n[l-1])     b[l] : (n[l], 1)      Z[l], A[l] : (n[l], m)
    dW[l] : (n[l], n[l-1])    db[l] : (n[l], 1)     dZ[l], dA[l] : (n[l], m)

Forward, for l = 1..L:
    Z[l] = W[l] . A[l-1] + b[l]          (b[l] broadcast over the m columns)
    A[l] = g[l](Z[l])
Backward, for l = L..1:
    dZ[l]   = dA[l] * g[l]'(Z[l])
    dW[l]   = (1/m) dZ[l] . A[l-1]^T
    db[l]   = (1/m) sum over columns of dZ[l]
    dA[l-1] = W[l]^T . dZ[l]

A batch-normalised layer (one with gamma[l]; :mod:`ldnn.batchnorm` writes its formulas
out) has Z[l] = W[l] . A[l-1] without b[l], normalises it to Z~[l] = gamma * Z_norm +
beta, and A[l] = g[l](Z~[l]); backward takes dZ~[l] = dA[l] * g[l]'(Z~[l]) back through
the normalisation to dZ[l], and goes on as above.

The notes' 1/m. Outside training, as the notes write it, each dW[l] and db[l] takes its
own 1/m. In training (``backward(..., training=True)``) the same sums are formed with
the 1/m applied once, to dZ[L]: every dZ[l] and dA[l] below is then 1/m times the
notes' one, and so are the products dZ[l] . A[l-1]^T and sum dZ[l], which need no
scaling of their own. The gradients are the same; one multiplication per layer is saved.

The arrays may come from NumPy or any module with its API; no formula names ``np``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import batchnorm
from .activations import Activation, get_activation
from .backend import get_xp
from .checks import check_columns
from .errors import ShapeError
from .losses import Loss, get_loss
from .parameters import check_parameters, layer_names, number_of_layers
from .regularization import dropout_mask, l2_cost
from .workspace import ALLOCATE, Workspace


class LayerCache(NamedTuple):
    """What layer l keeps from the forward pass for the backward pass.

    Attributes
    ----------
    linear_cache : tuple (A_prev, W, b)
        A[l-1] of shape (n[l-1], m) (after its own dropout, if any), W[l], b[l] (None in
        a batch-normalised layer).
    Z : ndarray of shape (n[l], m)
        The input of g[l]: Z[l], or Z~[l] in a batch-normalised layer.
    A : ndarray of shape (n[l], m)
        g(Z[l]) before dropout, kept because sigmoid' and tanh' are cheapest in A.
    D : ndarray of shape (n[l], m) or None
        The inverted dropout mask applied to A[l], None when dropout is off.
    norm : batchnorm.NormCache or None
        A batch-normalised layer's Z_norm, 1/sqrt(sigma^2 + eps) and gamma[l].
    """

    linear_cache: tuple
    Z: object
    A: object
    D: object = None
    norm: object = None


def resolve_activations(activations, L: int) -> tuple[Activation, ...]:
    """One Activation per layer, from a list of L names/objects (or one for all)."""
    if isinstance(activations, str | Activation):
        activations = [activations] * L
    if (
        type(activations) is tuple
        and len(activations) == L
        and all(isinstance(g, Activation) for g in activations)
    ):
        return activations  # already resolved (training resolves them once per fit)
    activations = list(activations)
    if len(activations) != L:
        raise ShapeError(
            f"activations must name one activation per layer (L = {L}), "
            f"got {len(activations)}: {activations}"
        )
    return tuple(get_activation(a, layer=l) for l, a in enumerate(activations, start=1))


def linear_forward(A_prev, W, b, out=None):
    """Z[l] = W[l] . A[l-1] + b[l], shape (n[l], m) (no b[l]: None); written into ``out``
    if given."""
    Z = get_xp(W).matmul(W, A_prev, out=out)
    if b is not None:
        # + b[l], broadcast over the m columns, added in place into the product: the same
        # values as W[l] . A[l-1] + b[l] without a second (n[l], m) array.
        Z += b
    return Z


def forward(
    X,
    parameters: dict,
    activations: Sequence[str | Activation],
    *,
    keep_probs: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
    masks: dict | None = None,
    workspace: Workspace | None = None,
    check: bool = True,
    batch_statistics: str = "running",
    momentum: float = 0.1,
):
    """Forward propagation through layers 1..L.

    Parameters
    ----------
    X : ndarray of shape (n[0], m)
    parameters : dict
        ``W{l}`` of shape (n[l], n[l-1]), ``b{l}`` of shape (n[l], 1), l = 1..L.
    activations : sequence of L activations (names or objects)
    keep_probs : sequence of L - 1 floats, optional
        Inverted dropout on hidden layer l with keep probability keep_probs[l-1].
    rng : numpy.random.Generator, optional
        Draws the dropout masks.
    masks : dict {l: D[l]}, optional
        Fixed dropout masks to use instead of drawing new ones (gradient checks).
    workspace : Workspace, optional
        Write Z[l], A[l] and the masks into its reusable arrays (training, inference in
        blocks); the results are then only valid until the next call with the same
        workspace, and for an activation with ``in_place`` the cache's Z[l] is A[l]
        itself (its backward reads the same from either).
    check : bool
        Validate the shapes of X and the parameters first.
    batch_statistics : {"running", "batch", "update"}
        Batch-normalised layers: normalise with the running statistics (inference), with
        the batch's own (gradient checks), or with the batch's while updating the running
        ones by ``momentum`` (training); see :mod:`ldnn.batchnorm`.

    Returns
    -------
    AL : ndarray of shape (n[L], m)
    caches : list of L LayerCache, caches[l-1] for layer l
    """
    if check:
        _check_forward(X, parameters)
    L = number_of_layers(parameters)
    activations = resolve_activations(activations, L)
    # With a workspace, A[l] = g(Z[l]) overwrites Z[l] where g allows it: one array less.
    overwrite = workspace is not None
    lent = workspace
    workspace = ALLOCATE if workspace is None else workspace
    caches = []
    A = X
    m = X.shape[1]
    for l in range(1, L + 1):
        A_prev = A
        W_name, b_name = layer_names(l)[:2]
        W, b, gamma = parameters[W_name], parameters.get(b_name), parameters.get(f"gamma{l}")
        arrays = workspace.layer(l, W, m)
        Z = linear_forward(A_prev, W, b, out=arrays.Z)
        norm = None
        if gamma is not None:  # Z~[l] = gamma * Z_norm + beta
            Z, norm = batchnorm.forward(
                Z, gamma, parameters[f"beta{l}"], parameters[f"mean{l}"], parameters[f"var{l}"],
                mode=batch_statistics, momentum=momentum, out=(arrays.Z_norm, arrays.Z_tilde),
                workspace=lent,
            )  # fmt: skip
        g = activations[l - 1]
        A = g.forward(Z, out=Z if g.in_place and overwrite else arrays.A)
        D = None
        if l < L and masks is not None and l in masks:
            D = masks[l]
        elif l < L and keep_probs is not None and keep_probs[l - 1] < 1:
            D = dropout_mask(Z.shape, keep_probs[l - 1], rng, A, out=arrays.D)
        caches.append(LayerCache((A_prev, W, b), Z, A, D, norm))
        if D is not None:
            A = get_xp(A).multiply(A, D, out=arrays.A_dropped)
    return A, caches


def forward_in_blocks(X, parameters: dict, activations, block: int = 1024, workspace=None):
    """A[L] of shape (n[L], m) for inference, computed ``block`` columns at a time.

    The same forward pass, on slices of X: each block's Z[l] and A[l] are written into
    one reused set of arrays small enough to stay in cache, so memory does not grow
    with m and no (n[l], m) intermediate is ever allocated. ``workspace`` lends those
    arrays (a network keeps one, so that repeated small predictions reuse them too).
    """
    _check_forward(X, parameters)
    L = number_of_layers(parameters)
    activations = resolve_activations(activations, L)
    m = X.shape[1]
    W_L = parameters[f"W{L}"]
    AL = get_xp(W_L).empty((W_L.shape[0], m), dtype=W_L.dtype)
    workspace = Workspace() if workspace is None else workspace
    for start in range(0, m, block):
        columns = slice(start, start + block)
        AL[:, columns], _ = forward(
            X[:, columns], parameters, activations, workspace=workspace, check=False
        )
    return AL


def _check_forward(X, parameters: dict) -> None:
    check_columns(X, check_parameters(parameters)[0], "X", "n[0]")


def linear_backward(
    dZ,
    linear_cache,
    *,
    lambd: float = 0.0,
    input_gradient=True,
    out=None,
    scale: float | None = None,
    column=None,
    scratch=None,
    m: float | None = None,
):
    """dA[l-1], dW[l], db[l] from dZ[l] and the layer's (A[l-1], W[l], b[l]).

    With ``lambd`` > 0 the L2 term (lambd / m) W[l] is added to dW[l], m the number of
    columns of A[l-1] unless ``m`` says otherwise (the whole batch's, when these columns
    are a share of it: see :mod:`ldnn.parallel`). With
    ``input_gradient`` False, dA[l-1] is not computed (None): training never needs dA[0].
    ``out`` is an optional triple of arrays to write (dA[l-1], dW[l], db[l]) into.
    ``scale`` is the factor of the sums in dW[l] and db[l]: the notes' 1/m (the
    default), or 1 when dZ[l] already carries the 1/m (training; see the module
    docstring). ``column`` is an optional reusable (m, 1) array holding ``scale`` in every
    entry, for db's sum; ``scratch``, one shaped like W[l] for the L2 term.
    """
    A_prev, W, b = linear_cache
    xp = get_xp(dZ)
    columns = A_prev.shape[1]
    m = columns if m is None else m
    dA_out, dW_out, db_out = (None, None, None) if out is None else out
    scale = 1 / m if scale is None else scale
    # dW[l] = (1/m) dZ[l] . A[l-1]^T
    dW = xp.matmul(dZ, A_prev.T, out=dW_out)
    if scale != 1:
        dW *= scale
    if lambd:
        dW += xp.multiply(W, lambd / m, out=scratch)
    # db[l] = (1/m) sum over the columns of dZ[l], written as the product of dZ[l] with a
    # column of m entries 1/m: one matrix-vector product, several times faster than
    # NumPy's sum along the rows. (A batch-normalised layer has no b[l].)
    if column is None:
        column = xp.full((columns, 1), scale, dtype=dZ.dtype)
    db = None if b is None else xp.matmul(dZ, column, out=db_out)
    # dA[l-1] = W[l]^T . dZ[l]
    dA_prev = xp.matmul(W.T, dZ, out=dA_out) if input_gradient else None
    return dA_prev, dW, db


def output_gradient(AL, Y, cache: LayerCache, activation: Activation, loss: Loss, out=None):
    """dZ[L], the gradient of the cost with respect to the output layer's Z."""
    if activation.name == loss.canonical_activation:
        # Canonical pairs: for sigmoid + binary cross-entropy, dL/da = (a - y) / (a(1 - a))
        # and g'(z) = a(1 - a) cancel; softmax + categorical cross-entropy and linear +
        # squared error give the same result. So dZ[L] = A[L] - Y, exactly and without
        # dividing by a(1 - a), which vanishes when the sigmoid saturates.
        return get_xp(AL).subtract(AL, Y, out=out)
    dAL = loss.gradient(AL, Y)
    return activation.backward(dAL, cache.Z, cache.A, out=out)


def backward(
    AL,
    Y,
    caches: Sequence[LayerCache],
    activations: Sequence[str | Activation],
    loss: str | Loss,
    *,
    lambd: float = 0.0,
    sample_weight=None,
    input_gradient: bool = True,
    workspace: Workspace | None = None,
    training: bool = False,
    batch_m: int | None = None,
    batch_weight: float | None = None,
):
    """Backward propagation through layers L..1.

    Parameters
    ----------
    AL : ndarray of shape (n[L], m)
    Y : ndarray of shape (n[L], m), as prepared by the loss
    caches : the list returned by :func:`forward`
    activations : the same L activations as in the forward pass
    loss : Loss or name
    lambd : float
        L2 strength; adds (lambd / m) W[l] to every dW[l].
    sample_weight : ndarray of shape (m,), optional
        Per-example weights: example i's column of dZ[L] is scaled by w_i / mean(w),
        which makes the gradients those of sum_i w_i L_i / sum_i w_i.
    input_gradient : bool
        Compute dA0, the gradient with respect to X (training does not need it).
    workspace : Workspace, optional
        Write dZ[l], dA[l], dW[l], db[l] into its reusable arrays.
    training : bool
        The training step's form of the same formulas: the 1/m is applied once, to
        dZ[L] (see the module docstring), and for an activation with ``in_place``
        dZ[l] overwrites dA[l], so the returned dA arrays are scratch and only dW and
        db are meant to be read. dW and db are the same as without it.
    batch_m, batch_weight : optional
        In training, when these m columns are one process's share of a mini-batch
        (:mod:`ldnn.parallel`): the whole batch's m and, with ``sample_weight``, its sum
        of weights. The 1/m (or 1/sum(w)) and the L2 term's lambd/m then take the whole
        batch's, so that the shares' dW and db add up to the batch's. Default: these
        columns are the whole batch.

    Returns
    -------
    grads : dict
        ``dA{l}`` for l = 0..L-1 (gradient with respect to A[l], shape (n[l], m);
        dA0 only with ``input_gradient``), ``dW{l}`` and ``db{l}`` for l = 1..L, shaped
        like W[l] and b[l] (a batch-normalised layer: ``dgamma{l}``, ``dbeta{l}`` instead
        of ``db{l}``).
    """
    L = len(caches)
    activations = resolve_activations(activations, L)
    loss = get_loss(loss)
    if Y.shape != AL.shape:
        raise ShapeError(f"Y must have the shape of A[L], {AL.shape}, got {Y.shape}")
    m = AL.shape[1]
    # The factor of dW[l] and db[l]'s sums: 1/m, or 1 in training, where dZ[L] took it.
    scale = 1.0 if training else 1 / m
    lent = workspace is not None  # arrays to write into; without, NumPy allocates
    column = workspace.filled("db column", (m, 1), scale, AL) if lent else None
    workspace = ALLOCATE if workspace is None else workspace
    grads = {}
    dA = None
    for l in range(L, 0, -1):
        cache = caches[l - 1]
        W = cache.linear_cache[1]
        _, _, dW_name, db_name, dA_prev_name, _ = layer_names(l)
        arrays = workspace.layer(l, W, m)
        if l == L:
            dZ = output_gradient(AL, Y, cache, activations[-1], loss, out=arrays.dZ)
            if sample_weight is not None:
                # example i's column times w_i / mean(w); in training w_i / sum(w), which
                # is that times the 1/m
                total = sample_weight.sum() if training else sample_weight.mean()
                total = total if batch_weight is None else batch_weight
                dZ *= (sample_weight / total).astype(dZ.dtype)
            elif training:
                dZ *= 1 / (m if batch_m is None else batch_m)
        else:
            g = activations[l - 1]
            # In training dZ[l] = dA[l] * g'(Z[l]) overwrites dA[l] where g allows it.
            in_place = g.in_place and training
            if cache.norm is None:
                dZ = g.backward(dA, cache.Z, cache.A, out=dA if in_place else arrays.dZ)
            else:  # dZ~[l] = dA[l] * g'(Z~[l]), then back through the normalisation
                dZ_tilde = g.backward(dA, cache.Z, cache.A, out=dA if in_place else arrays.dZ_tilde)
                dZ, grads[f"dgamma{l}"], grads[f"dbeta{l}"] = batchnorm.backward(
                    dZ_tilde, cache.norm, scale=scale,
                    out=(arrays.dZ, arrays.dZ_norm, arrays.dgamma, arrays.dbeta),
                    workspace=workspace if lent else None,
                )  # fmt: skip
        keep_dA = l > 1 or input_gradient
        dA, grads[dW_name], db = linear_backward(
            dZ,
            cache.linear_cache,
            lambd=lambd,
            input_gradient=keep_dA,
            out=(arrays.dA_prev if keep_dA else None, arrays.dW, arrays.db),
            scale=scale,
            column=column,
            scratch=workspace.get("l2", W.shape, W) if lambd and lent else None,
            m=batch_m,
        )
        if db is not None:
            grads[db_name] = db
        if keep_dA:
            if l > 1 and caches[l - 2].D is not None:
                # A[l-1] was multiplied by its dropout mask, so its gradient is too.
                dA *= caches[l - 2].D
            grads[dA_prev_name] = dA
    return grads


def compute_cost(
    AL, Y, loss: str | Loss, parameters: dict | None = None, lambd: float = 0.0, sample_weight=None,
    *, host: bool = True,
):  # fmt: skip
    """J = (1/m) sum of losses, plus (lambd / 2m) sum_l ||W[l]||^2 when lambd > 0.

    With ``sample_weight`` w of shape (m,), the data term is sum_i w_i L_i / sum_i w_i.
    With ``host`` False, on a GPU, J stays a 0-d device array (training reads it once
    an epoch).
    """
    loss = get_loss(loss)
    m = AL.shape[1]
    cost = loss.cost(AL, Y, sample_weight, host=host)
    if lambd and parameters is not None:
        cost = cost + l2_cost(parameters, lambd, m, host=host)
    return cost
