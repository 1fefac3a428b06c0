"""Cost functions J(A[L], Y), their gradient dA[L] (per example), and each example's
weight in the sums over examples.

The cost is a weighted sum of per-example losses; in the notes every example weighs 1/m:
J = (1/m) sum_i L(a(i), y(i)). ``gradient`` returns the per-example derivative dL/da.
:func:`example_weights` says, once, what each example weighs: 1/m, w_i / sum_j w_j with
sample weights, and for a rank's share of a mini-batch (data-parallel training) the
whole batch's 1/m. The backward pass multiplies dZ[L] by those weights, and every sum
over examples below it (dW[l], db[l]) is then a plain sum.

Where the output activation is the loss's canonical partner (sigmoid with binary
cross-entropy, softmax with categorical cross-entropy, linear with squared error) the
chain rule collapses to dZ[L] = A[L] - Y; :data:`Loss.canonical_activation` names that
partner so the backward pass can use the short formula.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base.backend import get_xp
from ..base.checks import check_columns, in_dtype
from ..errors import ConfigurationError, InvalidValueError


class Loss:
    """A cost J over a batch of m examples.

    Attributes
    ----------
    name : str
    canonical_activation : str
        The output activation for which dZ[L] = A[L] - Y.
    output_range : tuple or None
        The open interval that A[L] must lie in for the loss to be defined.
    """

    name = ""
    canonical_activation = ""
    output_range: tuple[float, float] | None = None

    def per_example(self, AL, Y):
        """The loss L(a(i), y(i)) of each example, shape (m,), in float64."""
        raise NotImplementedError

    def loss_sum(self, AL, Y, sample_weight=None):
        """sum_i L(a(i), y(i)), or sum_i w_i L(a(i), y(i)) with ``sample_weight`` w of
        shape (m,): in float64, a 0-d array of AL's module (a NumPy float64 on the CPU)."""
        losses = self.per_example(AL, Y)
        if sample_weight is None:
            return losses.sum()
        return (sample_weight.astype(losses.dtype) * losses).sum()

    def cost(self, AL, Y, sample_weight=None):
        """J = (1/m) sum_i L(a(i), y(i)), or sum_i w_i L_i / sum_i w_i with
        ``sample_weight``: in float64, a 0-d array of AL's module (read it with float())."""
        if sample_weight is None:
            return self.loss_sum(AL, Y) / AL.shape[1]
        return self.loss_sum(AL, Y, sample_weight) / sample_weight.astype(np.float64).sum()

    def gradient(self, AL, Y):
        """dA[L] = dL/dA[L] per example, shape (n[L], m), dtype of AL."""
        raise NotImplementedError

    def smoothed(self, Y, epsilon: float, out=None):
        """Label smoothing: Y (1 - eps) + eps / K, the targets a cross-entropy trains on.

        K is the number of values each target chooses between: n[L] classes for the
        softmax, 2 for each sigmoid unit. The smoothed columns are still distributions
        (or probabilities), so the canonical dZ[L] = A[L] - Y stays exact with them.
        """
        raise ConfigurationError(
            f"label smoothing is for the cross-entropy losses, not {self.name}"
        )

    def prepare_targets(self, Y, n_out: int, dtype, *, keep_labels: bool = False):
        """Check Y against this loss and return it as an (n[L], m) array of ``dtype``.

        With ``keep_labels``, a loss that accepts integer class labels (categorical
        cross-entropy) returns them as a vector of shape (m,) instead of their one-hot
        (n[L], m) array: training builds each mini-batch's one-hot from them, so the
        one-hot of the whole set is never held in memory.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<loss {self.name}>"


def _clip_probabilities(AL):
    # log(0) is -inf and log(1 - 1) too: keep the logs away from exactly 0 and 1 by the
    # dtype's resolution, which changes no probability that is not already saturated.
    xp = get_xp(AL)
    eps = xp.finfo(AL.dtype).eps
    return xp.clip(AL, eps, 1 - eps)


def _as_target_array(Y, dtype, what: str):
    xp = get_xp(Y) if hasattr(Y, "dtype") else np
    Y = xp.asarray(Y)
    if Y.dtype.kind not in "biuf":
        raise InvalidValueError(f"Y must be numeric for loss {what!r}, got dtype {Y.dtype}")
    return Y


class BinaryCrossEntropy(Loss):
    """J = -(1/m) sum_i sum_k [ y log a + (1 - y) log(1 - a) ].

    One sigmoid output unit for binary labels, or n[L] > 1 independent sigmoids for
    multilabel targets (the losses of the units add up).
    """

    name = "binary_crossentropy"
    canonical_activation = "sigmoid"
    output_range = (0.0, 1.0)

    def per_example(self, AL, Y):
        xp = get_xp(AL)
        A = _clip_probabilities(AL).astype(np.float64)
        Y = Y.astype(np.float64)
        return -(Y * xp.log(A) + (1 - Y) * xp.log1p(-A)).sum(axis=0)

    def gradient(self, AL, Y):
        A = _clip_probabilities(AL)
        return (A - Y) / (A * (1 - A))

    def smoothed(self, Y, epsilon, out=None):
        # y (1 - eps) + eps / 2: each unit's label is one of two values
        out = get_xp(Y).multiply(Y, 1 - epsilon, out=out)
        out += epsilon / 2
        return out

    def prepare_targets(self, Y, n_out, dtype, *, keep_labels=False):
        Y = _as_target_array(Y, dtype, self.name)
        if Y.ndim == 1 and n_out == 1:
            Y = Y.reshape(1, -1)
        _check_target_shape(Y, n_out, self.name)
        xp = get_xp(Y)
        if not bool(xp.all((Y == 0) | (Y == 1))):
            bad = Y[(Y != 0) & (Y != 1)].ravel()[:3].tolist()
            raise InvalidValueError(
                f"Y must hold labels in {{0, 1}} for loss {self.name!r}; found {bad}"
            )
        return Y.astype(dtype, copy=False)


class CategoricalCrossEntropy(Loss):
    """J = -(1/m) sum_i sum_k y_k log a_k, for a softmax over n[L] classes.

    Y is one-hot of shape (n[L], m), or integer class labels of shape (m,) or (1, m).
    """

    name = "categorical_crossentropy"
    canonical_activation = "softmax"
    output_range = (0.0, 1.0)

    def per_example(self, AL, Y):
        # y_k log a_k in AL's dtype, in place in the clipped copy; summed in float64.
        log_a = _clip_probabilities(AL)
        get_xp(AL).log(log_a, out=log_a)
        log_a *= Y
        return -log_a.sum(axis=0, dtype=np.float64)

    def gradient(self, AL, Y):
        return -Y / _clip_probabilities(AL)

    def smoothed(self, Y, epsilon, out=None):
        # y (1 - eps) + eps / K over the K = n[L] classes
        out = get_xp(Y).multiply(Y, 1 - epsilon, out=out)
        out += epsilon / Y.shape[0]
        return out

    def prepare_targets(self, Y, n_out, dtype, *, keep_labels=False):
        Y = _as_target_array(Y, dtype, self.name)
        xp = get_xp(Y)
        labels_given = Y.ndim == 1 or (Y.ndim == 2 and Y.shape[0] == 1 and n_out > 1)
        if labels_given:
            labels = Y.ravel()
            if labels.size and (
                not bool(xp.all(labels == xp.round(labels)))
                or labels.min() < 0
                or labels.max() >= n_out
            ):
                raise InvalidValueError(
                    f"Y holds integer class labels for loss {self.name!r}, which must lie in "
                    f"0..{n_out - 1} (n[L] = {n_out}); found values from {labels.min()} "
                    f"to {labels.max()}"
                )
            labels = labels.astype(np.intp, copy=False)
            if keep_labels:
                return labels
            # Fortran order keeps each example's column contiguous, the layout in which
            # training gathers mini-batches (no copy needed there).
            return one_hot(labels, n_out, dtype, out=xp.empty((n_out, labels.size), dtype, "F"))
        _check_target_shape(Y, n_out, self.name)
        if not bool(xp.all((Y == 0) | (Y == 1))) or not bool(xp.all(Y.sum(axis=0) == 1)):
            raise InvalidValueError(
                f"Y of shape {Y.shape} for loss {self.name!r} must be one-hot (each column "
                "holds a single 1), or integer labels of shape (m,)"
            )
        return Y.astype(dtype, copy=False)


class MeanSquaredError(Loss):
    """J = (1/2m) sum_i ||a(i) - y(i)||^2.

    The 1/2 makes the per-example gradient a - y, so that a linear output gives
    dZ[L] = A[L] - Y like the two cross-entropies. (Reported metrics use the plain mean.)
    """

    name = "mean_squared_error"
    canonical_activation = "linear"

    def per_example(self, AL, Y):
        diff = AL.astype(np.float64) - Y.astype(np.float64)
        return (diff * diff).sum(axis=0) / 2

    def gradient(self, AL, Y):
        return AL - Y

    def prepare_targets(self, Y, n_out, dtype, *, keep_labels=False):
        Y = _as_target_array(Y, dtype, self.name)
        if Y.ndim == 1 and n_out == 1:
            Y = Y.reshape(1, -1)
        _check_target_shape(Y, n_out, self.name)
        return in_dtype(Y, dtype, "Y")


def one_hot(labels, n_classes: int, dtype, out=None):
    """Y of shape (n_classes, m) with Y[k, i] = 1 if labels[i] == k, else 0.

    Parameters
    ----------
    labels : integer array of shape (m,), values in 0..n_classes-1
    n_classes : int
    dtype : the result's dtype
    out : array of shape (n_classes, m), optional
        Written in place (training builds each mini-batch's Y this way).
    """
    xp = get_xp(labels)
    classes = xp.arange(n_classes).reshape(-1, 1)
    if out is None:
        return xp.equal(classes, labels).astype(dtype)
    # The comparison writes its True/False straight into out as 1/0.
    return xp.equal(classes, labels, out=out)


class ExampleWeights(NamedTuple):
    """What each example of a mini-batch weighs in J = sum_i per_example_i L_i +
    (lambd / 2m) sum_l ||W[l]||^2: backward takes dZ[L] = per_example * dL/dZ[L], and the
    notes' (1/m) sums are then plain sums.

    ``per_example``: 1/m, or w_i / total for each example at hand (a rank's share of the
    batch, or all of it), in the dtype of the arrays it multiplies; ``total``: m, or the
    sum of the whole batch's weights (J's data term divides by it); ``m``: the whole
    batch's number of examples (the L2 term's lambd / m).
    """

    per_example: object
    total: float
    m: int


def example_weights(m: int, sample_weight=None, *, total=None, dtype=None) -> ExampleWeights:
    """Each example's weight: the notes' 1/m, or w_i / sum w with ``sample_weight`` w of
    shape (m_r,). For a rank's share of a batch of m examples, ``total`` is the sum of the
    whole batch's weights (default: the sum of ``sample_weight``)."""
    if sample_weight is None:
        return ExampleWeights(1 / m, m, m)
    total = float(sample_weight.sum()) if total is None else total
    w = sample_weight / total
    return ExampleWeights(w if dtype is None else w.astype(dtype), total, m)


def _check_target_shape(Y, n_out: int, loss: str) -> None:
    check_columns(Y, n_out, "Y", "n[L]", f" for loss {loss!r}")


_LOSSES: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "mean_squared_error": MeanSquaredError,
}
_ALIASES = {
    "bce": "binary_crossentropy",
    "cross_entropy": "binary_crossentropy",
    "cce": "categorical_crossentropy",
    "mse": "mean_squared_error",
}

#: The loss that goes with each output activation when none is given.
DEFAULT_LOSS_FOR_OUTPUT = {
    "sigmoid": "binary_crossentropy",
    "softmax": "categorical_crossentropy",
}


def available_losses() -> list[str]:
    """The names :func:`get_loss` accepts (aliases included)."""
    return sorted([*_LOSSES, *_ALIASES])


def get_loss(spec: str | Loss) -> Loss:
    """Resolve a loss from its name or alias (``"bce"``, ``"cce"``, ``"mse"``)."""
    if isinstance(spec, Loss):
        return spec
    name = _ALIASES.get(str(spec).lower(), str(spec).lower())
    if name not in _LOSSES:
        raise ConfigurationError(
            f"unknown loss {spec!r}; valid names: {', '.join(available_losses())}"
        )
    return _LOSSES[name]()
