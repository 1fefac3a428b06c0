"""The exceptions and warnings ldnn raises: one small hierarchy.

Every message names the argument (and the layer, where there is one) and states the
expected versus the actual shape or value, so a user never has to decode a NumPy
broadcasting error raised deep inside the propagation.
"""

from __future__ import annotations


class LdnnError(Exception):
    """Base class of every error ldnn raises on purpose."""


class ShapeError(LdnnError, ValueError):
    """An array has the wrong shape: layer_dims, X, Y, a parameter or a gradient."""


class InvalidValueError(LdnnError, ValueError):
    """An argument has the right type and shape but a value outside its domain
    (NaN or inf in X, labels outside {0, 1}, a non-positive learning rate, ...)."""


class ConfigurationError(LdnnError, ValueError):
    """A hyperparameter or a name (activation, loss, optimizer, ...) is invalid."""


class ArgumentTypeError(LdnnError, TypeError):
    """An argument has the wrong type (a string where an array is needed, ...)."""


class ModelFileError(LdnnError, ValueError):
    """A model file is missing, truncated, tampered with or from a newer format."""


class NotFittedError(LdnnError, AttributeError):
    """A method that needs learned parameters was called before `fit` or `load`."""


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the cost became NaN or infinite."""
