"""The parameters dict of the notes: ``W1``, ``b1``, ..., ``WL``, ``bL``.

W[l] has shape (n[l], n[l-1]) and b[l] shape (n[l], 1); the gradients dW[l], db[l] are
keyed ``dW{l}``, ``db{l}`` and shaped alike. This module knows the names, the shapes and
L, and checks that a dict's arrays chain into a network.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np

from .errors import ConfigurationError, ShapeError


def number_of_layers(parameters: dict) -> int:
    """L, from the keys W1..WL, b1..bL."""
    return len(parameters) // 2


def parameter_names(L: int) -> list[str]:
    """["W1", "b1", ..., "WL", "bL"]: the order of every flat vector."""
    return [f"{p}{l}" for l in range(1, L + 1) for p in "Wb"]


@functools.cache
def layer_names(l: int) -> tuple[str, ...]:
    """The dict keys of layer l: W{l}, b{l}, dW{l}, db{l}, dA{l-1}, dA{l}."""
    return f"W{l}", f"b{l}", f"dW{l}", f"db{l}", f"dA{l - 1}", f"dA{l}"


def parameter_shapes(layer_dims: Sequence[int]):
    """(name, shape) for W1, b1, ..., WL, bL: W[l] is (n[l], n[l-1]), b[l] is (n[l], 1)."""
    for l in range(1, len(layer_dims)):
        yield f"W{l}", (layer_dims[l], layer_dims[l - 1])
        yield f"b{l}", (layer_dims[l], 1)


def count_parameters(layer_dims: Sequence[int]) -> int:
    """sum over l of n[l] n[l-1] + n[l]: the entries of every W[l] and b[l]."""
    return sum(layer_dims[l] * layer_dims[l - 1] + layer_dims[l] for l in range(1, len(layer_dims)))


def physical_memory() -> int | None:
    """This machine's memory in bytes, where the system says (None elsewhere)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits_in_memory(layer_dims: Sequence[int], dtype) -> None:
    """Raise ConfigurationError if the parameters of ``layer_dims`` alone would need more
    memory than this machine has (say how many and how much)."""
    count = count_parameters(layer_dims)
    size = count * np.dtype(dtype).itemsize
    memory = physical_memory()
    if memory is not None and size > memory:
        raise ConfigurationError(
            f"layer_dims {list(layer_dims)} make {count:,} parameters, {size / 2**30:,.1f} GiB "
            f"in {np.dtype(dtype)}; this machine has {memory / 2**30:,.1f} GiB"
        )


def check_parameters(parameters: dict) -> tuple[int, ...]:
    """Check that W1..WL, b1..bL chain together; return layer_dims."""
    L = number_of_layers(parameters)
    if L < 1 or set(parameters) != set(parameter_names(L)):
        raise ShapeError(
            f"parameters must hold exactly W1..WL and b1..bL, got keys {sorted(parameters)}"
        )
    dims = [parameters["W1"].shape[1] if parameters["W1"].ndim == 2 else -1]
    for l in range(1, L + 1):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        if W.ndim != 2 or W.shape[1] != dims[-1]:
            raise ShapeError(
                f"W{l} must have shape (n[{l}], n[{l - 1}]) = (?, {dims[-1]}), got {W.shape}"
            )
        if b.shape != (W.shape[0], 1):
            raise ShapeError(f"b{l} must have shape (n[{l}], 1) = ({W.shape[0]}, 1), got {b.shape}")
        dims.append(W.shape[0])
    return tuple(dims)
