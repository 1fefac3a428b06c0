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

A batch-normalised layer (one with gamma[l]; :mod:`ldnn.core.batchnorm` writes its formulas
out) has Z[l] = W[l] . A[l-1] without b[l], normalises it to Z~[l] = gamma * Z_norm +
beta, and A[l] = g[l](Z~[l]); backward takes dZ~[l] = dA[l] * g[l]'(Z~[l]) back through
the normalisation to dZ[l], and goes on as above. A table's text columns are one-hot rows
of A[0], kept as codes (a CompactX): there W[1] . A[0] is a gather of W[1]'s columns and
dZ[1] . A[0]^T a scatter-add into them (:mod:`ldnn.core.categorical` sets them side by side).
With a learned embedding E1, a wide text column's rows of A[0] are E1[:, r], and dE1 is the
notes' dA[0] = W[1]^T . dZ[1] on those rows, scatter-added into E1's columns.

Each example's weight, the notes' 1/m, is said once (:func:`ldnn.core.losses.example_weights`:
1/m, w_i / sum w with sample weights, the whole batch's 1/m on a rank's share of it), and
backward multiplies dZ[L] by it. The chain rule carries it down to every dZ[l] and dA[l],
so the notes' (1/m) sums are plain sums: dW[l] = dZ[l] . A[l-1]^T, db[l] = sum of dZ[l]'s
columns. (:mod:`ldnn.course` keeps the notes' per-example dZ and dA, 1/m on each sum.)

The arrays may come from NumPy or any module with its API; no formula names ``np``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..base.backend import get_xp
from ..base.checks import check_columns
from ..errors import ShapeError
from . import batchnorm, categorical
from .activations import Activation, get_activation
from .losses import ExampleWeights, Loss, example_weights, get_loss
from .parameters import check_parameters, layer_names, number_of_layers
from .regularization import add_penalty_gradient, penalty_cost
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
    if categorical.holds_categories(A_prev):  # Z[1] of categories: W[1]'s columns gathered
        return categorical.linear_forward(A_prev, W, b, out)
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
    masks: dict | None = None,
    workspace: Workspace | None = None,
    in_place: bool = False,
    check: bool = True,
    batch_statistics: str = "running",
    momentum: float = 0.1,
    batch: batchnorm.Batch | None = None,
):
    """Forward propagation through layers 1..L.

    Parameters
    ----------
    X : ndarray of shape (n[0], m)
    parameters : dict
        ``W{l}`` of shape (n[l], n[l-1]), ``b{l}`` of shape (n[l], 1), l = 1..L.
    activations : sequence of L activations (names or objects)
    masks : dict {l: D[l]}, optional
        Inverted dropout: A[l] is multiplied by the mask D[l] of shape (n[l], m)
        (:func:`ldnn.core.regularization.dropout_masks` draws them).
    workspace : Workspace, optional
        Write Z[l], A[l] into its reusable arrays (training, inference in blocks); the
        results are then only valid until the next call with the same workspace.
    in_place : bool
        Write A[l] = g(Z[l]) over Z[l] where g allows it (``Activation.in_place``): one
        (n[l], m) array less; the cache's Z[l] is then A[l] itself, from which g's
        backward reads the same.
    check : bool
        Validate the shapes of X and the parameters first.
    batch_statistics : {"running", "batch", "update"}
        Batch-normalised layers: normalise with the running statistics (inference), with
        the batch's own (gradient checks), or with the batch's while updating the running
        ones by ``momentum`` (training); see :mod:`ldnn.core.batchnorm`.
    batch : batchnorm.Batch, optional
        Where X is this process's share of a mini-batch: the whole batch's statistics.

    Returns
    -------
    AL : ndarray of shape (n[L], m)
    caches : list of L LayerCache, caches[l-1] for layer l
    """
    if check:
        _check_forward(X, parameters)
    L = number_of_layers(parameters)
    activations = resolve_activations(activations, L)
    arrays_of = ALLOCATE if workspace is None else workspace
    caches = []
    # A table's embedded text columns: A[0] reads their k rows E1[:, r] (categorical.Embedded)
    A = X if "E1" not in parameters else categorical.Embedded(X, parameters["E1"])
    m = X.shape[1]
    for l in range(1, L + 1):
        A_prev = A
        W_name, b_name = layer_names(l)[:2]
        W, b, gamma = parameters[W_name], parameters.get(b_name), parameters.get(f"gamma{l}")
        arrays = arrays_of.layer(l, W, m)
        Z = linear_forward(A_prev, W, b, out=arrays.Z)
        norm = None
        if gamma is not None:  # Z~[l] = gamma * Z_norm + beta
            Z, norm = batchnorm.forward(
                Z,
                gamma,
                parameters[f"beta{l}"],
                parameters[f"mean{l}"],
                parameters[f"var{l}"],
                mode=batch_statistics,
                momentum=momentum,
                out=(arrays.Z_norm, arrays.Z_tilde),
                workspace=workspace,
                batch=batch,
            )
        g = activations[l - 1]
        A = g.forward(Z, out=Z if g.in_place and in_place else arrays.A)
        D = masks.get(l) if masks is not None and l < L else None
        caches.append(LayerCache((A_prev, W, b), Z, A, D, norm))
        if D is not None:
            A = get_xp(A).multiply(A, D, out=arrays.A_dropped)
    return A, caches


