"""The notes' own view of one step: for the current mini-batch, forward propagation layer by
layer (W[l], b[l], Z[l], A[l] for l = 1..L) and backward (Y, dZ[L], then for l = L..1
dZ[l], dW[l], db[l], dA[l-1]), each array with its name, its shape in the notes' form and
its formula; and ldnn's own gradient check of the network on a few of its examples.

Every number is ldnn's: :func:`ldnn.core.propagation.forward` and
:func:`~ldnn.core.propagation.backward` on the network's parameters, with the loss, the
example weights (1/m) and the L2 λ that training uses, and dropout off. dZ[l] is the very
array backward computes (read from the :class:`~ldnn.core.workspace.Workspace` it writes
into). ldnn's backward folds the notes' 1/m into dZ[L] (:func:`ldnn.core.losses.example_weights`),
so its dZ[l] and dA[l] are the notes' divided by m: the view multiplies them back by m
(exact for a power of two, as the default 16), so that the formulas hold as the notes
write them on the numbers shown. dW[l] and db[l] are backward's own.

A network with batch-normalised layers is refused (:func:`refuse_batch_norm`, a 400 the
page shows in the panel) rather than walked as if it had none; the gradient check takes
it (gamma and beta checked with W).

The functions here run on the training thread, between two steps (``Session.call``): a
consistent snapshot of the live network, taken while training goes on if it is playing.
"The current mini-batch" is the one the next step trains on (drawn again from the
generator's state, which is left as it is); the view takes its first ``m`` (at most
:data:`MAX_M`) examples.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.gradcheck import gradcheck
from ..core.losses import example_weights, get_loss
from ..core.parameters import count_parameters
from ..core.propagation import backward, forward, resolve_activations
from ..core.workspace import Workspace
from ..errors import ConfigurationError
from ..training.loop import minibatches
from ..training.state import generator_at

#: The most examples of the mini-batch the view shows, and its default.
MAX_M, M = 64, 16
#: The most values in one answer, all arrays together.
MAX_VALUES = 60_000
#: Significant digits of the values: at most (17: every float64 exactly), and by default.
MAX_DIGITS, DIGITS = 17, 6
#: The gradient check: the most examples (and the default) and the most parameters.
MAX_EXAMPLES, EXAMPLES = 64, 8
MAX_CHECKED = 10_000
#: The project's threshold of a gradient check (``ldnn gradcheck --threshold``'s default).
THRESHOLD = 1e-7


def _whole(document: dict, name: str, default: int, low: int, high: int) -> int:
    value = document.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationError(
            f"{name} must be a whole number from {low} to {high}, got {value!r}", field=name
        )
    return value


def request(document, fields: dict) -> dict:
    """The request's values, checked: ``fields`` is {name: (default, low, high)}; an
    unknown name, a value out of range or of the wrong kind is a ConfigurationError
    naming its field."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigurationError("the request is a JSON object", field="body")
    for name in document:
        if name not in fields:
            raise ConfigurationError(
                f"unknown field {str(name)[:60]!r}; fields: {', '.join(fields)}",
                field=str(name)[:60],
            )
    return {name: _whole(document, name, *spec) for name, spec in fields.items()}


def current_batch(network, m_train: int) -> dict:
    """The mini-batch the next step trains on: its epoch, its index among the epoch's
    batches, their count, and its columns of the training part. Drawn again from the
    generator's state (an interrupted epoch's, or the generator's as the next epoch
    would draw it), on a copy: training's generator is left as it is."""
    hp, state = network.hyperparameters, network.state
    unfinished = state.unfinished
    if unfinished is not None and unfinished.position.step > 0:  # an epoch under way
        position = unfinished.position
        rng, epoch, index = generator_at(position.epoch_rng_state), position.epoch, position.step
    else:  # between two epochs (a fit stopped there has no epoch's state yet)
        generator = state.generator or np.random.default_rng([hp.seed, state.epochs_trained])
        rng, epoch, index = generator_at(generator.bit_generator.state), state.epochs_trained, 0
    batches = minibatches(m_train, hp.batch_size, rng)
    return {"epoch": epoch, "index": index, "count": len(batches), "columns": batches[index]}


