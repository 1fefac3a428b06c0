"""What the page exports: the model file, its ONNX graph, the data as data.csv, the
config.toml and the ``ldnn train`` command that reproduce the session's network.

The session trains on exactly what ``ldnn train data.csv --config config.toml`` reads
(:mod:`.build`), from the same seed, so retraining gives the session's parameters bit
for bit, when the session was only played, paused and stepped to an epoch's end.
Retraining cannot replay what else a session did: it is a run with the settings as they
are now, from the start, for as many epochs as the session trained; the config's
comment says when the session did more (an α or λ changed as it trained, a weight
edited by hand, an epoch left half done).
"""

from __future__ import annotations

import copy

from ..errors import ConfigurationError
from ..io import dumps_toml
from ..runs.config import resolved
from .build import DATA_FILE

COMMAND = f"ldnn train {DATA_FILE} --config config.toml"


def caveats(session) -> list[str]:
    """What retraining from config.toml will not replay, said in words."""
    said = []
    if session.changed_live:
        said.append("α, λ or keep_prob changed while it trained: the config holds the last values")
    if session.edited:
        said.append("weights were edited by hand")
    if session.network.unfinished is not None:
        said.append("its last epoch was left half done: the config stops at the last whole one")
    if session.network.epochs_trained == 0:
        said.append("it has not trained a whole epoch: the config trains one")
    return said


def config_toml(session) -> str:
    """The config.toml of the session's network, its data read from data.csv."""
    network = session.network
    config = copy.deepcopy(resolved(session.built.config, network.hyperparameters))
    config["data"]["source"] = DATA_FILE
    config["training"]["epochs"] = max(1, network.epochs_trained)
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
