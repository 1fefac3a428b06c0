"""ldnn: L-layer deep neural networks in NumPy, in the notation of the course notes."""

from ._version import __version__
from .core.activations import available_activations, get_activation, register_activation
from .core.gradcheck import GradcheckResult, gradcheck
from .core.hyperparameters import Hyperparameters
from .core.initializers import initialize_parameters
from .core.losses import available_losses, get_loss
from .core.propagation import backward, compute_cost, forward
from .errors import (
    ArgumentTypeError,
    ConfigurationError,
    DataChangedWarning,
    DivergenceWarning,
    InvalidValueError,
    LdnnError,
    ModelFileError,
    NotFittedError,
    RanksDisagreeError,
    ShapeError,
)
from .model.network import DeepNetwork
from .training.history import History, PrintCost

__all__ = [
    "__version__",
    "ArgumentTypeError",
    "ConfigurationError",
    "DataChangedWarning",
    "DeepNetwork",
    "DivergenceWarning",
    "GradcheckResult",
    "History",
    "Hyperparameters",
    "InvalidValueError",
    "LdnnError",
    "ModelFileError",
    "NotFittedError",
    "PrintCost",
    "RanksDisagreeError",
    "ShapeError",
    "available_activations",
    "available_losses",
    "backward",
    "compute_cost",
    "forward",
    "get_activation",
    "get_loss",
    "gradcheck",
    "initialize_parameters",
    "register_activation",
]
