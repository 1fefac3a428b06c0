"""The notes' own view of one step: for the current mini-batch, forward propagation layer by
layer (W[l], b[l], Z[l], A[l] for l = 1..L) and backward (Y, dZ[L], then for l = L..1
dZ[l], dW[l], db[l], dA[l-1]), each array with its name, its shape in the notes' form and
its formula, batch norm's and dropout's arrays where a layer has them; and ldnn's own
gradient check of the network on a few of its examples.

Every number is ldnn's (:mod:`.course_walk` says where each is read from):
:func:`ldnn.core.propagation.forward` and :func:`~ldnn.core.propagation.backward` on the
network's parameters, with the loss, the example weights (1/m) and the L2 λ and L1 λ₁ that
training uses. ldnn's backward folds the notes' 1/m into dZ[L]
(:func:`ldnn.core.losses.example_weights`), so its dZ[l], dZ~[l] and dA[l] are the notes'
divided by m: the view multiplies them back by m (exact for a power of two, as the
default 16), so that the formulas hold as the notes write them on the numbers shown.
dW[l], db[l], dγ[l] and dβ[l] are backward's own.

A batch-normalised layer (course 2, week 3) is shown with Z[l] = W[l]·A[l-1], μ[l],
σ²[l], Z_norm[l], γ[l], β[l], Z~[l] and, backward, dZ~[l], dγ[l], dβ[l], dZ[l]: the
statistics are those a training step takes, over the examples shown (the mini-batch's own
when m is its size), not the running averages, which the view leaves as they are.

Dropout (course 2, week 1) is applied as the next training step applies it: its masks
D[l] (the notes' 0/1) are those that step draws for these examples, drawn here from a
copy of training's generator, which is left as it is; ``"dropout": 0`` asks for the view
without them.

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
from ..core.losses import get_loss
from ..core.parameters import count_parameters
from ..core.regularization import dropout_masks
from ..errors import ConfigurationError
from ..training.batches import minibatches
from ..training.state import generator_at
from .course_walk import walk  # (tests and callers import it from here too)

#: The most examples of the mini-batch the view shows, and its default.
MAX_M, M = 64, 16
#: The most values in one answer, all arrays together.
MAX_VALUES = 60_000
#: An array of more rows or columns is summarised: its first SHOWN_ROWS rows and
#: SHOWN_COLUMNS columns are sent, with its minimum, maximum, mean and deviation.
SHOWN_ROWS, SHOWN_COLUMNS = 32, 64
#: The most parameters a network the view walks may have (the walk is a training
#: step's work, done on the training thread).
MAX_WALKED = 5_000_000
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
    batches, their count, its columns of the training part, and ``generator``, a
    generator where that step's first dropout mask is drawn from. Drawn again from the
    generator's state (an interrupted epoch's, or the generator's as the next epoch
    would draw it), on copies: training's generator is left as it is."""
    hp, state = network.hyperparameters, network.state
    unfinished = state.unfinished
    if unfinished is not None and unfinished.position.step > 0:  # an epoch under way
        position = unfinished.position
        rng, epoch, index = generator_at(position.epoch_rng_state), position.epoch, position.step
        # the fit's own generator stands past the shuffle and the earlier steps' masks
        draws = generator_at(state.generator.bit_generator.state)
    else:  # between two epochs (a fit stopped there has no epoch's state yet)
        generator = state.generator or np.random.default_rng([hp.seed, state.epochs_trained])
        rng, epoch, index = generator_at(generator.bit_generator.state), state.epochs_trained, 0
        draws = rng  # the epoch's first masks follow its shuffle
    batches = minibatches(m_train, hp.batch_size, rng, hp.shuffle_window)
    columns = batches[index]
    if isinstance(columns, slice):  # one batch of every example, in order
        columns = np.arange(m_train)
    return {
        "epoch": epoch,
        "index": index,
        "count": len(batches),
        "columns": columns,
        "generator": draws,
    }


def next_masks(network, batch: dict, like, m: int) -> dict:
    """{l: D[l]}: the inverted-dropout masks the next step draws for ``batch``
    (:func:`current_batch`'s), as ldnn's :func:`~ldnn.core.regularization.dropout_masks`
    draws them (ldnn's D[l], 1/keep_prob where kept), of its first ``m`` examples; empty
    without dropout. ``like``: an array of the training data's dtype (the draws depend on
    it). Drawn from ``batch["generator"]``, a copy."""
    hp = network.hyperparameters
    keep_probs = tuple(hp.keep_prob)
    if all(keep == 1 for keep in keep_probs):
        return {}
    size = len(batch["columns"])  # the step draws masks for its whole batch
    # the first m columns of each, as a rank keeps its share of a batch's masks
    return dropout_masks(
        hp.layer_dims, size, keep_probs, batch["generator"], like, columns=np.arange(m)
    )


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


