"""The regressor: linear output units and the notes' squared error."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.base import RegressorMixin

from ..core.metrics import r2
from ..core.propagation import forward_in_blocks
from .base import COMMON_ATTRIBUTES, COMMON_PARAMETERS, DNNBase


class DNNRegressor(RegressorMixin, DNNBase):
    __doc__ = f"""An L-layer neural network regressor: linear output units, squared error.

    The cost is the notes' J = (1/2m) sum_i ||a(i) - y(i)||^2; y may have several outputs.

    Parameters
    ----------
{COMMON_PARAMETERS}
    Attributes
    ----------
    n_outputs_ : int
{COMMON_ATTRIBUTES}
    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).uniform(-1, 1, size=(200, 2))
    >>> y = 3 * X[:, 0] - 2 * X[:, 1]
    >>> reg = DNNRegressor(hidden_layer_sizes=(16,), learning_rate=0.01, epochs=300)
    >>> reg.fit(X, y).predict(X[:3]).shape           # (n_samples,) for 1-D y
    (3,)
    """

    _y_numeric = True

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        lr_schedule: str = "constant",
        warmup_epochs: int = 0,
        min_learning_rate: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        clip_norm: float | None = None,
        epochs: int = 200,
        batch_size: int | str = "auto",
        lambd: float = 0.0,
        keep_prob: float | Sequence[float] = 1.0,
        batch_norm: bool | Sequence[bool] = False,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        init: str | None = None,
        random_state=None,
        dtype: str = "float64",
        warm_start: bool = False,
        verbose: int = 0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.min_learning_rate = min_learning_rate
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.clip_norm = clip_norm
        self.epochs = epochs
        self.batch_size = batch_size
        self.lambd = lambd
        self.keep_prob = keep_prob
        self.batch_norm = batch_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.init = init
        self.random_state = random_state
        self.dtype = dtype
        self.warm_start = warm_start
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Train for ``epochs`` epochs (more epochs on the same network with warm_start).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            The cost becomes sum_i w_i L_i / sum_i w_i.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on (X, y), continuing from the current network.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _task(self) -> tuple[str, int]:
        return "regression", self.n_outputs_

    def _encode_targets(self, y, *, first_call: bool, incremental: bool, classes=None):
        """y -> Y of shape (n_outputs, m), the notes' layout."""
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first_call:
            self.n_outputs_ = n_outputs
            self._y_ndim_ = y.ndim
        elif n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} outputs but the network was fitted with "
                f"{self.n_outputs_}; use fit without warm_start to start afresh"
            )
        return y.reshape(1, -1) if y.ndim == 1 else y.T

    def _validation_score(self, parameters, record, validation) -> float:
        """R^2 of the held-out part (X_val (n[0], m), Y_val (n_outputs, m)) after an epoch."""
        X_val, Y_val = validation
        network = self.network_
        A = forward_in_blocks(
            X_val.astype(network.dtype), parameters, network.hyperparameters.activations
        )
        return r2(Y_val, A)

    def predict(self, X):
        """Predictions of shape (n_samples,) for 1-D y, else (n_samples, n_outputs)."""
        A = self._forward(X)
        return A[:, 0] if self._y_ndim_ == 1 else A

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
