"""Every exception and warning ldnn raises, in one small hierarchy.

Every message names the argument (and the layer, the file, the column or the flag,
where there is one) and states the expected versus the actual shape or value, so a user
never has to decode a NumPy broadcasting error raised deep inside the propagation.

    LdnnError
    ├── ShapeError           (also a ValueError)      an array or layer_dims has the wrong shape
    ├── InvalidValueError    (also a ValueError)      a value outside its domain
    ├── ConfigurationError   (also a ValueError)      a hyperparameter, name or setting
    │   └── OnnxExportError                           a model ONNX cannot express
    ├── ArgumentTypeError    (also a TypeError)       an argument of the wrong type
    ├── ModelFileError       (also a ValueError)      a model file to refuse
    ├── DataFileError        (also a ValueError)      a data file to refuse
    ├── TuneError            (also a ValueError)      a study that cannot be run as asked
    ├── RanksDisagreeError   (also a ValueError)      MPI ranks given different data or settings
    ├── MissingPackageError  (also an ImportError)    an optional package is not installed
    └── NotFittedError       (also an AttributeError) no parameters yet
    DivergenceWarning        (a RuntimeWarning)       training stopped on a NaN or inf cost
"""

from __future__ import annotations


class LdnnError(Exception):
    """Base class of every error ldnn raises on purpose.

    ``field`` names the argument or setting the error is about (a hyperparameter such as
    "learning_rate"), where there is one: a caller can point at what sets it (the command
    line names its flag) without reading the message.
    """

    def __init__(self, *args, field: str | None = None):
        super().__init__(*args)
        self.field = field


class ShapeError(LdnnError, ValueError):
    """An array has the wrong shape: layer_dims, X, Y, a parameter or a gradient."""


class InvalidValueError(LdnnError, ValueError):
    """An argument has the right type and shape but a value outside its domain
    (NaN or inf in X, labels outside {0, 1}, a non-positive learning rate, ...)."""


class ConfigurationError(LdnnError, ValueError):
    """A hyperparameter or a name (activation, loss, optimizer, ...) is invalid."""


class OnnxExportError(ConfigurationError):
    """The model cannot be written as ONNX (an activation without an ONNX operator, ...)."""


class ArgumentTypeError(LdnnError, TypeError):
    """An argument has the wrong type (a string where an array is needed, ...)."""


class ModelFileError(LdnnError, ValueError):
    """A model file is missing, truncated, tampered with or from a newer format."""


class DataFileError(LdnnError, ValueError):
    """A data file is missing, malformed, or does not fit what is asked of it."""


class TuneError(LdnnError, ValueError):
    """A study cannot be opened, created or continued as asked."""


class RanksDisagreeError(LdnnError, ValueError):
    """The MPI ranks of one data-parallel fit were given different data or settings.
    Every rank raises it at once, naming the first rank that differs from rank 0 and
    what differs, so each can stop by itself: no rank is left waiting for another."""


class MissingPackageError(LdnnError, ImportError):
    """A data set, a picture or a command needs an optional package that is not installed."""


class NotFittedError(LdnnError, AttributeError):
    """A method that needs learned parameters was called before `fit` or `load`."""


class DataChangedWarning(UserWarning):
    """A data file differs from the one a model was trained on, where that matters."""


class TrackingWarning(UserWarning):
    """A tracking tool (MLflow) stopped taking a run's records; the run itself goes on."""


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the cost became NaN or infinite."""