def summarised(entry: dict, digits: int) -> None:
    """``entry``'s values as JSON numbers to ``digits`` digits; an array of more than
    :data:`SHOWN_ROWS` rows or :data:`SHOWN_COLUMNS` columns cut to its first ones,
    ``shown`` saying how many, and ``summary`` its whole min, max, mean and std."""
    values = np.asarray(entry["values"], dtype=np.float64)
    rows, columns = values.shape
    if rows > SHOWN_ROWS or columns > SHOWN_COLUMNS:
        finite = values[np.isfinite(values)]
        stats = (finite.min(), finite.max(), finite.mean(), finite.std()) if finite.size else ()
        shown = rounded(np.array([stats]), digits)[0] if stats else [None] * 4
        entry["summary"] = dict(zip(("min", "max", "mean", "std"), shown, strict=True))
        entry["shown"] = [min(rows, SHOWN_ROWS), min(columns, SHOWN_COLUMNS)]
        values = values[:SHOWN_ROWS, :SHOWN_COLUMNS]
    entry["values"] = rounded(values, digits)


def _note(network, m: int, size: int, dropout: bool) -> str:
    """What the view's numbers are, said once above its arrays."""
    hp = network.hyperparameters
    normalised = any(hp.batch_norm)
    said = [
        ("dZ[l], dZ~[l] and dA[l]" if normalised else "dZ[l] and dA[l]")
        + " are the notes' (ldnn's backward, which carries each example's 1/m, times m); "
        + ("dW[l], db[l], dγ[l] and dβ[l]" if normalised else "dW[l] and db[l]")
        + " are backward's own"
    ]
    if normalised:
        whose = (
            "the whole mini-batch, as the step takes them"
            if m == size
            else f"the first {m} of its {size} examples: the step takes them over all {size}"
        )
        said.append(f"batch norm: μ[l] and σ²[l] of {whose} (not the running averages)")
    if any(keep < 1 for keep in hp.keep_prob):
        said.append(
            "dropout as the next step applies it: D[l] are the masks it draws for these "
            "examples (from a copy of training's generator, left as it is)"
            if dropout
            else "dropout off, as asked (training drops units: keep_prob < 1)"
        )
    else:
        said.append("no dropout (keep_prob = 1)")
    return "; ".join(said)


def view(network, dataset, document=None) -> dict:
    """The answer of ``POST /course``: the current mini-batch's first ``m`` examples (the
    request's, default :data:`M`) through one forward and backward pass, each array's
    values to ``digits`` significant digits; with the network's dropout unless
    ``dropout`` is 0."""
    fields = {"m": (M, 1, MAX_M), "digits": (DIGITS, 1, MAX_DIGITS), "dropout": (1, 0, 1)}
    asked = request(document, fields)
    hp = network.hyperparameters
    batch = current_batch(network, dataset.X_train.shape[1])
    columns = batch["columns"][: asked["m"]]
    m, dims, size = len(columns), network.layer_dims, len(batch["columns"])
    n_parameters = count_parameters(hp.layer_dims, hp.batch_norm, hp.embedding_dims)
    if n_parameters > MAX_WALKED:
        raise ConfigurationError(
            f"the network has {n_parameters:,} parameters; the course view walks networks of "
            f"up to {MAX_WALKED:,}: use fewer units",
            field="layers",
        )
    X, Y = _batch_data(network, dataset, columns)
    masks = next_masks(network, batch, X, m) if asked["dropout"] else {}
    arrays = walk(network, X, Y, hp.lambd, hp.l1, masks=masks or None)
    for entry in arrays:
        summarised(entry, asked["digits"])
    count = sum(len(e["values"]) * len(e["values"][0]) for e in arrays if e["values"])
    if count > MAX_VALUES:
        raise ConfigurationError(
            f"the course view would send {count:,} values, more than {MAX_VALUES:,}, even "
            f"with each array cut to {SHOWN_ROWS} x {SHOWN_COLUMNS}: use fewer layers",
            field="layers",
        )
    return {
        "epoch": batch["epoch"],
        "batch": {
            "index": batch["index"],
            "count": batch["count"],
            "size": size,
            "columns": [int(c) for c in columns],
        },
        "m": m,
        "digits": asked["digits"],
        "layer_dims": list(dims),
        "activations": list(hp.activations),
        "loss": get_loss(hp.loss).name,
        "lambd": hp.lambd,
        "l1": hp.l1,
        "batch_norm": [bool(b) for b in hp.batch_norm] or [False] * (network.L - 1),
        "keep_prob": [float(k) for k in hp.keep_prob],
        "dropout": bool(masks),
        "note": _note(network, m, size, bool(masks)),
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
