"""The members of a run that trains an ensemble (``[training] ensemble = K``): K networks
of the run's architecture, member k (from 0) drawn and trained from seed + k (its own
initialisation, validation part, mini-batches and dropout masks), one after another, as
one network would be; the run's model is their average as one network
(:func:`ldnn.model.ensemble.merge`: Z[L] = (1/K) sum_k Z[L]_k). Member 0 is the network
the same run with ``ensemble = 1`` trains, bit for bit.

A run stopped between two steps keeps its finished members beside its checkpoint
(``member-1.npz``, ... in the run folder, each written atomically before the checkpoint
that follows it) and goes on with the member under way; a completed run removes them
(model.npz holds their average).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelFileError
from ..model.network import DeepNetwork
from .config import merge, network_from_config


def member_file(folder: Path, k: int) -> Path:
    """Where finished member ``k`` (counted from 1) waits in a stopped run's folder."""
    return Path(folder) / f"member-{k}.npz"


def member_network(config: dict, dataset, k: int) -> DeepNetwork:
    """Member ``k`` (from 0) of the run ``config`` (resolved) describes, untrained: the
    run's network drawn from seed + k."""
    seed = config["training"]["seed"] + k
    return network_from_config(merge(config, {"training": {"seed": seed}}, "member"), dataset)


def save_members(members: list[DeepNetwork], folder: Path) -> None:
    """Write the finished members not yet in ``folder`` (each atomically)."""
    for k, network in enumerate(members, start=1):
        path = member_file(folder, k)
        if not path.exists():
            network.save(path)


def load_members(config: dict, dataset, folder: Path, K: int) -> list[DeepNetwork]:
    """The finished members a stopped run left in ``folder``, each checked to be the
    member its config.toml describes (its hyperparameters, seed included)."""
    members = []
    for k in range(1, K):
        path = member_file(folder, k)
        if not path.exists():
            break
        network = DeepNetwork.load(path)
        expected = member_network(config, dataset, k - 1).hyperparameters
        if network.hyperparameters != expected or network.unfinished is not None:
            raise ModelFileError(f"{path} does not hold member {k} of {folder}'s run")
        members.append(network)
    return members


def remove_members(folder: Path, K: int) -> None:
    """A completed run's member files go: model.npz holds their average."""
    for k in range(1, K + 1):
        member_file(folder, k).unlink(missing_ok=True)


def summary(members: list[DeepNetwork], seed: int) -> dict:
    """metrics.json's ``ensemble``: each member's seed, epochs, best epoch and end."""
    histories = [network.history for network in members]
    return {
        "members": len(members),
        "seeds": [seed + k for k in range(len(members))],
        "epochs_run": [len(h) for h in histories],
        "best_epoch": [h.best_epoch for h in histories],
        "stop_reason": [h.stop_reason for h in histories],
    }
