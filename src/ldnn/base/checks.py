"""Checks on user input at the public boundary, with messages that name the argument
and state expected versus actual, so no NumPy error from deep inside reaches the user."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentTypeError, InvalidValueError, ShapeError
from .backend import get_xp


def as_array(value, name: str):
    """``value`` as a numeric array of the module it came from (NumPy by default)."""
    if hasattr(value, "__array_namespace__") or hasattr(value, "__cuda_array_interface__"):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise ArgumentTypeError(f"{name} must be an array of numbers: {error}") from None
    if array.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name} must hold numbers (int or float), got dtype {array.dtype}")
    return array


def finite_extent(array, name: str) -> float:
    """max |entry| of ``array`` (0 when it is empty), after checking that every entry is
    finite: raise InvalidValueError naming the first NaN or infinite one."""
    if array.size == 0:
        return 0.0
    # min and max are NaN if any entry is NaN and +-inf if any is infinite: two passes
    # over the data that allocate nothing of its size (it may be a memory map or a
    # stream), and they give the data's extent, which bounds what a network can output.
    low, high = float(array.min()), float(array.max())
    if math.isfinite(low) and math.isfinite(high):
        return max(abs(low), abs(high))
    xp = get_xp(array)
    bad = ~xp.isfinite(array)
    where = tuple(int(i[0]) for i in xp.nonzero(bad))
    raise InvalidValueError(
        f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first at index {where}"
    )


def check_finite(array, name: str) -> None:
    """Raise InvalidValueError naming the first NaN or infinite entry of ``array``."""
    if array.dtype.kind == "f":
        finite_extent(array, name)


def check_columns(array, n: int, name: str, rows: str, context: str = "") -> None:
    """Raise ShapeError unless ``array`` has shape (n, m): one example per column.

    ``rows`` names n in the notes (``"n[0]"``, ``"n[L]"``); an array with the examples as
    rows, as files keep them, gets the hint to transpose it.
    """
    if array.ndim == 2 and array.shape[0] == n:
        return
    hint = ""
    if array.ndim == 2 and array.shape[1] == n:
        hint = f"; examples must be columns: did you mean {name}.T?"
    raise ShapeError(
        f"{name} must have shape ({rows}, m) = ({n}, m){context}, got {tuple(array.shape)}{hint}"
    )


def check_X(X, n0: int, dtype, name: str = "X", *, with_extent: bool = False, empty=False):
    """Validate X of shape (n[0], m) and return it in ``dtype`` (with ``with_extent``,
    also max |x|, see :func:`finite_extent`); m = 0 only with ``empty`` (one MPI rank's
    share of the examples may be none)."""
    X = as_array(X, name)
    check_columns(X, n0, name, "n[0]")
    if X.shape[1] == 0 and not empty:
        raise InvalidValueError(f"{name} has no examples (m = 0)")
    extent = finite_extent(X, name) if X.dtype.kind == "f" else 0.0
    if X.dtype.kind != "f" and X.size:
        extent = max(abs(float(X.min())), abs(float(X.max())))
    X = in_dtype(X, dtype, name, extent)
    return (X, extent) if with_extent else X


def in_dtype(A, dtype, name: str, extent: float | None = None):
    """A in ``dtype``, refused in one line when its largest |value| (``extent``, computed
    when not given) is finite but beyond the dtype's range, which the cast would turn
    into infinities."""
    xp = get_xp(A)
    if extent is None:
        extent = float(xp.abs(A).max()) if A.size and A.dtype.kind in "fiu" else 0.0
    limit = float(np.finfo(dtype).max)
    if math.isfinite(extent) and extent > limit:
        raise InvalidValueError(
            f"{name} holds values up to {extent:.3g}, beyond {np.dtype(dtype)}'s range "
            f"(+-{limit:.3g}): use dtype='float64' or rescale {name}"
        )
    return A.astype(dtype, copy=False)


def check_same_m(X, Y, x_name: str = "X", y_name: str = "Y") -> None:
    # Y is (n[L], m), or class labels of shape (m,): m is its last axis either way.
    if X.shape[1] != Y.shape[-1]:
        raise ShapeError(
            f"{x_name} and {y_name} must have the same number of examples m (columns): "
            f"{x_name} has {X.shape[1]}, {y_name} has {Y.shape[-1]}"
        )


def check_positive(value, name: str, *, integer: bool = False, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if integer:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InvalidValueError(f"{name} must be a positive integer, got {value!r}", field=name)
        return int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.floating | np.integer)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidValueError(
            f"{name} must be a positive finite number, got {value!r}", field=name
        )
    return float(value)


def check_non_negative(value, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.floating | np.integer)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidValueError(f"{name} must be a finite number >= 0, got {value!r}", field=name)
    return float(value)


def check_sample_weight(sample_weight, m: int):
    """Validate per-example weights: shape (m,), finite, >= 0, not all zero; float64."""
    w = as_array(sample_weight, "sample_weight").astype(np.float64)
    if w.ndim == 2 and 1 in w.shape:
        w = w.reshape(-1)
    if w.shape != (m,):
        raise ShapeError(f"sample_weight must have shape (m,) = ({m},), got {w.shape}")
    check_finite(w, "sample_weight")
    if bool((w < 0).any()):
        raise InvalidValueError(f"sample_weight must be >= 0; found {float(w.min())}")
    if not w.sum() > 0:
        raise InvalidValueError("sample_weight must have a positive sum; all weights are 0")
    return w


def check_targets(y_extent: float, dtype, name: str = "Y") -> None:
    """Refuse regression targets whose largest |y|, ``y_extent``, squares past ``dtype``'s
    largest number: their cost, and their squared errors in reports, overflow.

    Raises
    ------
    InvalidValueError
        Naming ``name``, its largest |y| and the dtype's limit.
    """
    ceiling = math.sqrt(float(np.finfo(dtype).max))
    if y_extent >= ceiling:
        raise InvalidValueError(
            f"{name} holds targets up to |y| = {y_extent:.3g}: their squared error overflows "
            f"{np.dtype(dtype).name} (from |y| = {ceiling:.3g} on); rescale them (standardise "
            "the target)"
        )