def forward_in_blocks(X, parameters: dict, activations, block: int = 1024, workspace=None):
    """A[L] of shape (n[L], m) for inference, computed ``block`` columns at a time (the
    last block up to 2 block - 1, :func:`column_blocks`).

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
    for columns in column_blocks(m, block):
        AL[:, columns], _ = forward(
            X[:, columns],
            parameters,
            activations,
            workspace=workspace,
            in_place=True,
            check=False,
        )
    return AL


def column_blocks(m: int, block: int = 1024) -> list[slice]:
    """Slices of ``block`` columns covering 0..m-1, the last taking the remainder (block to
    2 block - 1 columns): a sliver of a few columns would be a product that BLAS computes
    another way (one column: a matrix-vector product), in other bits than one pass over X."""
    count = max(m // block, min(m, 1))
    return [slice(k * block, (k + 1) * block if k < count - 1 else m) for k in range(count)]


def _check_forward(X, parameters: dict) -> None:
    n0 = check_parameters(parameters)[0]
    if "E1" in parameters:  # W[1]'s columns are X's rows with the embedded ones as E1's k
        X = categorical.Embedded(X, parameters["E1"])
    check_columns(X, n0, "X", "n[0]")


def linear_backward(dZ, linear_cache, *, input_gradient=True, out=None, ones=None):
    """dA[l-1], dW[l], db[l] from dZ[l] and the layer's (A[l-1], W[l], b[l]).

    dZ[l] carries each example's weight (see the module docstring), so the sums over
    examples are plain sums. With ``input_gradient`` False, dA[l-1] is not computed
    (None): training never needs dA[0]. ``out`` is an optional triple of arrays to write
    (dA[l-1], dW[l], db[l]) into; ``ones``, an optional (m, 1) column of ones to reuse.
    """
    A_prev, W, b = linear_cache
    xp = get_xp(dZ)
    dA_out, dW_out, db_out = (None, None, None) if out is None else out
    # dW[l] = dZ[l] . A[l-1]^T (of categories: a scatter-add into W[1]'s columns; no dA[0])
    if categorical.holds_categories(A_prev):
        dW, input_gradient = categorical.weight_gradient(dZ, A_prev, out=dW_out), False
    else:
        dW = xp.matmul(dZ, A_prev.T, out=dW_out)
    db = None  # a batch-normalised layer has no b[l]
    if b is not None:
        # db[l] = sum over the columns of dZ[l] (the notes' np.sum(dZ, axis=1,
        # keepdims=True)), formed as dZ[l] . 1, the product with a column of m ones: one
        # matrix-vector product, several times faster than NumPy's sum along the rows.
        ones = xp.ones((dZ.shape[1], 1), dtype=dZ.dtype) if ones is None else ones
        db = xp.matmul(dZ, ones, out=db_out)
    # dA[l-1] = W[l]^T . dZ[l]
    dA_prev = xp.matmul(W.T, dZ, out=dA_out) if input_gradient else None
    return dA_prev, dW, db


def output_gradient(AL, Y, cache: LayerCache, activation: Activation, loss: Loss, out=None):
    """dZ[L], the gradient of an example's loss with respect to the output layer's Z."""
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
    weights: ExampleWeights | None = None,
    lambd: float = 0.0,
    l1: float = 0.0,
    input_gradient: bool = True,
    workspace: Workspace | None = None,
    in_place: bool = False,
    on_layer=None,
):
    """Backward propagation through layers L..1.

    Parameters
    ----------
    AL : ndarray of shape (n[L], m)
    Y : ndarray of shape (n[L], m), as prepared by the loss
    caches : the list returned by :func:`forward`
    activations : the same L activations as in the forward pass
    loss : Loss or name
    weights : ExampleWeights, optional
        Each example's weight in the sums (:func:`ldnn.core.losses.example_weights`):
        default the notes' 1/m.
    lambd : float
        L2 strength: adds (lambd / m) W[l] to every dW[l] (m: ``weights.m``).
    l1 : float
        L1 strength: adds (l1 / m) sign(W[l]) to every dW[l].
    input_gradient : bool
        Compute dA0, the gradient with respect to X (training does not need it).
    workspace : Workspace, optional
        Write dZ[l], dA[l], dW[l], db[l] into its reusable arrays.
    in_place : bool
        Write dZ[l] = dA[l] * g'(Z[l]) over dA[l] where g allows it; the returned dA
        arrays are then scratch, and only dW and db are meant to be read.
    on_layer : callable (l) -> None, optional
        Called once layer l's gradients are final, l = L..1 (MPI ranks start adding up
        the last layers' while the first layers' are still computed).

    Returns
    -------
    grads : dict
        ``dA{l}`` for l = 0..L-1 (gradient with respect to A[l], shape (n[l], m); each
        column weighted as its example; dA0 only with ``input_gradient``), ``dW{l}`` and
        ``db{l}`` for l = 1..L, shaped like W[l] and b[l] (a batch-normalised layer:
        ``dgamma{l}``, ``dbeta{l}`` instead of ``db{l}``).
    """
    L = len(caches)
    activations = resolve_activations(activations, L)
    loss = get_loss(loss)
    if Y.shape != AL.shape:
        raise ShapeError(f"Y must have the shape of A[L], {AL.shape}, got {Y.shape}")
    m = AL.shape[1]
    weights = example_weights(m) if weights is None else weights
    arrays_of = ALLOCATE if workspace is None else workspace
    ones = None if workspace is None else workspace.filled("ones", (m, 1), 1.0, AL)  # db[l]'s
    grads, dA = {}, None
    for l in range(L, 0, -1):
        cache, g = caches[l - 1], activations[l - 1]
        W = cache.linear_cache[1]
        arrays = arrays_of.layer(l, W, m)
        if l == L:
            dZ = output_gradient(AL, Y, cache, g, loss, out=arrays.dZ)
            dZ *= weights.per_example  # column i times example i's weight: 1/m, w_i / sum w
        else:
            # dZ[l] = dA[l] * g'(Z[l]) (of Z~[l] in a batch-normalised layer, then back
            # through the normalisation)
            out = dA if g.in_place and in_place else arrays.dZ_tilde if cache.norm else arrays.dZ
            dZ = g.backward(dA, cache.Z, cache.A, out=out)
            if cache.norm is not None:
                dZ, grads[f"dgamma{l}"], grads[f"dbeta{l}"] = batchnorm.backward(
                    dZ,
                    cache.norm,
                    out=(arrays.dZ, arrays.dZ_norm, arrays.dgamma, arrays.dbeta),
                    workspace=workspace,
                )
        keep_dA = l > 1 or input_gradient
        out = (arrays.dA_prev if keep_dA else None, arrays.dW, arrays.db)
        dA, grads[f"dW{l}"], db = linear_backward(
            dZ, cache.linear_cache, input_gradient=keep_dA, out=out, ones=ones
        )
        if lambd or l1:  # + (lambd / m) W[l] + (l1 / m) sign(W[l]): the penalties'
            scratch = None if workspace is None else workspace.get("l2", W.shape, W)
            add_penalty_gradient(grads[f"dW{l}"], W, lambd, l1, weights.m, scratch)
        if db is not None:
            grads[f"db{l}"] = db
        if l == 1 and isinstance(cache.linear_cache[0], categorical.Embedded):
            # dE1: the notes' dA[0] = W[1]^T . dZ[1] on the embedded rows, into E1's columns
            A0 = cache.linear_cache[0]
            out = (
                None
                if workspace is None or workspace.gradients is None
                else workspace.gradients["dE1"]
            )
            grads["dE1"] = categorical.embedding_gradient(dZ, A0, W, out=out)
            if lambd or l1:
                add_penalty_gradient(grads["dE1"], A0.E, lambd, l1, weights.m)
        if on_layer is not None:
            on_layer(l)
        if keep_dA:
            if l > 1 and caches[l - 2].D is not None:
                # A[l-1] was multiplied by its dropout mask, so its gradient is too.
                dA *= caches[l - 2].D
            grads[f"dA{l - 1}"] = dA
    return grads


def compute_cost(
    AL,
    Y,
    loss: str | Loss,
    parameters: dict | None = None,
    lambd: float = 0.0,
    sample_weight=None,
    l1: float = 0.0,
):
    """J = (1/m) sum of losses, plus (lambd / 2m) sum_l ||W[l]||^2 when lambd > 0 and
    (l1 / m) sum_l sum_ij |W[l]_ij| when l1 > 0.

    With ``sample_weight`` w of shape (m,), the data term is sum_i w_i L_i / sum_i w_i.
    Computed in float64; a 0-d array of AL's module (a NumPy float64 on the CPU).
    """
    cost = get_loss(loss).cost(AL, Y, sample_weight)
    if (lambd or l1) and parameters is not None:
        cost = cost + penalty_cost(parameters, lambd, l1, AL.shape[1])
    return cost
