"""What continuing a fit needs (:class:`~ldnn.training.state.TrainingState`), as a model
file holds it: the optimizer's state, the generator's state, the epochs trained, the
history, the plateau schedule's state, and where an interrupted fit stood.

All of it goes into the file's JSON metadata (``metadata["training"]``) except the
vectors of the parameters' size, which are arrays of the file:

    optimizer.<kind>          the optimizer's running averages (Adam's v and s, ...)
    unfinished.epoch_theta    theta as the interrupted epoch began (the divergence guard's)
    unfinished.best_theta     early stopping's best theta so far
    unfinished.swa_mean       stochastic weight averaging's running mean of theta so far

What a file declares here is checked before it is used: every field's type and range,
every array's name, shape and dtype (see :func:`expected_arrays`).
"""

from __future__ import annotations

import numpy as np

from ..base.backend import to_numpy
from ..errors import ModelFileError
from ..training.history import History
from ..training.state import (
    LoopState,
    TrainingState,
    Unfinished,
    generator_at,
    make_optimizer,
    make_plateau,
)


def encode(state: TrainingState) -> tuple[dict, dict]:
    """(arrays, metadata) of the training state, for a model file."""
    optimizer, rng, unfinished = state.optimizer, state.generator, state.unfinished
    arrays, meta = {}, {"epochs_trained": int(state.epochs_trained)}
    meta["rng"] = None if rng is None else _plain(rng.bit_generator.state)
    # an unfinished fit's history is saved with it, once
    history = None if unfinished is not None else state.history
    meta["history"] = None if history is None else history_to_dict(history)
    meta["optimizer"] = None
    if optimizer is not None:
        vectors = optimizer.state_vectors()
        meta["optimizer"] = {
            "name": optimizer.name,
            "t": int(optimizer.t),
            "kinds": sorted(vectors),
        }
        arrays.update({f"optimizer.{k}": to_numpy(v) for k, v in vectors.items()})
    meta["plateau"] = None if state.plateau is None else state.plateau.state()
    meta["unfinished"] = None
    if unfinished is not None:
        p = unfinished.position
        meta["unfinished"] = {
            "epoch": p.epoch,
            "step": p.step,
            "epoch_rng_state": None if not p.step else _plain(p.epoch_rng_state),
            "cost_sum": p.cost_sum,
            "right_sum": p.right_sum,
            "clipped": p.clipped,
            "best_cost": p.best_cost,
            "best_epoch": p.best_epoch,
            "swa_count": p.swa_count,
            "split_rng_state": _plain(unfinished.split_rng_state),
            "history": history_to_dict(unfinished.history),
        }
        if p.step:
            arrays["unfinished.epoch_theta"] = to_numpy(p.epoch_theta)
        if p.best_theta is not None:
            arrays["unfinished.best_theta"] = to_numpy(p.best_theta)
        if p.swa_count:
            arrays["unfinished.swa_mean"] = to_numpy(p.swa_mean)
    return arrays, meta


def expected_arrays(meta, n_parameters: int, dtype: str, total: int | None = None) -> dict:
    """{name: (shape, dtype)} of the state arrays ``meta`` (``metadata["training"]``)
    declares: the optimizer's, vectors of the learned parameters' size, and the snapshots
    of theta, of ``total`` entries (batch norm's running statistics after the learned
    parameters; default: as many as the learned ones), in the network's dtype."""
    total = n_parameters if total is None else total
    if meta is None:
        return {}
    _check(isinstance(meta, dict), "training", "a table", meta)
    names = []
    optimizer = meta.get("optimizer")
    if optimizer is not None:
        _check(isinstance(optimizer, dict), "training.optimizer", "a table", optimizer)
        kinds = optimizer.get("kinds")
        _check(
            isinstance(kinds, list) and all(isinstance(k, str) for k in kinds),
            "training.optimizer.kinds",
            "a list of names",
            kinds,
        )
        names += [f"optimizer.{k}" for k in kinds]
    unfinished = meta.get("unfinished")
    if unfinished is not None:
        _check(isinstance(unfinished, dict), "training.unfinished", "a table", unfinished)
        if _integer(unfinished.get("step")) and unfinished["step"] > 0:
            names.append("unfinished.epoch_theta")
        if unfinished.get("best_epoch") is not None:
            names.append("unfinished.best_theta")
        if _integer(unfinished.get("swa_count")) and unfinished["swa_count"] > 0:
            names.append("unfinished.swa_mean")
    return {
        name: ((n_parameters if name.startswith("optimizer.") else total,), np.dtype(dtype))
        for name in names
    }


