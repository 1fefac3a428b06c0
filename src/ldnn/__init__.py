"""ldnn: L-layer deep neural networks in NumPy, in the notation of the course notes."""

from ._version import __version__
from .activations import available_activations, get_activation, register_activation
from .errors import (
    ArgumentTypeError,
    ConfigurationError,
    DataChangedWarning,
    DivergenceWarning,
    InvalidValueError,
    LdnnError,
    ModelFileError,
    NotFittedError,
    ShapeError,
)
from .gradcheck import GradcheckResult, gradcheck
from .history import History, PrintCost
from .hyperparameters import Hyperparameters
from .initializers import initialize_parameters
from .losses import available_losses, get_loss
from .network import DeepNetwork
from .propagation import backward, compute_cost, forward

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