def walk(network, X, Y, lambd: float, l1: float = 0.0) -> list[dict]:
    """The arrays of one forward and backward pass on X (n[0], m) and Y (n[L], m), in the
    notes' order, each a dict: name, pass ("forward" or "backward"), layer, notation (the
    shape in the notes' form), formula, shape and values (an ndarray)."""
    hp, parameters = network.hyperparameters, network.parameters
    L, m = network.L, X.shape[1]
    activations = resolve_activations(hp.activations, L)
    loss = get_loss(hp.loss)
    AL, caches = forward(X, parameters, activations)  # no masks: dropout off
    workspace = Workspace()  # backward writes dZ[l] into it: read back below
    weights = example_weights(m)
    grads = backward(
        AL,
        Y,
        caches,
        activations,
        loss,
        weights=weights,
        lambd=lambd,
        l1=l1,
        workspace=workspace,
    )
    arrays = []

    def add(name, stage, l, notation, formula, values):
        arrays.append(
            {
                "name": name,
                "pass": stage,
                "layer": l,
                "notation": notation,
                "formula": formula,
                "shape": list(values.shape),
                "values": values,
            }
        )

    add("A[0]", "forward", 1, "(n[0], m)", "A[0] = X", X)
    for l in range(1, L + 1):
        cache, g, k = caches[l - 1], activations[l - 1].name, l - 1
        add(f"W[{l}]", "forward", l, f"(n[{l}], n[{k}])", f"W[{l}]", parameters[f"W{l}"])
        add(f"b[{l}]", "forward", l, f"(n[{l}], 1)", f"b[{l}]", parameters[f"b{l}"])
        add(f"Z[{l}]", "forward", l, f"(n[{l}], m)", f"Z[{l}] = W[{l}]·A[{k}] + b[{l}]", cache.Z)
        add(f"A[{l}]", "forward", l, f"(n[{l}], m)", f"A[{l}] = {g}(Z[{l}])", cache.A)
    add("Y", "backward", L, f"(n[{L}], m)", "Y, the labels", Y)
    canonical = activations[L - 1].name == loss.canonical_activation
    if not canonical:
        formula = f"dA[{L}] = ∂L/∂A[{L}] ({loss.name})"
        add(f"dA[{L}]", "backward", L, f"(n[{L}], m)", formula, loss.gradient(AL, Y))
    l2 = f" + (λ/m) W[{{l}}], λ = {lambd:g}" if lambd else ""
    l2 += f" + (λ₁/m) sign(W[{{l}}]), λ₁ = {l1:g}" if l1 else ""
    for l in range(L, 0, -1):
        k, g = l - 1, activations[l - 1].name
        dZ = workspace.layer(l, parameters[f"W{l}"], m).dZ * m  # the notes': without 1/m
        formula = f"dZ[{L}] = A[{L}] − Y" if l == L and canonical else (
            f"dZ[{l}] = dA[{l}] * {g}'(Z[{l}])")  # fmt: skip
        add(f"dZ[{l}]", "backward", l, f"(n[{l}], m)", formula, dZ)
        formula = f"dW[{l}] = (1/m) dZ[{l}]·A[{k}]ᵀ" + l2.format(l=l)
        add(f"dW[{l}]", "backward", l, f"(n[{l}], n[{k}])", formula, grads[f"dW{l}"])
        formula = f"db[{l}] = (1/m) Σ dZ[{l}] (axis=1, keepdims)"
        add(f"db[{l}]", "backward", l, f"(n[{l}], 1)", formula, grads[f"db{l}"])
        formula = f"dA[{k}] = W[{l}]ᵀ·dZ[{l}]"
        add(f"dA[{k}]", "backward", l, f"(n[{k}], m)", formula, grads[f"dA{k}"] * m)
    return arrays


def rounded(values: np.ndarray, digits: int) -> list:
    """``values`` as nested lists of floats to ``digits`` significant digits (17: exactly),
    NaN and infinities as None (JSON has none)."""
    values = np.asarray(values, dtype=np.float64)
    if digits < MAX_DIGITS:
        with np.errstate(all="ignore"):
            magnitude = np.floor(
                np.log10(np.abs(values), where=values != 0, out=np.zeros_like(values))
            )
            scale = 10.0 ** (digits - 1 - magnitude)
            shown = np.round(values * scale) / scale
        values = np.where(np.isfinite(shown), shown, values)
    if np.isfinite(values).all():
        return values.tolist()
    return [[v if math.isfinite(v) else None for v in row] for row in values.tolist()]


def _batch_data(network, dataset, columns):
    """X (n[0], m) and Y (n[L], m) of these columns of the training part, as training
    prepares them (a softmax's class labels one-hot), X written out: an uploaded table's
    text columns as the notes' one-hot rows (training keeps them as codes, the same
    products)."""
    Y = np.asarray(dataset.Y_train)
    X, Y = network.check_data(dataset.X_train[:, columns], Y[..., columns])
    return (X.dense(network.dtype) if hasattr(X, "dense") else X), Y


