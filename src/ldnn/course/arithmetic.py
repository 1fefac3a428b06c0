"""The course's arithmetic, as core-compatible activation and loss objects.

The core's formulas are the course's; in three places its operation order differs, and
these objects keep the course's, so that printed costs agree with the course to about
1e-12: the sigmoid and its backward pass, and the cross-entropy cost and its gradient
dA[L] (the third, the 1/sqrt(n[l-1]) initialisation, is in :mod:`ldnn.course.steps`).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.activations import Activation, get_activation
from ..core.losses import BinaryCrossEntropy
from ..errors import ConfigurationError


class CourseSigmoid(Activation):
    """sigmoid(Z) = 1 / (1 + exp(-Z)), exactly as the course writes it.

    The core's sigmoid takes a branch for Z < 0 to avoid overflowing exp(-Z); that
    changes the last bits of A, so here the course's formula is kept (course order). For
    Z < -709 exp(-Z) overflows to inf and NumPy warns, as it does in the course; the
    result, 1 / inf = 0, is still the right limit.
    """

    name = "sigmoid"  # so that the core pairs it with cross-entropy as it does its own

    def norm_bound(self, z, n):
        return math.sqrt(n)  # each unit in [0, 1]

    def forward(self, Z, out=None):
        # ``out`` is the core's buffer hint for training; the course allocates, so do we.
        return 1 / (1 + np.exp(-Z))

    def backward(self, dA, Z, A, out=None):
        # Course order: s is recomputed from Z and dZ = (dA * s) * (1 - s). The core
        # computes dA * (s * (1 - s)), which rounds differently.
        s = 1 / (1 + np.exp(-Z))
        return dA * s * (1 - s)


class CourseCrossEntropy(BinaryCrossEntropy):
    """The course's cross-entropy cost and its gradient dA[L], without clipping.

    ``canonical_activation`` is empty on purpose: the core's backward pass then takes
    dA[L] from :meth:`gradient` and multiplies by sigmoid'(Z[L]), as the course's
    ``L_model_backward`` does, instead of its fused dZ[L] = A[L] - Y.
    """

    name = "binary_crossentropy (course)"
    canonical_activation = ""

    def cost(self, AL, Y, sample_weight=None):
        if sample_weight is not None:
            raise ConfigurationError("the course's cost takes no sample weights")
        # Course order: (1/m) * (-Y . log(AL)^T - (1 - Y) . log(1 - AL)^T), a (1, 1) array.
        # The core clips AL and uses log1p(-AL), which changes the last bits.
        m = Y.shape[1]
        J = (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))
        return float(np.squeeze(J))  # the core's contract: a Python float (exact here)

    def gradient(self, AL, Y):
        # dL/da = -(y/a - (1 - y)/(1 - a)), as the course writes it (course order).
        return -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))


SIGMOID = CourseSigmoid()
CROSS_ENTROPY = CourseCrossEntropy()
RELU = get_activation("relu")  # max(0, Z) and dZ = dA * (Z > 0): the course's arithmetic
TANH = get_activation("tanh")  # tanh(Z) and dZ = dA * (1 - A * A): the course's too


def course_activations(L: int, hidden: str = "relu") -> list[Activation]:
    """The activations of the course's L-layer model: ``hidden`` for 1..L-1, sigmoid for L.

    Pass them with :data:`CROSS_ENTROPY` to the core's ``forward``, ``backward`` or
    :func:`ldnn.core.gradcheck.gradcheck` to run the exact computation of this module.
    """
    return [course_activation(hidden)] * (L - 1) + [SIGMOID]


def course_activation(name: str) -> Activation:
    try:
        return {"sigmoid": SIGMOID, "relu": RELU, "tanh": TANH}[name]
    except KeyError:
        raise ConfigurationError(
            f"activation must be 'sigmoid', 'relu' or 'tanh', got {name!r}"
        ) from None
