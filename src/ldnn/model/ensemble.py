"""An ensemble of K networks as one network: the members' output pre-activations averaged.

K members k = 1..K of one architecture, n[0], n[1], ..., n[L] and g[1], ..., g[L], differ
only in their seed and so in their parameters W[l]_k, b[l]_k. Their ensemble averages
the output layer's pre-activation (the logits), then applies the output activation once:

    Z[L] = (1/K) sum_k Z[L]_k,      A[L] = g[L](Z[L])

That is one L-layer network of the same depth whose hidden layers are K times wider,
n'[l] = K n[l] for 0 < l < L (n'[0] = n[0], n'[L] = n[L]), member k's units forming
block k of each hidden layer:

    W[1] = [W[1]_1; W[1]_2; ...; W[1]_K]            (K n[1], n[0])       stacked by rows
    b[1] = [b[1]_1; ...; b[1]_K]                    (K n[1], 1)
    W[l] = diag(W[l]_1, ..., W[l]_K)                (K n[l], K n[l-1])   1 < l < L,
                                                                         0 off the blocks
    b[l] = [b[l]_1; ...; b[l]_K]                    (K n[l], 1)
    W[L] = (1/K) [W[L]_1, W[L]_2, ..., W[L]_K]      (n[L], K n[L-1])     side by side
    b[L] = (1/K) sum_k b[L]_k                       (n[L], 1)

so that, A[0] = X going in, block k of every hidden A[l] is member k's A[l]_k (a hidden
unit sees only its own member's units of the layer below), and

    Z[L] = W[L] . A[L-1] + b[L] = (1/K) sum_k (W[L]_k . A[L-1]_k + b[L]_k) = (1/K) sum_k Z[L]_k.

Without a hidden layer (L = 1) there is nothing to widen: W[1] = (1/K) sum_k W[1]_k and
b[1] = (1/K) sum_k b[1]_k. A batch-normalised hidden layer normalises each unit with its
own gamma, beta, running mean and running variance, (n[l], 1) per member: they are
stacked in member order as b[l] is, (K n[l], 1) (:mod:`ldnn.core.batchnorm`).

The merged network computes the ensemble exactly, up to rounding: its sums run in
another order (one product over K n[L-1] columns for the mean of K products), and the
zero blocks add exact zeros (unless a member's hidden A[l] overflows to inf, where
0 . inf is NaN). What it costs: layer 1 holds K n[1] n[0] weights and layer L
K n[L] n[L-1], K times one member's, but a middle layer 1 < l < L holds
(K n[l]) (K n[l-1]) = K^2 n[l] n[l-1] entries, of which K n[l] n[l-1] are the members'
and K (K - 1) n[l] n[l-1] are zeros (K - 1 zero blocks beside each member's block).
A prediction therefore costs about K times one member's in layers 1 and L and K^2 times
in the middle layers, K times as much there as predicting with the K members one by one;
with L <= 2 it costs what the K members cost.

A table's learned embedding (:mod:`ldnn.core.categorical`) factors member k's W[1] into
V_k . E_k; the merged layer 1 would need one E for all members, so such members are
refused.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import numpy as np

from ..base.backend import to_numpy
from ..core.parameters import check_fits_in_memory, layer_of
from ..errors import ArgumentTypeError, ConfigurationError, NotFittedError
from .network import DeepNetwork

#: Metadata that says how a member's inputs and outputs are read: members that differ in
#: it were trained on differently prepared data, which one network cannot reproduce.
SHARED_METADATA = ("data", "classes")


def merge(networks: Sequence[DeepNetwork]) -> DeepNetwork:
    """One network whose Z[L] is the mean of the members' Z[L], and A[L] = g[L] of it.

    Parameters
    ----------
    networks : sequence of K DeepNetwork
        Trained members of one architecture: the same hyperparameters except ``seed``
        (and so layer_dims n[0..L], activations, loss, keep_prob, batch_norm, dtype, ...),
        none of them in the middle of a fit stopped by ``stop``, and the same description
        of their data (``metadata["data"]`` and ``metadata["classes"]``, where present).

    Returns
    -------
    DeepNetwork
        Member 0's hyperparameters (its seed too) with layer_dims
        (n[0], K n[1], ..., K n[L-1], n[L]); its parameters are built as the module says,
        new arrays in the members' dtype: W[1] (K n[1], n[0]), W[l] (K n[l], K n[l-1])
        block-diagonal, W[L] (n[L], K n[L-1]), b[l] (K n[l], 1) and b[L] (n[L], 1). It
        keeps a copy of member 0's metadata and holds no training state of its own: no
        history, no optimizer state, ``epochs_trained`` 0. It predicts, saves, loads and
        exports to ONNX as any network does; a warm start would train it as a dense
        network of that width, the zero blocks no longer zero. K = 1 gives a copy of the
        member's parameters, bit for bit.

    Raises
    ------
    ConfigurationError
        For no member, members whose hyperparameters (other than the seed) or data
        descriptions differ, a member mid-fit, or a member with a learned embedding.
    ArgumentTypeError
        For a member that is not a DeepNetwork.
    NotFittedError
        For a member without parameters.

    Examples
    --------
    >>> members = [DeepNetwork([2, 8, 1], seed=k, epochs=100) for k in range(5)]
    >>> for net in members:
    ...     net.fit(X, Y)
    >>> ensemble = merge(members)     # layer_dims (2, 40, 1)
    >>> ensemble.predict_proba(X)     # sigma of the mean of the 5 members' Z[2]
    """
    members = _checked(networks)
    K, hp = len(members), members[0].hyperparameters
    dims = (hp.layer_dims[0], *(K * n for n in hp.layer_dims[1:-1]), hp.layer_dims[-1])
    check_fits_in_memory(dims, hp.dtype)  # the zero blocks are stored as any entry
    merged = DeepNetwork.from_hyperparameters(hp.replace(layer_dims=dims))
    member_parameters = [{k: to_numpy(v) for k, v in m.parameters.items()} for m in members]
    merged.parameters = _merged_parameters(member_parameters, hp.L, np.dtype(hp.dtype))
    merged.metadata = copy.deepcopy(members[0].metadata)
    return merged


def _checked(networks) -> list[DeepNetwork]:
    """The members as a list, each checked (see :func:`merge`'s Raises)."""
    try:
        members = None if isinstance(networks, DeepNetwork) else list(networks)
    except TypeError:
        members = None
    if members is None:
        raise ArgumentTypeError(
            f"merge takes a sequence of DeepNetwork, got {type(networks).__name__}"
        )
    if not members:
        raise ConfigurationError("merge needs at least one network, got an empty sequence")
    for k, member in enumerate(members):
        if not isinstance(member, DeepNetwork):
            raise ArgumentTypeError(
                f"merge takes DeepNetwork members, member {k} is a {type(member).__name__}"
            )
        if member.parameters is None:
            raise NotFittedError(f"member {k} has no parameters yet: fit it before merging")
        if member.unfinished is not None:
            raise ConfigurationError(
                f"member {k} stopped in the middle of a fit: finish it (fit(..., "
                "warm_start=True)) before merging"
            )
        if member.hyperparameters.embedding or "E1" in member.parameters:
            raise ConfigurationError(
                f"member {k} has a learned embedding (E1): each member's W[1] = V . E has "
                "its own factor E, which no one W[1] of a merged network can share; train "
                "the members without embedding_width",
                field="embedding_width",
            )
    first = members[0]
    reference = dataclasses.replace(first.hyperparameters, seed=0)
    for k, member in enumerate(members[1:], start=1):
        hp = dataclasses.replace(member.hyperparameters, seed=0)
        if hp != reference:
            fields = [
                f.name
                for f in dataclasses.fields(hp)
                if getattr(hp, f.name) != getattr(reference, f.name)
            ]
            shown = ", ".join(
                f"{name} {_plain(getattr(reference, name))} vs {_plain(getattr(hp, name))}"
                for name in fields
            )
            raise ConfigurationError(
                f"members 0 and {k} differ in {shown}: merge needs the same "
                "hyperparameters except the seed",
                field=fields[0],
            )
        for key in SHARED_METADATA:
            if member.metadata.get(key) != first.metadata.get(key):
                raise ConfigurationError(
                    f"members 0 and {k} differ in metadata[{key!r}]: they saw differently "
                    "prepared data, and the merged network reads its inputs as member 0 does"
                )
    return members


def _plain(value):
    """A hyperparameter as the user wrote it (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def _merged_parameters(members: list[dict], L: int, dtype: np.dtype) -> dict:
    """The merged network's parameters from the K members' (same names and shapes), in
    member 0's order of names."""
    K = len(members)
    merged = {}
    for name in members[0]:
        arrays = [p[name] for p in members]
        l = layer_of(name)
        if l == L and (name[0] == "b" or L == 1):
            # (1/K) sum_k: the mean of the output biases (and with L = 1, of the W[1]_k too).
            merged[name] = np.sum(arrays, axis=0, dtype=dtype) / K
        elif l == L:
            # (1/K) [W[L]_1, ..., W[L]_K]: each member's A[L-1] block weighed by 1/K.
            merged[name] = np.concatenate(arrays, axis=1, dtype=dtype) / K
        elif name[0] == "W" and l > 1:
            merged[name] = _block_diagonal(arrays, dtype)
        else:
            # W[1], and every hidden unit's own column entries (b, gamma, beta, mean, var):
            # member k's rows are block k of the layer.
            merged[name] = np.concatenate(arrays, axis=0, dtype=dtype)
    return merged


def _block_diagonal(blocks: list, dtype: np.dtype) -> np.ndarray:
    """diag(B_1, ..., B_K) of K blocks of one shape (r, c): shape (K r, K c), 0 elsewhere."""
    r, c = blocks[0].shape
    matrix = np.zeros((len(blocks) * r, len(blocks) * c), dtype=dtype)
    for k, block in enumerate(blocks):
        matrix[k * r : (k + 1) * r, k * c : (k + 1) * c] = block
    return matrix