def decode(arrays: dict, meta, hp, parameters: dict) -> TrainingState:
    """The training state of a model file, checked against the hyperparameters ``hp``.

    Raises
    ------
    ModelFileError
        Naming the field that is missing, of the wrong type or out of range.
    """
    state = TrainingState()
    if meta is None:  # a file of format 1, or saved without training state
        return state
    epochs = meta.get("epochs_trained")
    _check(_integer(epochs) and epochs >= 0, "training.epochs_trained", "an integer >= 0", epochs)
    state.epochs_trained = epochs
    if meta.get("rng") is not None:
        state.generator = _generator(meta["rng"], "training.rng")
    if meta.get("history") is not None:
        state.history = history_from_dict(meta["history"], "training.history")
    if meta.get("optimizer") is not None:
        state.optimizer = _optimizer(meta["optimizer"], arrays, hp, parameters)
    # The plateau schedule's state: its own table, or (files of ldnn 0.1) the optimizer's.
    plateau = meta.get("plateau", (meta.get("optimizer") or {}).get("plateau"))
    state.plateau = make_plateau(hp)
    if state.plateau is not None and plateau is not None:
        _check(
            isinstance(plateau, dict)
            and _number(plateau.get("learning_rate"))
            and plateau["learning_rate"] > 0
            and _number(plateau.get("best"))
            and _integer(plateau.get("bad_epochs"))
            and plateau["bad_epochs"] >= 0,
            "training.plateau",
            "a table of learning_rate > 0, best, bad_epochs",
            plateau,
        )
        state.plateau.set_state(plateau)
    if meta.get("unfinished") is not None:
        state.unfinished = _unfinished(meta["unfinished"], arrays)
        state.history = state.unfinished.history
    return state


def _optimizer(meta: dict, arrays: dict, hp, parameters: dict):
    optimizer = make_optimizer(hp)
    _check(
        meta.get("name") == optimizer.name,
        "training.optimizer.name",
        f"{optimizer.name!r} (the hyperparameters' optimizer)",
        meta.get("name"),
    )
    t = meta.get("t")
    _check(_integer(t) and t >= 0, "training.optimizer.t", "an integer >= 0", t)
    kinds = meta["kinds"]
    _check(
        set(kinds) <= set(optimizer.kinds),
        "training.optimizer.kinds",
        f"names among {list(optimizer.kinds)}",
        kinds,
    )
    vectors = {kind: arrays[f"optimizer.{kind}"].copy() for kind in kinds}
    optimizer.set_state(t, vectors, parameters)
    return optimizer


