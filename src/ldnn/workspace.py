"""Reusable arrays for the training step.

Every step with the same batch size m computes arrays of the same shapes, so training
keeps one set per layer and the formulas write into them (``out=``) instead of
allocating new ones. Outside training there is no workspace: :data:`ALLOCATE` hands
out ``None`` for every array, and NumPy allocates as usual. The formulas read the same
either way.
"""

from __future__ import annotations

from .backend import get_xp


class LayerArrays:
    """The arrays of layer l at batch size m, each allocated on first use.

    Attributes (by name): Z, A, A_dropped, D, dZ of shape (n[l], m); dA_prev of shape
    (n[l-1], m); dW of shape (n[l], n[l-1]); db of shape (n[l], 1).
    """

    def __init__(self, W, m: int, **given):
        n, n_prev = W.shape
        self.__dict__.update(given)
        self._like = W
        self._shapes = {
            "Z": (n, m),
            "A": (n, m),
            "A_dropped": (n, m),
            "D": (n, m),
            "dZ": (n, m),
            "dA_prev": (n_prev, m),
            "dW": (n, n_prev),
            "db": (n, 1),
        }

    def __getattr__(self, name: str):
        # Called only for an array not allocated yet; afterwards it is a plain attribute.
        if name not in self.__dict__.get("_shapes", ()):
            raise AttributeError(name)
        array = get_xp(self._like).empty(self._shapes[name], dtype=self._like.dtype)
        setattr(self, name, array)
        return array


class Workspace:
    """One :class:`LayerArrays` per (layer, batch size): the last, smaller batch of an
    epoch gets its own set.

    Parameters
    ----------
    gradients : dict, optional
        Arrays ``dW{l}``, ``db{l}`` for backward to write the gradients into (views into
        one vector, in training, so that the optimizer updates them all at once).
    """

    def __init__(self, gradients: dict | None = None):
        self._layers: dict[tuple[int, int], LayerArrays] = {}
        self.arrays: dict = {}
        self.gradients = gradients

    def layer(self, l: int, W, m: int) -> LayerArrays:
        arrays = self._layers.get((l, m))
        if arrays is None:
            given = {}
            if self.gradients is not None:
                given = {"dW": self.gradients[f"dW{l}"], "db": self.gradients[f"db{l}"]}
            arrays = self._layers[(l, m)] = LayerArrays(W, m, **given)
        return arrays

    def get(self, name: str, shape: tuple, like):
        """A named array of ``shape`` with the dtype and module of ``like``."""
        array = self.arrays.get((name, shape))
        if array is None:
            array = self.arrays[(name, shape)] = get_xp(like).empty(shape, dtype=like.dtype)
        return array

    def nbytes(self) -> int:
        layers = (a for arrays in self._layers.values() for a in vars(arrays).values())
        return sum(a.nbytes for a in layers if hasattr(a, "nbytes")) + sum(
            a.nbytes for a in self.arrays.values()
        )


class _NoArrays:
    def __getattr__(self, name: str):
        return None


class _Allocate:
    """The workspace used when there is none: every array is None, so NumPy allocates."""

    _none = _NoArrays()

    def layer(self, l: int, W, m: int) -> _NoArrays:
        return self._none


ALLOCATE = _Allocate()
