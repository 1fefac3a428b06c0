"""What the page exports: the model file, its ONNX graph, the data as data.csv, the
config.toml and the ``ldnn train`` command that reproduce the session's network.

The session trains on exactly what ``ldnn train data.csv --config config.toml`` reads
(:mod:`.build`), from the same seed, so retraining gives the session's parameters bit
for bit, when the session was only played, paused and stepped to an epoch's end.
Retraining cannot replay what else a session did: it is a run with the settings as they
are now, from the start, for as many epochs as the session trained (a run that early
stopping ended: for the epochs it was to train, which it stops short of at the same
epoch); the config's comment says when the session did more (an α or λ changed as it
trained, a weight edited by hand, an epoch left half done) or when the config's run ends
otherwise (early stopping restores its best epoch at the end of a run; a cosine schedule
anneals over the config's epochs).

Batch norm, the learning-rate schedule, the validation part and early stopping are the
network's own hyperparameters, so the config.toml carries them as ``ldnn train`` reads
them (``batch_norm`` in [model]; ``lr_schedule`` and its parameters, ``validation_split``
and ``early_stopping`` in [training]).
"""

from __future__ import annotations

import copy

from ..errors import ConfigurationError
from ..io import dumps_toml
from ..runs.config import resolved
from .build import DATA_FILE

COMMAND = f"ldnn train {DATA_FILE} --config config.toml"


def epochs(session) -> int:
    """The config's epochs: those the session trained (at least one); of a run that
    early stopping ended, those it was to train (a cosine schedule's α follows them)."""
    network = session.network
    trained = max(1, network.epochs_trained)
    return max(trained, network.hyperparameters.epochs) if session.ended else trained


def caveats(session) -> list[str]:
    """What retraining from config.toml will not replay, said in words."""
    said, network = [], session.network
    hp, unfinished = network.hyperparameters, network.unfinished
    if session.changed_live:
        said.append(
            "α, λ, keep_prob or a cosine schedule's stop changed while it trained: the config "
            "holds the last values"
        )
    if session.edited:
        said.append("weights were edited by hand")
    if unfinished is not None and unfinished.position.step > 0:
        said.append("its last epoch was left half done: the config stops at the last whole one")
    if network.epochs_trained == 0:
        said.append("it has not trained a whole epoch: the config trains one")
    best = None if unfinished is None else unfinished.position.best_epoch
    if not session.ended and best is not None and best + 1 < network.epochs_trained:
        said.append(
            f"early stopping restores its best epoch when a run ends: the config's run ends "
            f"with the parameters after epoch {best + 1}, the session's are epoch "
            f"{network.epochs_trained}'s"
        )
    if hp.lr_schedule == "cosine" and epochs(session) != hp.epochs:
        said.append(
            f"its cosine schedule anneals α over stop after = {hp.epochs} epochs; the "
            f"config's {epochs(session)} epochs anneal it over {epochs(session)}"
        )
    return said


def config_toml(session) -> str:
    """The config.toml of the session's network, its data read from data.csv."""
    network = session.network
    config = copy.deepcopy(resolved(session.built.config, network.hyperparameters))
    config["data"]["source"] = DATA_FILE
    config["training"]["epochs"] = epochs(session)
    lines = [
        "ldnn playground: rerun with",
        f"  {COMMAND}",
        "which trains this network from the seed on data.csv's training part.",
    ]
    said = caveats(session)
    if said:
        lines += ["It is not this session's exact history, which the config cannot hold:"]
        lines += [f"  - {line}" for line in said]
    return dumps_toml(config, "\n".join(lines))


def model_bytes(session) -> bytes:
    """The network's model file (ldnn's own .npz, read with allow_pickle=False), as
    ``ldnn train`` writes it: with what the model remembers of its data."""
    path = session.folder / "model.npz"
    network = session.network
    network.metadata = {"data": session.built.info}
    network.save(path)
    return path.read_bytes()


def onnx_bytes(session, to_onnx=None) -> bytes:
    """The network's ONNX graph with the preparation it remembers (``ldnn export``'s
    :func:`ldnn.onnx.to_onnx`, given by the command line so that the playground does not
    import the exporter: raw columns in, probabilities and labels or predictions out)."""
    if to_onnx is None:
        raise ConfigurationError(
            "this playground was started without an ONNX exporter", field="path"
        )
    network = session.network
    network.metadata = {"data": session.built.info}
    return to_onnx(network).SerializeToString()


def data_bytes(session) -> bytes:
    return (session.built.folder / DATA_FILE).read_bytes()
