"""Layer 1 on a table's categories: the one-hot product as a gather, its gradient as a
scatter-add.

A text column of K categories is K rows of the notes' X = A[0], one-hot: example i holds
a 1 in row r(i), its category's, and 0 in the other K - 1. A matrix times the one-hot
column e_r is the matrix's column r, W[1] . e_r = W[1][:, r]. So with A[0] split into its
numeric rows N (X_N, dense) and one code r_c(i) per text column c
(:class:`ldnn.data.compact.CompactX`), layer 1's two products read, column by column:

    the notes (dense)             with categories (the one-hot A[0] is never built)
    Z[1] = W[1] . A[0] + b[1]     z[1](i) = W[1][:, N] . x_N(i) + sum_c W[1][:, r_c(i)] + b[1]
    dW[1] = dZ[1] . A[0]^T        dW[1][:, N] = dZ[1] . X_N^T
                                  dW[1][:, r] = sum over the i with r_c(i) = r of dZ[1][:, i]

The first is a gather of W[1]'s columns (one per example and text column), the second a
scatter-add of dZ[1]'s columns into the category columns of dW[1]: the numbers of the
dense products at O(n[1] m) per text column instead of O(n[1] K m), and no (K, m) array.
W[1] keeps its shape (n[1], n[0]), one column per category, so the model, its file, its
summary and its ONNX graph are the dense form's. An example whose category the model has
not seen (r = -1) has an all-zero one-hot column: it adds nothing to either sum.
db[1] and everything above layer 1 are the notes' formulas as they are
(:mod:`ldnn.core.propagation`); dA[0], a gradient with respect to 0/1 entries, is not
computed.
"""

from __future__ import annotations

from ..base.backend import get_xp


def holds_categories(A) -> bool:
    """Whether A is A[0] with a table's categories kept as codes: a
    :class:`~ldnn.data.compact.CompactX`, known by its ``numeric_rows`` (the math imports
    nothing of the data floor, and asks as fast as an isinstance)."""
    return hasattr(A, "numeric_rows")


def linear_forward(X, W, b, out=None):
    """Z[1] = W[1] . A[0] + b[1] of shape (n[1], m) for A[0] = X with categories (b[1]
    None: without it); written into ``out`` if given."""
    xp = get_xp(W)
    X_N = X.numeric()
    if X_N.shape[0]:  # W[1][:, N] . X_N
        Z = xp.matmul(xp.take(W, X.numeric_rows, axis=1), X_N, out=out)
    else:  # no numeric rows: the sum starts at 0
        Z = xp.empty((W.shape[0], X.shape[1]), dtype=W.dtype) if out is None else out
        Z[...] = 0
    for r in X.codes.T:  # + W[1][:, r_c(i)] for each example i, text column by text column
        Z += _columns(W, r)
    if b is not None:
        Z += b
    return Z


def _columns(W, r):
    """W[:, r] of shape (n, m), the columns where r = -1 (no category) all zero."""
    xp = get_xp(W)
    G = xp.take(W, r, axis=1)  # r = -1 takes W's last column: set to 0 below
    unseen = r < 0
    if unseen.any():
        G[:, unseen] = 0
    return G


def weight_gradient(dZ, X, out=None):
    """dW[1] = dZ[1] . A[0]^T of shape (n[1], n[0]) for A[0] = X with categories: the
    numeric columns by the product with X_N, the category columns by a scatter-add of
    dZ[1]'s columns; written into ``out`` if given."""
    xp = get_xp(dZ)
    n, n0 = dZ.shape[0], X.shape[0]
    contiguous = out is not None and out.flags.c_contiguous
    dW = out if contiguous else xp.zeros((n, n0), dtype=dZ.dtype)
    if contiguous:
        dW[...] = 0
    X_N = X.numeric()
    if X_N.shape[0]:  # dW[1][:, N] = dZ[1] . X_N^T
        dW[:, X.numeric_rows] = xp.matmul(dZ, X_N.T)
    flat = dW.reshape(-1)  # a view of the C-contiguous dW: entry (j, r) is j n[0] + r
    units = xp.arange(n)[:, None] * n0
    for r in X.codes.T:  # dW[1][:, r] += dZ[1][:, i] for each example i with r_c(i) = r
        seen = r >= 0
        if seen.all():
            xp.add.at(flat, (units + r).reshape(-1), dZ.reshape(-1))
        else:
            xp.add.at(flat, (units + r[seen]).reshape(-1), dZ[:, seen].reshape(-1))
    if out is not None and not contiguous:
        out[...] = dW
        dW = out
    return dW
