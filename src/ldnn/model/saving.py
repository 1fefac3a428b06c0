"""A network to a model file and back: its parameters, its hyperparameters, what it
remembers of its data, and what continuing its training needs (:mod:`ldnn.model.continuation`).

The file format, and the checks made before anything a file declares is used, are those
of :mod:`ldnn.io.model_file`; this module says what a network's file must hold: W[l] of
shape (n[l], n[l-1]) and b[l] of shape (n[l], 1) in the network's dtype, finite, for the
layer_dims of its hyperparameters, and metadata of the right types.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..base.backend import to_numpy
from ..core.hyperparameters import Hyperparameters
from ..core.parameters import count_parameters, parameter_shapes, statistic_shapes
from ..data.info import check_info
from ..errors import ConfigurationError, LdnnError, ModelFileError
from ..io import load_model, save_model
from . import continuation

#: Metadata keys the file format and the network use; a network's own metadata may not.
RESERVED = (
    "hyperparameters",
    "training",
    "format",
    "format_version",
    "ldnn_version",
    "checksums",
    "metadata_sha256",
)


def save_network(network, path: str | os.PathLike) -> None:
    """Write ``network`` to ``path`` (atomically); during fit, as it stands (a checkpoint)."""
    taken = sorted(set(network.metadata) & set(RESERVED))
    if taken:
        raise ConfigurationError(f"metadata keys {taken} are ldnn's own; use other names")
    parameters, state = network.checkpoint()
    state_arrays, training = continuation.encode(state)
    arrays = {k: to_numpy(v) for k, v in parameters.items()} | state_arrays
    metadata = {
        "hyperparameters": network.hyperparameters.to_dict(),
        **network.metadata,
        "training": training,
    }
    save_model(path, arrays, metadata)


def load_network(cls, path: str | os.PathLike):
    """Read a network saved by :func:`save_network` (or by an older ldnn)."""
    where = f"model file {str(path)!r}"
    found = {}

    def expected(metadata: dict) -> dict:
        try:
            hp = Hyperparameters.from_dict(_table(metadata.get("hyperparameters", {})))
        except (LdnnError, TypeError, ValueError) as error:
            raise ValueError(f"invalid hyperparameters: {error}") from None
        found["hp"] = hp
        shapes = dict(all_shapes(hp))
        arrays = {name: (shape, np.dtype(hp.dtype)) for name, shape in shapes.items()}
        learned = count_parameters(hp.layer_dims, hp.batch_norm, hp.embedding_dims)
        total = sum(math.prod(shape) for shape in shapes.values())
        return arrays | continuation.expected_arrays(
            metadata.get("training"), learned, hp.dtype, total=total
        )

    arrays, metadata = load_model(path, expected)
    hp = found["hp"]
    parameters = {name: arrays[name] for name, _ in all_shapes(hp)}
    for name, P in parameters.items():
        if not np.isfinite(P).all():
            raise ModelFileError(f"{where}: {name} holds NaN or infinite values")
    extras = {k: v for k, v in metadata.items() if k not in RESERVED}
    if "data" in extras:
        try:
            check_info(extras["data"], hp.layer_dims[0], hp.layer_dims[-1])
        except (LdnnError, TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: its data description is damaged: {error}") from None
    try:
        state = continuation.decode(arrays, metadata.get("training"), hp, parameters)
    except ModelFileError as error:
        raise ModelFileError(f"{where}: {error}") from None
    network = cls.from_hyperparameters(hp)
    if hp.device != "cpu":  # as after training there: host copies of what the device keeps
        for P in parameters.values():
            P.flags.writeable = False
    network.parameters, network.metadata, network.state = parameters, extras, state
    return network


def all_shapes(hp):
    """(name, shape) of every array of the parameters dict: the learned parameters, then
    batch norm's running statistics."""
    yield from parameter_shapes(hp.layer_dims, hp.batch_norm, hp.embedding_dims)
    yield from statistic_shapes(hp.layer_dims, hp.batch_norm)


def _table(value) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"hyperparameters must be a table, got {type(value).__name__}")
    return value
