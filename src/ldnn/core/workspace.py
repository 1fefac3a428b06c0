"""Reusable arrays for the training step.

Every step with the same batch size m computes arrays of the same shapes, so training
keeps one set per layer and the formulas write into them (``out=``) instead of
allocating new ones. Outside training there is no workspace: :data:`ALLOCATE` hands
out ``None`` for every array, and NumPy allocates as usual. The formulas read the same
either way.
"""

from __future__ import annotations

import math

from ..base.backend import get_xp


class LayerArrays:
    """The arrays of layer l at batch size m, each allocated on first use.

    Attributes (by name): Z, A, A_dropped, D, dZ of shape (n[l], m); dA_prev of shape
    (n[l-1], m); dW of shape (n[l], n[l-1]); db of shape (n[l], 1); for batch norm,
    Z_norm, Z_tilde, dZ_tilde, dZ_norm of shape (n[l], m) and dgamma, dbeta (n[l], 1).
    """

    def __init__(self, storage: dict, l: int, W, m: int, **given):
        n, n_prev = W.shape
        self.__dict__.update(given)
        # The storage dict, not the Workspace: no reference cycle, so the arrays are
        # freed as soon as the workspace is dropped, without waiting for the GC.
        self._storage, self._l, self._like = storage, l, W
        self._shapes = {
            "Z": (n, m),
            "A": (n, m),
            "A_dropped": (n, m),
            "D": (n, m),
            "dZ": (n, m),
            "dA_prev": (n_prev, m),
            "dW": (n, n_prev),
            "db": (n, 1),
            "Z_norm": (n, m),
            "Z_tilde": (n, m),
            "dZ_tilde": (n, m),
            "dZ_norm": (n, m),
            "dgamma": (n, 1),
            "dbeta": (n, 1),
        }

    def __getattr__(self, name: str):
        # Called only for an array not allocated yet; afterwards it is a plain attribute.
        if name not in self.__dict__.get("_shapes", ()):
            raise AttributeError(name)
        array = _array(self._storage, (self._l, name), self._shapes[name], self._like)
        setattr(self, name, array)
        return array


class Workspace:
    """One :class:`LayerArrays` per (layer, batch size), over memory that the batch
    sizes share: the last, smaller batch of an epoch uses the first part of each array.

    Parameters
    ----------
    gradients : dict, optional
        Arrays ``dW{l}``, ``db{l}`` for backward to write the gradients into (views into
        one vector, in training, so that the optimizer updates them all at once).
    """

    def __init__(self, gradients: dict | None = None):
        self._layers: dict[tuple[int, int], LayerArrays] = {}
        self._storage: dict = {}
        self._views: dict = {}
        self.gradients = gradients

    def layer(self, l: int, W, m: int) -> LayerArrays:
        arrays = self._layers.get((l, m))
        if arrays is None:
            given = {}
            if self.gradients is not None:
                names = (
                    ("dW", "dgamma", "dbeta") if f"dgamma{l}" in self.gradients else ("dW", "db")
                )
                given = {name: self.gradients[f"{name}{l}"] for name in names}
            arrays = self._layers[(l, m)] = LayerArrays(self._storage, l, W, m, **given)
        return arrays

    def get(self, name: str, shape: tuple, like):
        """A named array of ``shape`` with the dtype and module of ``like``."""
        view = self._views.get((name, shape))
        if view is None:
            view = self._views[(name, shape)] = _array(self._storage, name, shape, like)
        return view

    def filled(self, name: str, shape: tuple, value: float, like):
        """Like :meth:`get`, holding ``value`` in every entry (filled once)."""
        key = (name, shape, value)
        array = self._views.get(key)
        if array is None:
            array = self._views[key] = get_xp(like).full(shape, value, dtype=like.dtype)
        return array

    def nbytes(self) -> int:
        return sum(flat.nbytes for flat in self._storage.values())


def _array(storage: dict, key, shape: tuple, like):
    """A C-contiguous array of ``shape`` over ``storage[key]``, a flat array that grows to
    the largest shape asked for: smaller batches use the first part of its memory."""
    size = math.prod(shape)
    flat = storage.get(key)
    if flat is None or flat.size < size:
        flat = storage[key] = get_xp(like).empty(size, dtype=like.dtype)
    return flat[:size].reshape(shape)


class _NoArrays:
    def __getattr__(self, name: str):
        return None


class _Allocate:
    """The workspace used when there is none: every array is None, so NumPy allocates."""

    _none = _NoArrays()

    def layer(self, l: int, W, m: int) -> _NoArrays:
        return self._none


ALLOCATE = _Allocate()
