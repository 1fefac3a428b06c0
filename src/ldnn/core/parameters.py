"""The parameters dict of the notes: ``W1``, ``b1``, ..., ``WL``, ``bL``.

W[l] has shape (n[l], n[l-1]) and b[l] shape (n[l], 1); the gradients dW[l], db[l] are
keyed ``dW{l}``, ``db{l}`` and shaped alike. A batch-normalised layer l has no b[l]:
its learned scale and shift ``gamma{l}``, ``beta{l}`` of shape (n[l], 1) take its place,
and its running statistics ``mean{l}``, ``var{l}`` (n[l], 1), which are not learned,
follow all the learned parameters (:func:`statistic_names`). A table's learned
embedding of its text columns, ``E1`` of shape (k, K_1 + ... + K_C), comes first: it
feeds layer 1, and W[1] then has n[0] - sum (K_c - k) columns (:mod:`ldnn.core.categorical`).
This module knows the names, the shapes and L, and checks that a dict's arrays chain into
a network.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigurationError, ShapeError


def number_of_layers(parameters: dict) -> int:
    """L, from the keys W1..WL."""
    return sum(1 for key in parameters if key[:1] == "W")


def batch_normed(parameters: dict) -> tuple[bool, ...]:
    """For layers 1..L, whether it is batch-normalised (has gamma[l])."""
    return tuple(f"gamma{l}" in parameters for l in range(1, number_of_layers(parameters) + 1))


def _normalised(batch_norm, L: int) -> tuple[bool, ...]:
    return tuple(batch_norm) + (False,) * (L - len(batch_norm))


def parameter_names(L: int, batch_norm: Sequence[bool] = (), embedded: bool = False) -> list[str]:
    """["W1", "b1", ..., "WL", "bL"] (a batch-normalised layer: W, gamma, beta; with a
    learned embedding, "E1" first): the learned parameters, in the order of every flat
    vector."""
    names = ["E1"] if embedded else []
    for l, normalised in enumerate(_normalised(batch_norm, L), start=1):
        names += [f"W{l}", f"gamma{l}", f"beta{l}"] if normalised else [f"W{l}", f"b{l}"]
    return names


def statistic_names(L: int, batch_norm: Sequence[bool] = ()) -> list[str]:
    """["mean1", "var1", ...] of the batch-normalised layers: the running statistics."""
    return [
        f"{kind}{l}"
        for l, normalised in enumerate(_normalised(batch_norm, L), start=1)
        if normalised
        for kind in ("mean", "var")
    ]


def learned(parameters: dict) -> dict:
    """The learned parameters of a dict (without batch norm's running statistics)."""
    return {name: parameters[name] for name in names_of(parameters)[0]}


def names_of(parameters: dict) -> tuple[list[str], list[str]]:
    """(learned names, statistics' names) of a parameters dict, in their flat order."""
    L, normalised = number_of_layers(parameters), batch_normed(parameters)
    return parameter_names(L, normalised, "E1" in parameters), statistic_names(L, normalised)


@functools.cache
def layer_names(l: int) -> tuple[str, ...]:
    """The dict keys of layer l: W{l}, b{l}, dW{l}, db{l}, dA{l-1}, dA{l}."""
    return f"W{l}", f"b{l}", f"dW{l}", f"db{l}", f"dA{l - 1}", f"dA{l}"


def layer_of(name: str) -> int:
    """l of a parameter's (or gradient's) name: "W3", "gamma3", "dbeta3" -> 3."""
    return int(name[len(name.rstrip("0123456789")) :])


def parameter_shapes(
    layer_dims: Sequence[int], batch_norm: Sequence[bool] = (), embedding: tuple = ()
):
    """(name, shape) of the learned parameters W1, b1, ..., WL, bL: W[l] is
    (n[l], n[l-1]), b[l] (and gamma[l], beta[l]) is (n[l], 1). With ``embedding`` (k,
    K_1, ..., K_C), a learned embedding of width k for C text columns: E1 of shape
    (k, K_1 + ... + K_C) first, and W[1] of shape (n[1], n[0] - sum (K_c - k))."""
    L = len(layer_dims) - 1
    inputs = list(layer_dims)
    if embedding:
        k, sizes = embedding[0], embedding[1:]
        inputs[0] = layer_dims[0] - sum(sizes) + k * len(sizes)
        yield "E1", (k, sum(sizes))
    for name in parameter_names(L, batch_norm):
        l = layer_of(name)
        yield name, (layer_dims[l], inputs[l - 1]) if name[0] == "W" else (layer_dims[l], 1)


def statistic_shapes(layer_dims: Sequence[int], batch_norm: Sequence[bool] = ()):
    """(name, shape) of the running statistics: mean[l] and var[l], each (n[l], 1)."""
    for name in statistic_names(len(layer_dims) - 1, batch_norm):
        yield name, (layer_dims[layer_of(name)], 1)


def count_parameters(
    layer_dims: Sequence[int], batch_norm: Sequence[bool] = (), embedding: tuple = ()
) -> int:
    """The learned entries: sum over l of n[l] n[l-1] + n[l] (+ n[l] more for gamma and
    beta in place of b in a batch-normalised layer; with an embedding, its k K entries and
    W[1]'s fewer columns)."""
    shapes = parameter_shapes(layer_dims, batch_norm, embedding)
    return sum(math.prod(shape) for _, shape in shapes)


def physical_memory() -> int | None:
    """This machine's memory in bytes, where the system says (None elsewhere)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits_in_memory(layer_dims: Sequence[int], dtype, embedding: tuple = ()) -> None:
    """Raise ConfigurationError if the parameters of ``layer_dims`` (and ``embedding``)
    alone would need more memory than this machine has (say how many and how much)."""
    count = count_parameters(layer_dims, (), embedding)  # (batch norm's n[l]: negligible)
    size = count * np.dtype(dtype).itemsize
    memory = physical_memory()
    if memory is not None and size > memory:
        raise ConfigurationError(
            f"layer_dims {list(layer_dims)} make {count:,} parameters, {size / 2**30:,.1f} GiB "
            f"in {np.dtype(dtype)}; this machine has {memory / 2**30:,.1f} GiB"
        )


def check_parameters(parameters: dict) -> tuple[int, ...]:
    """Check that W1..WL, b1..bL (or gamma, beta and the running statistics of a
    batch-normalised layer) chain together; return layer_dims."""
    L = number_of_layers(parameters)
    learned, statistics = names_of(parameters)
    if L < 1 or set(parameters) != {*learned, *statistics} or "W1" not in parameters:
        raise ShapeError(
            "parameters must hold exactly W1..WL and b1..bL (a batch-normalised layer: gamma, "
            f"beta, mean and var in place of b), got keys {sorted(parameters)}"
        )
    E = parameters.get("E1")
    if E is not None and (E.ndim != 2 or 0 in E.shape):
        raise ShapeError(f"E1 must have shape (k, K_1 + ... + K_C), got {E.shape}")
    dims = [parameters["W1"].shape[1] if parameters["W1"].ndim == 2 else -1]
    for l in range(1, L + 1):
        W = parameters[f"W{l}"]
        if W.ndim != 2 or W.shape[1] != dims[-1]:
            raise ShapeError(
                f"W{l} must have shape (n[{l}], n[{l - 1}]) = (?, {dims[-1]}), got {W.shape}"
            )
        for name in (f"b{l}", f"gamma{l}", f"beta{l}", f"mean{l}", f"var{l}"):
            if name in parameters and parameters[name].shape != (W.shape[0], 1):
                raise ShapeError(
                    f"{name} must have shape (n[{l}], 1) = ({W.shape[0]}, 1), got "
                    f"{parameters[name].shape}"
                )
        dims.append(W.shape[0])
    return tuple(dims)
