"""Prediction's forward pass, prepared once per set of parameters.

The notes' forward pass without dropout, for l = 1..L:

    Z[l] = W[l] . A[l-1] + b[l]          A[0] = X, of shape (n[0], m)
    A[l] = g[l](Z[l])                    (a batch-normalised layer: g[l](Z~[l]), with the
                                          running statistics)

computed by the core's own formulas (:func:`~ldnn.core.propagation.linear_forward`, each
activation's ``forward``, :func:`ldnn.core.batchnorm.forward`), in the same order and into
arrays of the same shapes as :func:`~ldnn.core.propagation.forward_in_blocks`, so that
its results are the same to the last bit. What it leaves out is the work that does not
change between two predictions and that a batch of one example cannot afford (it was
three quarters of such a prediction's time): checking that the parameters chain together,
resolving the activations' names, building each layer's dict keys. That is done once,
when the pass is prepared; a prediction then runs the layers' formulas and nothing else.

Several threads may predict with one network at once (``ldnn serve`` answers requests side
by side): the prepared layers are read-only, and each thread writes its Z[l] and A[l] into
its own reused arrays.
"""

from __future__ import annotations

import operator
import threading

from ..base.backend import get_xp
from ..core import batchnorm, categorical
from ..core.parameters import check_parameters
from ..core.propagation import column_blocks, linear_forward, resolve_activations
from ..core.workspace import Workspace

#: Columns of X per block: each block's Z[l] and A[l] stay in cache (the last block takes
#: the remainder, up to twice as many, see :func:`~ldnn.core.propagation.column_blocks`).
BLOCK = 1024


class InferencePass:
    """A[L] = the forward pass of ``parameters`` (W1..WL, b1..bL; a batch-normalised
    layer's gamma, beta and running statistics) through ``activations``, on the arrays'
    module (NumPy, or CuPy for parameters on a GPU).

    The pass holds the parameters' arrays themselves, not copies: a change made in place
    (``W1[:] = ...``) is seen by the next prediction, and :meth:`holds` says whether the
    pass still describes a network's parameters (the same dict holding the same arrays).

    Parameters
    ----------
    parameters : dict
        ``W{l}`` of shape (n[l], n[l-1]) and ``b{l}`` of shape (n[l], 1), l = 1..L.
    activations : sequence of L activations (names or objects)
    """

    def __init__(self, parameters: dict, activations):
        dims = check_parameters(parameters)
        self.parameters, self.arrays = parameters, tuple(parameters.values())
        self.activations = activations
        self.n_L, self.dtype, self.xp = dims[-1], parameters["W1"].dtype, get_xp(parameters["W1"])
        layers = []
        for l, g in enumerate(resolve_activations(activations, len(dims) - 1), start=1):
            norm = None
            if f"gamma{l}" in parameters:
                norm = tuple(parameters[f"{name}{l}"] for name in ("gamma", "beta", "mean", "var"))
            layers.append((l, parameters[f"W{l}"], parameters.get(f"b{l}"), norm, g))
        self.layers = tuple(layers)
        self.E = parameters.get("E1")  # a table's learned embedding, read by layer 1
        self._local = threading.local()

    def holds(self, parameters: dict, activations) -> bool:
        """Whether this pass computes ``parameters`` through ``activations``: the same
        dict, holding the same arrays, and the same activations."""
        return (
            parameters is self.parameters
            and activations is self.activations
            and len(parameters) == len(self.arrays)
            and all(map(operator.is_, parameters.values(), self.arrays))
        )

    def __call__(self, X):
        """A[L] of shape (n[L], m) for X of shape (n[0], m) in the parameters' dtype (any
        memory order: BLAS reads X and X.T alike, so neither is copied)."""
        workspace = getattr(self._local, "workspace", None)
        if workspace is None:
            workspace = self._local.workspace = Workspace()
        if X.shape[1] < 2 * BLOCK:  # one block: A[L] is an array of its own, not copied
            return self._block(X, workspace)
        AL = self.xp.empty((self.n_L, X.shape[1]), dtype=self.dtype)
        for columns in column_blocks(X.shape[1], BLOCK):
            self._block(X[:, columns], workspace, out=AL[:, columns])
        return AL

    def _block(self, A, workspace: Workspace, out=None):
        """A[L] for the columns A = A[0] of one block, written into ``out`` if given."""
        m, L = A.shape[1], len(self.layers)
        if self.E is not None:  # the embedded text columns' rows E1[:, r] of A[0]
            A = categorical.Embedded(A, self.E)
        for l, W, b, norm, g in self.layers:
            arrays = workspace.layer(l, W, m)
            # The output layer writes where A[L] goes (``out``, or a new array when it is
            # None); every other layer into this thread's reused arrays.
            target = out if l == L else arrays.A
            # Z[l] = W[l] . A[l-1] + b[l], and A[l] = g(Z[l]) over it where g allows it,
            # as forward(in_place=True) computes them.
            Z = linear_forward(A, W, b, out=target if g.in_place and norm is None else arrays.Z)
            if norm is not None:  # Z~[l] = gamma * Z_norm + beta, running statistics
                Z, _ = batchnorm.forward(
                    Z,
                    *norm,
                    mode="running",
                    out=(arrays.Z_norm, target if g.in_place else arrays.Z_tilde),
                )
            A = g.forward(Z, out=Z if g.in_place else target)
        return A
