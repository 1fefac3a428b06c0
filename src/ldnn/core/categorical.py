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
Without an embedding (below) W[1] keeps its shape (n[1], n[0]), one column per category,
so the model, its file, its summary and its ONNX graph are the dense form's. An example
whose category the model has not seen (r = -1) has an all-zero one-hot column: it adds
nothing to either sum.
db[1] and everything above layer 1 are the notes' formulas as they are
(:mod:`ldnn.core.propagation`); dA[0], a gradient with respect to 0/1 entries, is not
computed.

A learned embedding of width k (Guo & Berkhahn 2016, "entity embeddings") factors W[1]'s
block of a text column with more than k categories, (n[1], K), into two:

    W[1][:, block] = V . E          V: (n[1], k), E: (k, K)

so that the column's one-hot rows e_r become k rows of A[0] holding E's column r, and V,
W[1]'s k columns for them, takes the block's place in W[1]:

    z[1](i) += W[1][:, block] . e_r(i) = V . E[:, r(i)]
    dV = dZ[1] . E[:, r]^T                    (E[:, r]: the (k, m) gather, A[0]'s k rows)
    dE[:, r] += column i of V^T . dZ[1]       (the notes' dA[0] = W[1]^T . dZ[1], on
                                               those k rows, scatter-added into E)

n[1] k + k K parameters in place of n[1] K. Every embedded column's E is one block of one
parameter, ``E1`` of shape (k, K_1 + K_2 + ...), in the order of the columns; W[1] then has
n[0] - sum (K_c - k) columns (:class:`Layout` says which is which), while n[0], the
table's one-hot width, stays the network's input.
"""

from __future__ import annotations

import functools

import numpy as np

from ..base.backend import get_xp
from ..errors import ShapeError


def holds_categories(A) -> bool:
    """Whether A is A[0] with a table's categories kept as codes: a
    :class:`~ldnn.data.compact.CompactX` (or its :class:`Embedded` form), known by its
    ``numeric_rows`` (the math imports nothing of the data floor, and asks as fast as an
    isinstance)."""
    return hasattr(A, "numeric_rows")


def embedded_sizes(blocks, width: int | None) -> tuple[int, ...]:
    """K of each text column (``blocks``: (offset, K) per column) of more than ``width``
    categories, the ones a learned embedding of that width factors; () for none."""
    return tuple(K for _, K in blocks if width and K > width)


class Layout:
    """Where A[0]'s rows go in a W[1] whose wide text columns are embedded (width k).

    Walking A[0]'s rows in order, a numeric row and a one-hot row keep a column of W[1]
    each; an embedded column's K one-hot rows become its k rows E[:, r] and take k columns
    of W[1] (its V), and K columns of E1, after the columns embedded before it.

    Attributes
    ----------
    column : ndarray of shape (n[0],)
        W[1]'s column of each numeric or one-hot row of A[0]; -1 on an embedded column's rows.
    embedded : dict {c: (offset, K, v, e)}
        Per embedded text column c: its first row of A[0], K, V's first column in W[1]
        and the column's first column in E1.
    n_columns : int
        W[1]'s columns, n[0] - sum (K_c - k).
    sizes : tuple of int
        K of each embedded column, in order (E1 has sum of them columns).
    """

    def __init__(self, n0: int, numeric_rows: tuple, blocks: tuple, width: int):
        self.width, self.column, self.embedded = width, np.full(n0, -1, dtype=np.intp), {}
        starts = sorted(
            [(row, 1, None) for row in numeric_rows]
            + [(offset, K, c) for c, (offset, K) in enumerate(blocks)]
        )
        w = e = 0
        for row, K, c in starts:
            if c is not None and K > width:
                self.embedded[c] = (row, K, w, e)
                w, e = w + width, e + K
            else:
                self.column[row : row + K] = np.arange(w, w + K)
                w += K
        self.n_columns, self.sizes = w, embedded_sizes(blocks, width)


@functools.lru_cache(maxsize=64)
def layout(n0: int, numeric_rows: tuple, blocks: tuple, width: int) -> Layout:
    """The :class:`Layout` of an A[0] of n[0] rows (the numeric ones at ``numeric_rows``,
    the text columns' at ``blocks``, (offset, K) each) for an embedding of ``width``: made
    once per table and width."""
    return Layout(n0, numeric_rows, blocks, width)


class Embedded:
    """A[0] of a table with its wide text columns embedded: a CompactX X (n[0], m) and E1,
    read as (n[0] - sum (K_c - k), m), each embedded column's one-hot rows replaced by
    E1[:, r(i)] (never built whole: layer 1 gathers it a column at a time).

    Raises
    ------
    ShapeError
        If X is not a table's A[0] with categories, or E1 does not have the columns of
        X's text columns of more than k categories.
    """

    ndim = 2

    def __init__(self, X, E):
        if not holds_categories(X):
            raise ShapeError(
                "E1, a learned embedding of a table's text columns, needs X with categories "
                f"(a CompactX), got {type(X).__name__} of shape {getattr(X, 'shape', '?')}"
            )
        k = E.shape[0]
        self.layout = layout(X.shape[0], tuple(X.numeric_rows.tolist()), X.blocks, k)
        if sum(self.layout.sizes) != E.shape[1]:
            raise ShapeError(
                f"E1 of shape {E.shape} must have a column for each category of X's text "
                f"columns of more than k = {k}: {' + '.join(map(str, self.layout.sizes)) or '0'}"
            )
        self.X, self.E, self.codes, self.numeric_rows = X, E, X.codes, X.numeric_rows
        self.shape = (self.layout.n_columns, X.shape[1])
        self.dtype = X.dtype
        self._rows = {}  # forward's gathers, which backward reads again

    def numeric(self):
        return self.X.numeric()

    def rows(self, c: int):
        """Embedded column c's k rows of A[0], E1[:, r(i)] of shape (k, m) (zeros for an
        example whose category the model has not seen), and each example's E1 column."""
        if c not in self._rows:
            offset, _, _, e = self.layout.embedded[c]
            r = self.codes[:, c]
            where = np.where(r >= 0, r - offset + e, -1)
            self._rows[c] = _columns(self.E, where), where
        return self._rows[c]


def linear_forward(X, W, b, out=None):
    """Z[1] = W[1] . A[0] + b[1] of shape (n[1], m) for A[0] = X with categories (b[1]
    None: without it); written into ``out`` if given. X :class:`Embedded`: each embedded
    column adds V . E[:, r] (V: W[1]'s k columns for it)."""
    xp = get_xp(W)
    layout = getattr(X, "layout", None)
    X_N = X.numeric()
    if X_N.shape[0]:  # W[1][:, N] . X_N
        N = X.numeric_rows if layout is None else layout.column[X.numeric_rows]
        Z = xp.matmul(xp.take(W, N, axis=1), X_N, out=out)
    else:  # no numeric rows: the sum starts at 0
        Z = xp.empty((W.shape[0], X.shape[1]), dtype=W.dtype) if out is None else out
        Z[...] = 0
    for c, r in enumerate(X.codes.T):
        if layout is None:  # + W[1][:, r_c(i)] for each example i, text column by text column
            Z += _columns(W, r)
        elif c in layout.embedded:  # + V . E[:, r_c(i)]
            v, k = layout.embedded[c][2], layout.width
            Z += xp.matmul(W[:, v : v + k], X.rows(c)[0])
        else:
            Z += _columns(W, _moved(layout, r))
    if b is not None:
        Z += b
    return Z


def _moved(layout: Layout, r):
    """The W[1] columns of one-hot rows ``r`` (-1 stays -1) where columns were embedded."""
    return np.where(r >= 0, layout.column[r], -1)


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
    dZ[1]'s columns; written into ``out`` if given. X :class:`Embedded`: an embedded
    column's dV = dZ[1] . E[:, r]^T."""
    xp = get_xp(dZ)
    layout = getattr(X, "layout", None)
    n, n0 = dZ.shape[0], X.shape[0]
    contiguous = out is not None and out.flags.c_contiguous
    dW = out if contiguous else xp.zeros((n, n0), dtype=dZ.dtype)
    if contiguous:
        dW[...] = 0
    X_N = X.numeric()
    if X_N.shape[0]:  # dW[1][:, N] = dZ[1] . X_N^T
        N = X.numeric_rows if layout is None else layout.column[X.numeric_rows]
        dW[:, N] = xp.matmul(dZ, X_N.T)
    flat = dW.reshape(-1)  # a view of the C-contiguous dW: entry (j, r) is j n[0] + r
    units = xp.arange(n)[:, None] * n0
    for c, r in enumerate(X.codes.T):
        if layout is not None and c in layout.embedded:  # dV = dZ[1] . E[:, r]^T
            v, k = layout.embedded[c][2], layout.width
            dW[:, v : v + k] = xp.matmul(dZ, X.rows(c)[0].T)
            continue
        if layout is not None:
            r = _moved(layout, r)
        _scatter_columns(flat, units, r, dZ)  # dW[1][:, r] += dZ[1][:, i] where r_c(i) = r
    if out is not None and not contiguous:
        out[...] = dW
        dW = out
    return dW


def _scatter_columns(flat, units, r, dZ) -> None:
    """M[:, r(i)] += dZ[:, i] for every i with r(i) >= 0, on the flat view of M (whose
    entry (j, r) is ``units[j] + r``)."""
    xp = get_xp(dZ)
    seen = r >= 0
    if seen.all():
        xp.add.at(flat, (units + r).reshape(-1), dZ.reshape(-1))
    else:
        xp.add.at(flat, (units + r[seen]).reshape(-1), dZ[:, seen].reshape(-1))


def embedding_gradient(dZ, X, W, out=None):
    """dE1 of shape (k, K_1 + ... + K_C) for X :class:`Embedded`: per embedded column, the
    notes' dA[0] = W[1]^T . dZ[1] on its k rows, V^T . dZ[1], scatter-added into the E1
    columns of the examples' categories; written into ``out`` if given."""
    xp = get_xp(dZ)
    layout, E = X.layout, X.E
    dE = xp.zeros(E.shape, dtype=dZ.dtype) if out is None else out
    dE[...] = 0
    contiguous = dE.flags.c_contiguous
    target = dE if contiguous else xp.zeros(E.shape, dtype=dZ.dtype)
    flat, units = target.reshape(-1), xp.arange(E.shape[0])[:, None] * E.shape[1]
    for c, (_, _, v, _) in layout.embedded.items():
        dA = xp.matmul(W[:, v : v + layout.width].T, dZ)  # V^T . dZ[1], shape (k, m)
        _scatter_columns(flat, units, X.rows(c)[1], dA)
    if not contiguous:
        dE[...] = target
    return dE
