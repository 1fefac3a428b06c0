"""The notes' shape table of a network, and what a batch of m examples costs it.

For every layer l at m examples: W[l] and dW[l] of shape (n[l], n[l-1]), b[l] and db[l]
of shape (n[l], 1) (a batch-normalised layer: gamma[l], beta[l] and their gradients
instead, each (n[l], 1)), Z[l] and A[l] of shape (n[l], m), and the parameter count
n[l] n[l-1] + n[l] (+ n[l] for gamma and beta); then FLOPs per example and the memory of
one training step. A table's learned embedding E1 (k, K_1 + ... + K_C) has a row of its
own before layer 1, whose W[1] then has n[0] - sum (K_c - k) columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.parameters import count_parameters
from ..io.tables import text_table


def shape_table(
    layer_dims: Sequence[int],
    activations: Sequence[str],
    loss: str,
    dtype: str,
    m=1,
    batch_norm: Sequence[bool] = (),
    embedding: tuple = (),
):
    """The table as text, with a title line and the total parameter count (``embedding``:
    a learned embedding's (k, K_1, ..., K_C))."""
    dims = list(layer_dims)
    inputs = _inputs(dims, embedding)
    normalised = tuple(batch_norm) + (False,) * len(dims)
    header = ("l", "g[l]", "W[l], dW[l]", "b[l], db[l]", "Z[l], A[l]", "parameters")
    rows = [("0", "input", "", "", f"A[0] = X: ({dims[0]}, {m})", "")]
    if embedding:
        k, sizes = embedding[0], embedding[1:]
        rows.append(
            (
                "0",
                "embed",
                f"E1: ({k}, {sum(sizes)})",
                "",
                f"A[0]: ({inputs[0]}, {m})",
                f"{k * sum(sizes):,}",
            )
        )
    for l in range(1, len(dims)):
        count = dims[l] * inputs[l - 1] + dims[l] * (2 if normalised[l - 1] else 1)
        column = f"({dims[l]}, 1)"
        if normalised[l - 1]:  # no b[l]: gamma[l] and beta[l], and Z~[l] before g[l]
            column = f"gamma, beta: ({dims[l]}, 1)"
        shapes = (f"({dims[l]}, {inputs[l - 1]})", column, f"({dims[l]}, {m})")
        rows.append((str(l), activations[l - 1], *shapes, f"{count:,}"))
    lines = [
        f"DeepNetwork L = {len(dims) - 1}, layer_dims = {dims}, loss = {loss}, dtype = {dtype}",
        text_table(header, rows),
        f"total parameters: {count_parameters(dims, batch_norm, embedding):,}",
    ]
    if embedding:
        lines.append(
            f"{len(embedding) - 1} text column(s) of {', '.join(map(str, embedding[1:]))} "
            f"categories embedded in {embedding[0]} rows of A[0] each: W[1]'s block for each "
            f"is W[1][:, k rows] . E1[:, its categories]"
        )
    if any(batch_norm):
        lines.append(
            "batch-normalised layers also keep running mean[l] and var[l], (n[l], 1) each, "
            "for inference (not learned)"
        )
    return "\n".join(lines)


def _inputs(dims: list, embedding: tuple) -> list:
    """n[l-1] as W[l] sees it: with an embedding, W[1]'s n[0] - sum (K_c - k) columns."""
    if not embedding:
        return dims
    k, sizes = embedding[0], embedding[1:]
    return [dims[0] - sum(sizes) + k * len(sizes), *dims[1:]]


def cost_table(layer_dims: Sequence[int], m: int, dtype: str, embedding: tuple = ()) -> str:
    """FLOPs per example, and memory for a training step on a batch of m examples."""
    dims = list(layer_dims)
    inputs = _inputs(dims, embedding)
    parameters = count_parameters(dims, (), embedding)
    # A forward pass costs one multiply and one add per weight, plus the bias add;
    # backward costs about twice that (dW and dA_prev), hence the usual 3x for training.
    forward = sum(2 * dims[l] * inputs[l - 1] + dims[l] for l in range(1, len(dims)))
    size = np.dtype(dtype).itemsize
    activations = sum(2 * n * m for n in dims[1:]) + dims[0] * m  # Z[l], A[l] and X
    memory = (2 * parameters + activations) * size  # W, b, their gradients, caches
    return "\n".join(
        [
            f"FLOPs per example: forward {forward:,}, forward + backward ~{3 * forward:,}",
            f"memory for a batch of m = {m} ({dtype}): parameters + gradients + caches "
            f"~{format_bytes(memory)}",
        ]
    )


def format_bytes(n: float) -> str:
    """A byte count in B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
