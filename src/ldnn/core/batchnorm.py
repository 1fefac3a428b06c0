"""Batch normalisation of a layer's Z, in the course's notation (Improving Deep Neural
Networks, week 3), beside :mod:`ldnn.core.propagation`, which calls it for the layers that
have gamma[l].

A batch-normalised layer l has no b[l] (beta[l] takes its place). Forward, in training,
over the m examples (columns) of a mini-batch:

    Z[l]     = W[l] . A[l-1]
    mu       = (1/m) sum_i z(i)                            (n[l], 1)
    sigma^2  = (1/m) sum_i (z(i) - mu)^2                   (n[l], 1)
    Z_norm   = (Z[l] - mu) / sqrt(sigma^2 + eps)
    Z~[l]    = gamma[l] * Z_norm + beta[l]
    A[l]     = g[l](Z~[l])

Running statistics for inference, updated at every training step (PyTorch's convention:
``momentum`` 0.1, and the unbiased variance):

    mean[l] = (1 - momentum) mean[l] + momentum mu
    var[l]  = (1 - momentum) var[l]  + momentum sigma^2 m / (m - 1)

and at inference Z_norm = (Z[l] - mean[l]) / sqrt(var[l] + eps). Backward, in training,
from dZ~[l] = dA[l] * g[l]'(Z~[l]) (with the notes' 1/m on the sums):

    dbeta[l]  = (1/m) sum_i dZ~(i)
    dgamma[l] = (1/m) sum_i dZ~(i) * Z_norm(i)
    dZ_norm   = dZ~[l] * gamma[l]
    dZ[l]     = (dZ_norm - mean_i dZ_norm - Z_norm * mean_i(dZ_norm * Z_norm)) / sqrt(sigma^2 + eps)

and then dW[l] = (1/m) dZ[l] . A[l-1]^T and dA[l-1] = W[l]^T . dZ[l] as for any layer.
dZ~[l] carries each example's weight (1/m, see :mod:`ldnn.core.propagation`), so dbeta
and dgamma are plain sums; the means over i are the batch's true means (1/m), part of
the normalisation itself. Row sums and means are products with a column of m equal
entries, as db[l]'s faster form is.

Where each process (MPI rank) holds a share of the batch's columns, a :class:`Batch` gives
the whole batch's m and a ``reduce`` that adds up the shares' partial sums of the four
means (mu, sigma^2, dZ's two); dbeta and dgamma travel with dW in the step's reduction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ..base.backend import get_xp

#: eps of sqrt(sigma^2 + eps): PyTorch's default, the same in training and inference.
EPSILON = 1e-5
#: How the statistics of a forward pass are taken.
MODES = ("running", "batch", "update")


class Batch(NamedTuple):
    """The mini-batch a layer's statistics are taken over when this process holds a share
    of its columns: its number of examples m (all shares together), and ``reduce``, which
    returns partial sums (n[l], k) added up over the shares (one process: the sums)."""

    m: int
    reduce: Callable


class NormCache(NamedTuple):
    """What a batch-normalised layer keeps: Z_norm (n[l], m), the column 1 / sqrt(sigma^2
    + eps), gamma[l], the :class:`Batch` (None: Z is the whole batch); mu, sigma^2 (n[l],
    1) for the course view (backward reads the first four)."""

    Z_norm: object
    inv_std: object
    gamma: object
    batch: Batch | None = None
    mu: object = None
    sigma2: object = None


def column(m: int, value: float, like, workspace=None):
    """An (m, 1) column holding ``value``: row sums and means as matrix products."""
    if workspace is not None:
        return workspace.filled(f"column {value}", (m, 1), value, like)
    return get_xp(like).full((m, 1), value, dtype=like.dtype)


def forward(
    Z, gamma, beta, mean, var, *, mode="running", momentum=0.1, out=None, workspace=None, batch=None
):
    """Z~ = gamma * Z_norm + beta for Z (n[l], m), and the cache backward needs (None
    with ``mode`` "running").

    Parameters
    ----------
    mean, var : arrays (n[l], 1)
        The running statistics; with ``mode`` "update" they are updated in place.
    mode : {"running", "batch", "update"}
        Normalise with the running statistics (inference), with the batch's own (a
        gradient check), or with the batch's while updating the running ones (training).
    out : (Z_norm, Z_tilde) arrays of shape (n[l], m), optional
    batch : Batch, optional
        When Z holds this process's share of a batch's columns: the batch's statistics.
    """
    xp = get_xp(Z)
    Z_norm_out, Z_tilde_out = (None, None) if out is None else out
    if mode == "running":
        inv_std = 1 / xp.sqrt(var + EPSILON)
        Z_norm = xp.subtract(Z, mean, out=Z_norm_out)
    else:
        m, reduce = (Z.shape[1], _same) if batch is None else batch
        means = column(Z.shape[1], 1 / m, Z, workspace)
        mu = reduce(xp.matmul(Z, means))  # (1/m) sum_i z(i)
        Z_norm = xp.subtract(Z, mu, out=Z_norm_out)  # Z - mu, normalised below
        squares = xp.multiply(Z_norm, Z_norm, out=Z_tilde_out)
        # (1/m) sum_i (z(i) - mu)^2 about the batch's mu, a second reduction: E[z^2] - mu^2
        # would need one, but cancels catastrophically where |mu| >> sigma.
        sigma2 = reduce(xp.matmul(squares, means))
        inv_std = 1 / xp.sqrt(sigma2 + EPSILON)
        if mode == "update":
            mean *= 1 - momentum
            mean += momentum * mu
            var *= 1 - momentum
            var += momentum * sigma2 * (m / (m - 1) if m > 1 else 1.0)
    Z_norm *= inv_std
    Z_tilde = xp.multiply(Z_norm, gamma, out=Z_tilde_out)
    Z_tilde += beta
    cache = None if mode == "running" else NormCache(Z_norm, inv_std, gamma, batch, mu, sigma2)
    return Z_tilde, cache


def _same(sums):
    return sums


def folded(parameters: dict, l: int):
    """(W, b) of layer l as inference computes it, a batch-normalised layer's statistics
    folded in: gamma (W a - mean) / sqrt(var + eps) + beta = W' a + b' with
    W' = (gamma / sqrt(var + eps)) * W (each row scaled) and b' = beta - gamma mean /
    sqrt(var + eps). A layer without batch norm: its own W[l], b[l]."""
    W = parameters[f"W{l}"]
    if f"gamma{l}" not in parameters:
        return W, parameters[f"b{l}"]
    xp = get_xp(W)
    scale = parameters[f"gamma{l}"] / xp.sqrt(parameters[f"var{l}"] + EPSILON)
    return W * scale, parameters[f"beta{l}"] - scale * parameters[f"mean{l}"]


def backward(dZ_tilde, cache: NormCache, *, out=None, workspace=None):
    """(dZ[l], dgamma[l], dbeta[l]) from dZ~[l] (n[l], m), which carries each example's
    weight. ``out``: (dZ, dZ_norm, dgamma, dbeta) arrays to write into."""
    xp = get_xp(dZ_tilde)
    Z_norm, inv_std, gamma, batch = cache[:4]
    m = dZ_tilde.shape[1]
    dZ_out, dZ_norm_out, dgamma_out, dbeta_out = (None,) * 4 if out is None else out
    ones = column(m, 1.0, dZ_tilde, workspace)
    means = column(m, 1 / (m if batch is None else batch.m), dZ_tilde, workspace)
    # dbeta = sum_i dZ~(i);  dgamma = sum_i dZ~(i) * Z_norm(i)
    dbeta = xp.matmul(dZ_tilde, ones, out=dbeta_out)
    product = xp.multiply(dZ_tilde, Z_norm, out=dZ_out)
    dgamma = xp.matmul(product, ones, out=dgamma_out)
    # dZ_norm = dZ~ * gamma
    dZ_norm = xp.multiply(dZ_tilde, gamma, out=dZ_norm_out)
    # dZ = (dZ_norm - mean_i dZ_norm - Z_norm mean_i(dZ_norm * Z_norm)) / sqrt(sigma^2 + eps)
    mean_dZ_norm = xp.matmul(dZ_norm, means)
    product = xp.multiply(dZ_norm, Z_norm, out=product)
    mean_product = xp.matmul(product, means)
    if batch is not None:  # the whole batch's two means, in one reduction
        both = batch.reduce(xp.concatenate((mean_dZ_norm, mean_product), axis=1))
        mean_dZ_norm, mean_product = both[:, :1], both[:, 1:]
    dZ = xp.multiply(Z_norm, mean_product, out=product)
    xp.subtract(dZ_norm, dZ, out=dZ)
    dZ -= mean_dZ_norm
    dZ *= inv_std
    return dZ, dgamma, dbeta
