"""The regressor: linear output units and the notes' squared error, learned on the
standardised target as ``ldnn train`` learns it (:mod:`ldnn.data.preparation`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import RegressorMixin

from ..base.checks import check_targets
from ..core.metrics import r2
from ..core.propagation import forward_in_blocks
from ..data.preparation import Preparation, mean_and_std
from .base import COMMON_ATTRIBUTES, COMMON_PARAMETERS, DNNBase


class DNNRegressor(RegressorMixin, DNNBase):
    __doc__ = f"""An L-layer neural network regressor: linear output units, squared error.

    The cost is the notes' J = (1/2m) sum_i ||a(i) - y(i)||^2; y may have several outputs.
    Like ``ldnn train``, the network learns the standardised target (y - mean) / std of
    each output (a constant output's std taken as 1), with the mean and std of the
    training set (weighted by ``sample_weight`` where given), and ``predict`` maps its
    outputs back, y = a * std + mean: the initialisers and the learning rate then suit
    any target's scale. ``loss_curve_`` and ``best_loss_`` are in those standardised
    units; ``predict``, ``score`` and ``validation_scores_`` are in the target's.

    Parameters
    ----------
{COMMON_PARAMETERS}    standardize_target : bool, default=True
        Learn (y - mean) / std and map predictions back. False learns y as it is (the
        network's outputs are then the predictions). The statistics are those of the
        first ``fit`` or ``partial_fit`` of a network; warm starts and later
        ``partial_fit`` calls keep them, as they keep the network.

    Attributes
    ----------
    n_outputs_ : int
    y_mean_, y_std_ : ndarray of shape (n_outputs,), or None
        The statistics the target was standardised with (None with
        ``standardize_target=False``). ``network_.metadata["data"]`` holds them too, as
        ``ldnn train``'s models do, so that the saved network (``network_.save``) gives
        ``ldnn predict`` and ``ldnn evaluate`` the target's units.
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
        hidden_layer_sizes: int | Sequence[int] = (256, 256),
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
        lambd: float = 0.01,
        keep_prob: float | Sequence[float] = 0.8,
        batch_norm: bool | Sequence[bool] = False,
        early_stopping: bool | str = "auto",
        validation_fraction: float = 0.2,
        patience: int = 10,
        swa_start: float | str = "auto",
        ensemble: int = 1,
        init: str | None = None,
        random_state=None,
        dtype: str = "float64",
        warm_start: bool = False,
        verbose: int = 0,
        standardize_target: bool = True,
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
        self.swa_start = swa_start
        self.ensemble = ensemble
        self.init = init
        self.random_state = random_state
        self.dtype = dtype
        self.warm_start = warm_start
        self.verbose = verbose
        self.standardize_target = standardize_target

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

    # -- the target's units ----------------------------------------------------------------
    def _scale_targets(self, Y, sample_weight, *, first_call: bool):
        """Y (n_outputs, m) -> (Y - mean) / std; the statistics are fitted on a first call."""
        if first_call:
            self.y_mean_ = self.y_std_ = None
            if self.standardize_target:
                # Scores are computed in the target's units: their squares must fit.
                check_targets(float(np.abs(Y).max(initial=0.0)), np.float64, "y")
                mean, std = target_statistics(Y, sample_weight)
                self.y_mean_, self.y_std_ = mean.ravel(), std.ravel()
        return self._target_preparation().transform_y(Y)

    def _target_preparation(self) -> Preparation:
        """The target's standardisation as ``ldnn train``'s models keep it."""
        # getattr: an estimator pickled before the target was standardised has none.
        mean, std = getattr(self, "y_mean_", None), getattr(self, "y_std_", None)
        if mean is None:
            return Preparation()
        return Preparation(y_mean=mean.reshape(-1, 1), y_std=std.reshape(-1, 1))

    def _build_network(self, n_features: int, m: int):
        network = super()._build_network(n_features, m)
        # What a model of `ldnn train` remembers of a regression target: its task and
        # statistics, so that the saved network predicts in the target's units.
        info = {"task": "regression", **self._target_preparation().to_metadata()}
        network.metadata = {**network.metadata, "data": info}
        return network

    def _validation_score(self, parameters, record, validation) -> float:
        """R^2, in the target's units, of the held-out part after an epoch: X_val (n[0], m)
        and Y_val (n_outputs, m) in the units the network learns."""
        X_val, Y_val = validation
        network = self.network_
        A = forward_in_blocks(
            X_val.astype(network.dtype), parameters, network.hyperparameters.activations
        )
        to_units = self._target_preparation().inverse_y
        return r2(to_units(np.asarray(Y_val, dtype=np.float64)), to_units(A))

    def predict(self, X):
        """Predictions in the target's units: shape (n_samples,) for 1-D y, else
        (n_samples, n_outputs)."""
        A = self._target_preparation().inverse_y(self._forward(X).T).T
        return A[:, 0] if self._y_ndim_ == 1 else A

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def target_statistics(Y, sample_weight=None) -> tuple[np.ndarray, np.ndarray]:
    """Each output's mean and std over the m examples of Y (n_outputs, m), each
    (n_outputs, 1): :func:`ldnn.data.preparation.mean_and_std`, as ``ldnn train`` takes
    them; with ``sample_weight`` (m,), the weighted ones, sum w y / sum w and the root of
    sum w (y - mean)^2 / sum w, so that an integer weight counts as that many copies of
    the example (a constant output's std is 1 either way)."""
    Y = np.asarray(Y, dtype=np.float64)
    if sample_weight is None or not np.sum(sample_weight) > 0:
        return mean_and_std(Y)  # all-zero weights: training refuses them, with its message
    return mean_and_std(Y, sample_weight)