def refuse_batch_norm(network) -> None:
    """A ConfigurationError naming "batch_norm" when a layer is batch-normalised: the walk
    shows the notes' Z[l] = W[l]·A[l-1] + b[l] and its backward, which such a layer does
    not compute (it normalises Z[l] and has gamma[l], beta[l] in place of b[l])."""
    normalised = [l for l, on in enumerate(network.hyperparameters.batch_norm, 1) if on]
    if normalised:
        layers = ", ".join(map(str, normalised))
        raise ConfigurationError(
            f"the course view does not show batch-normalised layers yet (layers {layers} here "
            "normalise Z[l] and have gamma[l], beta[l] in place of b[l]): its arrays would "
            "not be what training computes. Turn batch norm off to step through the network; "
            "the gradient check works with it",
            field="batch_norm",
        )


def view(network, dataset, document=None) -> dict:
    """The answer of ``POST /course``: the current mini-batch's first ``m`` examples (the
    request's, default :data:`M`) through one forward and backward pass, each array's
    values to ``digits`` significant digits."""
    asked = request(document, {"m": (M, 1, MAX_M), "digits": (DIGITS, 1, MAX_DIGITS)})
    refuse_batch_norm(network)
    batch = current_batch(network, dataset.X_train.shape[1])
    columns = batch["columns"][: asked["m"]]
    m, dims = len(columns), network.layer_dims
    count = sum(d * m for d in dims) * 4 + sum(
        dims[l] * (dims[l - 1] + 1) * 2 for l in range(1, len(dims))
    )
    if count > MAX_VALUES:
        weights = sum(dims[l] * dims[l - 1] for l in range(1, len(dims)))
        field, fix = ("m", "ask for fewer examples m") if weights * 2 < MAX_VALUES else (
            "layers", "use fewer units (the course view is for small networks)")  # fmt: skip
        raise ConfigurationError(
            f"the course view would send about {count:,} values, more than {MAX_VALUES:,}: {fix}",
            field=field,
        )
    X, Y = _batch_data(network, dataset, columns)
    lambd, l1 = network.hyperparameters.lambd, network.hyperparameters.l1
    arrays = walk(network, X, Y, lambd, l1)
    for entry in arrays:
        entry["values"] = rounded(entry["values"], asked["digits"])
    return {
        "epoch": batch["epoch"],
        "batch": {
            "index": batch["index"],
            "count": batch["count"],
            "size": len(batch["columns"]),
            "columns": [int(c) for c in columns],
        },
        "m": m,
        "digits": asked["digits"],
        "layer_dims": list(dims),
        "activations": list(network.hyperparameters.activations),
        "loss": get_loss(network.hyperparameters.loss).name,
        "lambd": lambd,
        "l1": l1,
        "note": (
            "dropout off; dZ[l] and dA[l] are the notes' (ldnn's backward, which carries "
            "each example's 1/m, times m); dW[l] and db[l] are backward's own"
        ),
        "arrays": arrays,
    }


def check(network, dataset, document=None) -> dict:
    """The answer of ``POST /gradcheck``: :func:`ldnn.core.gradcheck.gradcheck` of the
    network (float64, its loss, λ and dropout masks held fixed) on the current
    mini-batch's first ``examples`` examples."""
    asked = request(document, {"examples": (EXAMPLES, 1, MAX_EXAMPLES)})
    hp = network.hyperparameters
    n_parameters = count_parameters(hp.layer_dims, hp.batch_norm, hp.embedding_dims)
    if n_parameters > MAX_CHECKED:
        raise ConfigurationError(
            f"the network has {n_parameters:,} parameters; the gradient check takes two "
            f"forward passes per parameter and is offered up to {MAX_CHECKED:,}",
            field="layers",
        )
    batch = current_batch(network, dataset.X_train.shape[1])
    columns = batch["columns"][: asked["examples"]]
    X, Y = _batch_data(network, dataset, columns)
    result = gradcheck(network, X, Y, threshold=THRESHOLD)
    return {
        "difference": result.difference,
        "threshold": result.threshold,
        "passed": bool(result.passed),
        "n_parameters": result.n_parameters,
        "examples": len(columns),
        "epoch": batch["epoch"],
        "batch": batch["index"],
        "worst": [
            {"parameter": name, "row": int(i), "column": int(j), "backprop": g, "numerical": a}
            for name, (i, j), g, a in result.worst
        ],
    }