def _unfinished(meta: dict, arrays: dict) -> Unfinished:
    where = "training.unfinished"
    for key in ("epoch", "step"):
        value = meta.get(key)
        _check(_integer(value) and value >= 0, f"{where}.{key}", "an integer >= 0", value)
    for key in ("cost_sum", "right_sum", "best_cost"):
        value = meta.get(key)
        _check(_number(value), f"{where}.{key}", "a number", value)
    best_epoch = meta.get("best_epoch")
    _check(
        best_epoch is None or (_integer(best_epoch) and best_epoch >= 0),
        f"{where}.best_epoch",
        "an integer >= 0 or null",
        best_epoch,
    )
    position = LoopState(
        epoch=meta["epoch"],
        step=meta["step"],
        cost_sum=float(meta["cost_sum"]),
        right_sum=float(meta["right_sum"]),
        clipped=_clipped(meta.get("clipped", 0), where),
        best_cost=float(meta["best_cost"]),
        best_epoch=best_epoch,
    )
    if position.step:
        generator = _generator(meta.get("epoch_rng_state"), f"{where}.epoch_rng_state")
        position.epoch_rng_state = generator.bit_generator.state
        position.epoch_theta = arrays["unfinished.epoch_theta"].copy()
    if best_epoch is not None:
        position.best_theta = arrays["unfinished.best_theta"].copy()
    # files from before stochastic weight averaging averaged nothing
    swa_count = meta.get("swa_count", 0)
    _check(
        _integer(swa_count) and swa_count >= 0, f"{where}.swa_count", "an integer >= 0", swa_count
    )
    if swa_count:
        position.swa_mean = arrays["unfinished.swa_mean"].copy()
        position.swa_count = swa_count
    split = meta.get("split_rng_state")
    if split is not None:
        split = _generator(split, f"{where}.split_rng_state").bit_generator.state
    history = history_from_dict(meta.get("history"), f"{where}.history")
    return Unfinished(position, history, split)


def _clipped(value, where: str) -> int:
    _check(_integer(value) and value >= 0, f"{where}.clipped", "an integer >= 0", value)
    return int(value)


# -- the parts ------------------------------------------------------------------------------
def history_to_dict(history: History) -> dict:
    return {
        "columns": {name: list(getattr(history, name)) for name in History.COLUMNS},
        "stop_reason": history.stop_reason,
        "stop_message": history.stop_message,
        "best_epoch": history.best_epoch,
    }


def history_from_dict(data, where: str) -> History:
    _check(isinstance(data, dict), where, "a table", data)
    columns = data.get("columns")
    if isinstance(columns, dict) and "clipped" not in columns and "epoch" in columns:
        # A file from before gradient clipping: no step was clipped.
        columns = {**columns, "clipped": [None] * len(columns["epoch"] or [])}
    _check(
        isinstance(columns, dict) and set(columns) == set(History.COLUMNS),
        f"{where}.columns",
        f"a table of {list(History.COLUMNS)}",
        columns,
    )
    lengths = {len(v) if isinstance(v, list) else -1 for v in columns.values()}
    _check(
        len(lengths) == 1 and -1 not in lengths,
        f"{where}.columns",
        "lists of one length",
        sorted(lengths),
    )
    for name, values in columns.items():
        _check(
            all(v is None or _number(v) for v in values),
            f"{where}.columns.{name}",
            "numbers or null",
            values[:3],
        )
    history = History(**{name: list(values) for name, values in columns.items()})
    for key, kind in (("stop_reason", str), ("stop_message", str)):
        value = data.get(key, getattr(history, key))
        _check(isinstance(value, kind), f"{where}.{key}", "text", value)
        setattr(history, key, value)
    best = data.get("best_epoch")
    _check(best is None or _integer(best), f"{where}.best_epoch", "an integer or null", best)
    history.best_epoch = best
    return history


def _generator(state, where: str) -> np.random.Generator:
    try:
        return generator_at(_arrays(state))
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as error:
        raise ModelFileError(f"{where} is not a generator's state: {error}") from None


def _plain(value):
    """A generator's state as JSON: its NumPy arrays (MT19937's key) become tagged lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _arrays(value):
    """The inverse of :func:`_plain`."""
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype"}:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        return {k: _arrays(v) for k, v in value.items()}
    return value


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    """An int or a float (NaN and infinities included: a history may hold them)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(condition: bool, field: str, expected: str, actual) -> None:
    if not condition:
        raise ModelFileError(f"{field} must be {expected}, got {actual!r}"[:300])
