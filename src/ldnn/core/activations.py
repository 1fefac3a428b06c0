"""Activation functions g[l] and their derivatives g[l]'.

Each activation turns Z[l] into A[l] = g(Z[l]) in ``forward`` and turns the upstream
gradient dA[l] into dZ[l] in ``backward``. For the elementwise activations that is the
notes' formula dZ[l] = dA[l] * g'(Z[l]); softmax mixes the units of a column, so its
backward multiplies by the Jacobian instead.

Activations are chosen by name. ``"leaky_relu:0.2"`` gives a parameter (the slope for
Z < 0; ``"leaky_relu"`` alone means 0.01). Users add their own pair (g, g') with
:func:`register_activation`, and then use it by name like the built-ins.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..base.backend import get_xp
from ..errors import ArgumentTypeError, ConfigurationError


class Activation:
    """A function g applied to Z[l] of shape (n[l], m), and its backward pass.

    Both methods take an optional ``out`` array of the result's shape and dtype to
    write into (the training loop reuses one per layer), and return the result, which
    is ``out`` when it was given (``linear`` returns its input unchanged).

    Attributes
    ----------
    name : str
        The name that :func:`get_activation` resolves back to this activation.
    in_place : bool
        True when ``forward(Z, out=Z)`` and ``backward(dA, A, A, out=dA)`` are right:
        A[l] may overwrite Z[l] and dZ[l] may overwrite dA[l], because the derivative
        reads the same from A as from Z (relu: z > 0 exactly where a > 0). Training then
        keeps one (n[l], m) array per layer for each pair instead of two.
    """

    name = ""
    in_place = False

    def forward(self, Z, out=None):
        """A[l] = g(Z[l]); same shape and dtype as Z."""
        raise NotImplementedError

    def backward(self, dA, Z, A, out=None):
        """dZ[l] from dA[l], Z[l] and A[l] = g(Z[l]), all of shape (n[l], m)."""
        raise NotImplementedError

    def norm_bound(self, z: float, n: int) -> float:
        """An upper bound of ||g(z)||_2 for a column z of n units with ||z||_2 <= z, for the
        check that parameters give finite outputs (:mod:`ldnn.core.finiteness`); inf where
        none is known (an activation of the user's)."""
        return math.inf

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


class Elementwise(Activation):
    """An activation that acts on each entry of Z alone, so dZ = dA * g'(Z).

    Parameters
    ----------
    name : str
    g : callable Z -> A
    derivative : callable (Z, A) -> g'(Z)
        Receives A = g(Z) too, for derivatives cheapest written in A.
    """

    def __init__(self, name: str, g: Callable, derivative: Callable):
        self.name, self.g, self.derivative = name, g, derivative

    def forward(self, Z, out=None):
        A = self.g(Z)
        if out is None:
            return A
        out[...] = A
        return out

    def backward(self, dA, Z, A, out=None):
        # The notes: dZ[l] = dA[l] * g[l]'(Z[l]), an elementwise product.
        return get_xp(dA).multiply(dA, self.derivative(Z, A), out=out)


class ReLU(Activation):
    """g(z) = max(z, 0); g'(z) = 1 for z > 0, else 0."""

    name = "relu"
    in_place = True

    def norm_bound(self, z, n):
        return z  # |max(z_i, 0)| <= |z_i|

    def forward(self, Z, out=None):
        return get_xp(Z).maximum(Z, 0, out=out)

    def backward(self, dA, Z, A, out=None):
        # dZ = dA * g'(Z). relu is not differentiable at 0; like the course, g'(0) = 0.
        return get_xp(dA).multiply(dA, Z > 0, out=out)


class LeakyReLU(Activation):
    """g(z) = z for z > 0, else slope * z; g'(z) = 1 for z > 0, else slope."""

    def __init__(self, slope: float = 0.01):
        self.slope = slope
        self.name = "leaky_relu" if slope == 0.01 else f"leaky_relu:{slope:g}"

    def norm_bound(self, z, n):
        return z * max(1.0, abs(self.slope))

    def forward(self, Z, out=None):
        # A = slope * Z everywhere, then Z itself where Z > 0.
        xp = get_xp(Z)
        out = xp.multiply(Z, self.slope, out=out)
        xp.copyto(out, Z, where=Z > 0)
        return out

    def backward(self, dA, Z, A, out=None):
        # dZ = dA * g'(Z): dA * slope everywhere, then dA itself where Z > 0 (g'(0) = slope).
        xp = get_xp(dA)
        out = xp.multiply(dA, self.slope, out=out)
        xp.copyto(out, dA, where=Z > 0)
        return out


class Sigmoid(Activation):
    """g(z) = 1 / (1 + e^-z); g'(z) = g(z) (1 - g(z))."""

    name = "sigmoid"

    def norm_bound(self, z, n):
        return math.sqrt(n)  # each unit in (0, 1)

    def forward(self, Z, out=None):
        # 1 / (1 + e^-z) overflows e^-z for large negative z. With e = e^-|z| <= 1 every
        # intermediate stays finite: z >= 0 gives 1 / (1 + e), z < 0 gives e / (1 + e).
        xp = get_xp(Z)
        e = xp.abs(Z, out=out)
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        return xp.divide(xp.where(Z >= 0, 1, e), 1 + e, out=e)

    def backward(self, dA, Z, A, out=None):
        # dZ = dA * A (1 - A)
        xp = get_xp(dA)
        out = xp.subtract(1, A, out=out)
        out *= A
        out *= dA
        return out


class Tanh(Activation):
    """g(z) = tanh(z); g'(z) = 1 - tanh(z)^2."""

    name = "tanh"

    def norm_bound(self, z, n):
        return math.sqrt(n)  # each unit in (-1, 1)

    def forward(self, Z, out=None):
        return get_xp(Z).tanh(Z, out=out)

    def backward(self, dA, Z, A, out=None):
        # dZ = dA * (1 - A^2)
        xp = get_xp(dA)
        out = xp.multiply(A, A, out=out)
        xp.subtract(1, out, out=out)
        out *= dA
        return out


class Linear(Activation):
    """g(z) = z; g'(z) = 1, so A[l] is Z[l] itself and dZ[l] is dA[l] itself."""

    name = "linear"
    in_place = True

    def norm_bound(self, z, n):
        return z

    def forward(self, Z, out=None):
        return Z

    def backward(self, dA, Z, A, out=None):
        return dA


class Softmax(Activation):
    """Softmax over each column: A[i, j] = exp(Z[i, j]) / sum_k exp(Z[k, j])."""

    name = "softmax"
    in_place = True

    def norm_bound(self, z, n):
        return math.sqrt(n)  # each unit in (0, 1) (their sum is 1)

    def forward(self, Z, out=None):
        xp = get_xp(Z)
        # Subtracting each column's max changes nothing mathematically (it cancels in
        # the ratio) but keeps exp from overflowing for large Z.
        e = xp.subtract(Z, Z.max(axis=0, keepdims=True), out=out)
        xp.exp(e, out=e)
        e /= e.sum(axis=0, keepdims=True)
        return e

    def backward(self, dA, Z, A, out=None):
        # Jacobian of softmax: dA_i/dZ_j = A_i (delta_ij - A_j), so for each column
        # dZ = A * (dA - sum_i dA_i A_i).
        xp = get_xp(dA)
        out = xp.subtract(dA, (dA * A).sum(axis=0, keepdims=True), out=out)
        out *= A
        return out


_FACTORIES: dict[str, Callable[[float | None], Activation]] = {}


def _no_parameter(name: str, make: Callable[[], Activation]):
    def factory(parameter: float | None) -> Activation:
        if parameter is not None:
            raise ConfigurationError(
                f"activation {name!r} takes no parameter, got {name}:{parameter:g}"
            )
        return make()

    return factory


_FACTORIES["relu"] = _no_parameter("relu", ReLU)
_FACTORIES["sigmoid"] = _no_parameter("sigmoid", Sigmoid)
_FACTORIES["tanh"] = _no_parameter("tanh", Tanh)
_FACTORIES["linear"] = _no_parameter("linear", Linear)
_FACTORIES["softmax"] = _no_parameter("softmax", Softmax)
_FACTORIES["leaky_relu"] = lambda slope: LeakyReLU(0.01 if slope is None else slope)

BUILTIN_ACTIVATIONS = tuple(sorted(_FACTORIES))


def available_activations() -> list[str]:
    """The names :func:`get_activation` accepts, built-in and registered."""
    return sorted(_FACTORIES)


def register_activation(
    name: str, g: Callable, g_prime: Callable, *, overwrite: bool = False
) -> Activation:
    """Register an elementwise activation (g, g') under ``name``.

    Parameters
    ----------
    name : str
        The name to use in ``activations=`` and in saved models.
    g : callable
        Z -> A, elementwise, same shape and dtype as Z.
    g_prime : callable
        Z -> g'(Z), elementwise; the backward pass uses dZ = dA * g'(Z).
    overwrite : bool
        Replace an existing registration of the same name (never a built-in).

    Returns
    -------
    Activation
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigurationError(f"activation name must be an identifier, got {name!r}")
    if not callable(g) or not callable(g_prime):
        raise ArgumentTypeError(f"register_activation({name!r}): g and g_prime must be callable")
    if name in BUILTIN_ACTIVATIONS or (name in _FACTORIES and not overwrite):
        raise ConfigurationError(
            f"activation {name!r} is already registered; pass overwrite=True to replace a "
            "user activation (built-ins cannot be replaced)"
        )
    activation = Elementwise(name, g, lambda Z, A: g_prime(Z))
    _FACTORIES[name] = _no_parameter(name, lambda: activation)
    return activation


def unregister_activation(name: str) -> None:
    """Remove a user-registered activation."""
    if name in BUILTIN_ACTIVATIONS:
        raise ConfigurationError(f"built-in activation {name!r} cannot be unregistered")
    _FACTORIES.pop(name, None)


def get_activation(spec: str | Activation, *, layer: int | None = None) -> Activation:
    """Resolve an activation from its name (``"relu"``, ``"leaky_relu:0.2"``, ...).

    Raises
    ------
    ConfigurationError
        For an unknown name, listing the valid ones.
    """
    if isinstance(spec, Activation):
        return spec
    where = f" for layer {layer}" if layer is not None else ""
    if not isinstance(spec, str):
        raise ArgumentTypeError(
            f"activation{where} must be a name (str) or an Activation, got {type(spec).__name__}"
        )
    name, _, raw = spec.strip().partition(":")
    if name not in _FACTORIES:
        raise ConfigurationError(
            f"unknown activation {spec!r}{where}; valid names: {', '.join(available_activations())}"
        )
    parameter = None
    if raw:
        try:
            parameter = float(raw)
        except ValueError:
            parameter = math.nan
        if not math.isfinite(parameter):
            raise ConfigurationError(
                f"activation {spec!r}{where}: parameter {raw!r} is not a finite number"
            )
    return _FACTORIES[name](parameter)
