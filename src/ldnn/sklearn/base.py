"""What :class:`DNNClassifier` and :class:`DNNRegressor` share: hyperparameters -> the
network (:mod:`ldnn.model.build`), the fit / partial_fit / warm_start bookkeeping, the held-out
part for early stopping (:mod:`ldnn.data.split`), and the fitted attributes."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # validate_data and __sklearn_tags__ arrived together in 1.6
    raise ImportError(
        "ldnn.sklearn needs scikit-learn >= 1.6: pip install -U scikit-learn"
    ) from None

from ..data.split import split_indices
from ..errors import ArgumentTypeError, ConfigurationError
from ..model.build import network_for
from ..model.network import DeepNetwork
from ..training.averaging import AUTO_SWA_START

# Seeds drawn for random_state=None or a RandomState stay below 2**31 so that they are
# valid everywhere a C int seed is expected.
MAX_SEED = 2**31 - 1
#: batch_size="auto": min(AUTO_BATCH, m), ldnn train's mini-batch.
AUTO_BATCH = 128
#: early_stopping="auto" holds out a validation part from this many examples on.
AUTO_STOPPING_MIN = 100

#: scikit-learn's MLP names of hyperparameters that ldnn names as the notes do.
MLP_NAMES = {
    "max_iter": "epochs",
    "alpha": "lambd",
    "learning_rate_init": "learning_rate",
    "solver": "optimizer",
    "n_iter_no_change": "patience",
}


def refuse_mlp_names(estimator: str, names) -> None:
    """A clear error for an MLPClassifier name (``max_iter=``) instead of a bare TypeError."""
    for name in names:
        if name in MLP_NAMES:
            raise ArgumentTypeError(
                f"{estimator} has no parameter {name!r} (scikit-learn's MLP name): "
                f"ldnn calls it {MLP_NAMES[name]!r}, {MLP_NAMES[name]}=..."
            )


class DNNBase(BaseEstimator):
    """What the classifier and the regressor share: hyperparameters -> DeepNetwork,
    the fit / partial_fit / warm_start bookkeeping, and the fitted attributes.

    Subclasses define ``_task`` (the task and its number of classes or targets, as
    :func:`ldnn.model.build.network_for` takes them), ``_encode_targets`` and
    ``_validation_score``, and may define ``_scale_targets``.
    """

    def __new__(cls, *args, **params):
        # Before __init__, which would raise a bare "unexpected keyword argument".
        refuse_mlp_names(cls.__name__, params)
        return super().__new__(cls)

    def set_params(self, **params):
        refuse_mlp_names(type(self).__name__, params)
        return super().set_params(**params)

    # -- hyperparameters -> the ldnn network -------------------------------------------
    def _batch_size(self, m: int) -> int:
        if self.batch_size == "auto":
            # ldnn train's default mini-batch (MLPClassifier's rule, with 128 for its 200).
            return min(AUTO_BATCH, m)
        return self.batch_size

    def _seed(self) -> int:
        if isinstance(self.random_state, Integral) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        # None or a RandomState: draw one integer seed now and keep it for the life of
        # this fit (warm starts and partial_fit calls continue from it).
        return int(check_random_state(self.random_state).randint(MAX_SEED))

    def _hidden_layer_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        if (
            isinstance(sizes, str | bytes)
            or not isinstance(sizes, Sequence | np.ndarray)
            or not all(isinstance(n, Integral) and not isinstance(n, bool) and n > 0 for n in sizes)
        ):
            raise ConfigurationError(
                "hidden_layer_sizes must be a positive whole number or a sequence of them, "
                f"got {sizes!r}"
            )
        return [int(n) for n in sizes]

    def _build_network(self, n_features: int, m: int) -> DeepNetwork:
        task, n = self._task()
        activation = self.activation
        hidden = self._hidden_layer_sizes()
        if not hidden:
            # No hidden layer: logistic / softmax / linear regression, activations unused.
            activation = []
        elif not isinstance(activation, str):
            if not isinstance(activation, list | tuple):
                raise ArgumentTypeError(
                    "activation must be a name or a list of names (one per hidden layer), "
                    f"got {activation!r}"
                )
            activation = list(activation)
        return network_for(
            n_features,
            hidden,
            task=task,
            n=n,
            activations=activation,
            init=self.init,
            keep_prob=self.keep_prob,
            batch_norm=self.batch_norm if hidden else False,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            lr_schedule=self.lr_schedule,
            warmup_epochs=self.warmup_epochs,
            min_learning_rate=self.min_learning_rate,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov,
            clip_norm=self.clip_norm,
            label_smoothing=getattr(self, "label_smoothing", 0.0),
            epochs=self.epochs,
            batch_size=self._batch_size(m),
            lambd=self.lambd,
            seed=self._seed_,
            dtype=self.dtype,
        )

    # -- the one fitting routine behind fit, warm_start and partial_fit ------------------
    def _fit(self, X, y, sample_weight=None, *, incremental: bool, classes=None):
        fitted = hasattr(self, "network_")
        first_call = not fitted or not (incremental or self.warm_start)
        refuse_text_columns(X)
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=self._y_numeric,
            dtype=(np.float64, np.float32),
            reset=first_call,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            # Warns DataConversionWarning, as scikit-learn expects for a column vector y.
            y = column_or_1d(y, warn=True)
        Y = self._encode_targets(y, first_call=first_call, incremental=incremental, classes=classes)
        sample_weight = self._sample_weight(y, sample_weight, X, check_classes=not incremental)
        Y = self._scale_targets(Y, sample_weight, first_call=first_call)
        m = X.shape[0]
        K = self._ensemble_size(incremental, first_call)
        if first_call:
            self._seed_ = self._seed()
            self.network_ = self._build_network(X.shape[1], m)
            self.n_iter_ = 0
            self.loss_curve_ = []
        if K > 1:
            return self._fit_ensemble(X, y, Y, sample_weight, K)
        return self._fit_member(
            X, y, Y, sample_weight, incremental=incremental, first_call=first_call
        )

    def _fit_member(self, X, y, Y, sample_weight, *, incremental: bool, first_call: bool):
        """network_ fitted on X (n_samples, n_features) and its encoded targets Y, as
        the estimator's parameters say (see :meth:`_fit`)."""
        m = X.shape[0]
        # Settings that may change between calls (set_params before a warm start, a new
        # batch for partial_fit) are refreshed; the architecture and optimizer are kept.
        # partial_fit never early-stops: one epoch on one batch has nothing to wait for.
        network = self.network_
        network.hyperparameters = network.hyperparameters.replace(
            learning_rate=self.learning_rate,
            lambd=self.lambd,
            batch_size=self._batch_size(m),
            early_stopping=self.patience if self._stops_early(m, incremental) else None,
            swa_start=self._swa_start(m, incremental),
        )
        XT = np.asarray(X).T  # the notes' layout (n[0], m), transposed once
        validation_data, callbacks, scores = None, [], []
        if self._stops_early(m, incremental):
            XT, Y, sample_weight, validation_data = self._split_validation(XT, y, Y, sample_weight)
            callbacks.append(
                lambda epoch, record, parameters: scores.append(
                    self._validation_score(parameters, record, validation_data)
                )
            )
        # One generator per call, seeded by (seed, epochs so far): a repeated fit is
        # reproducible, and successive partial_fit calls shuffle differently.
        rng = np.random.default_rng([self._seed_, self.n_iter_])
        history = self.network_.fit(
            XT,
            Y,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=self.verbose,
            warm_start=not first_call,
            sample_weight=sample_weight,
            epochs=1 if incremental else self.epochs,
            rng=rng,
        )
        self.n_iter_ += len(history)
        self.loss_curve_.extend(float(c) for c in history.cost)
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        self.stop_reason_ = history.stop_reason
        self.validation_scores_ = scores if validation_data is not None else None
        return self

    def _ensemble_size(self, incremental: bool, first_call: bool) -> int:
        """K, the ``ensemble`` parameter checked: a whole number >= 1; more than one only
        for a cold ``fit`` (an ensemble merged into one network has no optimizer state
        to go on from)."""
        K = self.ensemble
        if isinstance(K, bool) or not isinstance(K, Integral) or K < 1:
            raise ValueError(f"ensemble must be a whole number >= 1, got {K!r}")
        if K > 1 and (incremental or not first_call):
            call = "partial_fit" if incremental else "a warm-started fit"
            raise ValueError(
                f"ensemble = {K}: {call} cannot go on training an ensemble merged into one "
                "network; use ensemble=1, or fit afresh"
            )
        return int(K)

    def _fit_ensemble(self, X, y, Y, sample_weight, K: int):
        """K members, member k drawn from seed + k (its own initialisation, validation
        part, shuffles and dropout), each fitted as ``fit`` fits one network, then merged
        into one network whose Z[L] is their mean (:func:`ldnn.model.ensemble.merge`):
        what ``ldnn train --ensemble K`` makes. The curves are member 0's."""
        from ..model.ensemble import merge

        seed, members, epochs = self._seed_, [], []
        try:
            for k in range(K):
                self._seed_ = seed + k
                if k:
                    self.network_ = self._build_network(X.shape[1], X.shape[0])
                    self.n_iter_, self.loss_curve_ = 0, []
                self._fit_member(X, y, Y, sample_weight, incremental=False, first_call=True)
                members.append(self.network_)
                epochs.append(self.n_iter_)
                if k == 0:
                    curves = (self.n_iter_, self.loss_curve_, self.validation_scores_)
                    stopped = self.stop_reason_
        finally:
            self._seed_ = seed
        self.network_ = merge(members)
        self.n_iter_, self.loss_curve_, self.validation_scores_ = curves
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        self.stop_reason_, self.ensemble_n_iter_ = stopped, epochs
        return self

    def _scale_targets(self, Y, sample_weight, *, first_call: bool):
        """The targets in the units the network learns (the regressor standardises them)."""
        return Y

    def _sample_weight(self, y, sample_weight, X, *, check_classes: bool):
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X, dtype=np.float64)

    def _stops_early(self, m: int, incremental: bool) -> bool:
        """early_stopping True, or "auto" with at least :data:`AUTO_STOPPING_MIN`
        examples; never in partial_fit (one epoch on one batch has nothing to wait for)."""
        if incremental:
            return False
        if self.early_stopping == "auto":
            return m >= AUTO_STOPPING_MIN
        if not isinstance(self.early_stopping, bool | np.bool_):
            raise ValueError(
                f"early_stopping must be True, False or 'auto', got {self.early_stopping!r}"
            )
        return bool(self.early_stopping)

    def _swa_start(self, m: int, incremental: bool) -> float:
        """swa_start as given, or "auto": :data:`AUTO_SWA_START` when the fit stops
        early on a validation part and no layer is batch-normalised (else 0, as in
        partial_fit, whose one epoch has nothing to average)."""
        if incremental:
            return 0
        if self.swa_start != "auto":
            return self.swa_start
        batch_norm = self.batch_norm
        normalised = any(batch_norm) if isinstance(batch_norm, list | tuple) else bool(batch_norm)
        applies = self._stops_early(m, incremental) and not normalised
        return AUTO_SWA_START if applies and self.epochs > AUTO_SWA_START else 0

    def _split_validation(self, XT, y, Y, sample_weight):
        """Hold out ``validation_fraction`` of the m columns (stratified for classifiers)."""
        stratify = y if self._stratify(y) else None
        # A seed from (seed, epochs so far), below 2**31 like every seed here.
        split_seed = int(np.random.default_rng([self._seed_, self.n_iter_]).integers(MAX_SEED))
        train, val = split_indices(
            XT.shape[1],
            self.validation_fraction,
            split_seed,
            minimum=1,
            stratify=stratify,
            name="validation_fraction",
        )
        Y = np.asarray(Y)
        Y_train, Y_val = (Y[train], Y[val]) if Y.ndim == 1 else (Y[:, train], Y[:, val])
        w = None if sample_weight is None else sample_weight[train]
        return XT[:, train], Y_train, w, (XT[:, val], Y_val)

    def _stratify(self, y) -> bool:
        return False

    # -- inference ---------------------------------------------------------------------
    def _forward(self, X):
        """A[L] for X of shape (n_samples, n_features), returned as (n_samples, n[L])."""
        check_is_fitted(self, "network_")
        refuse_text_columns(X)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.network_.predict_proba(X.T).T


def refuse_text_columns(X) -> None:
    """A DataFrame with text columns: say which, and what encodes them."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    text = [str(n) for n, dtype in dtypes.items() if getattr(dtype, "kind", "f") not in "biuf"]
    if text:
        raise ConfigurationError(
            f"X: column {text[0]!r} holds text (dtype {dtypes[text[0]]}); encode the table "
            "first: make_pipeline(ldnn.sklearn.TableEncoder(), DNNClassifier())"
        )


COMMON_PARAMETERS = """\
    hidden_layer_sizes : int or sequence of int, default=(256, 256)
        n[1], ..., n[L-1]: the sizes of the hidden layers.
    activation : str or sequence of str, default="relu"
        One activation for every hidden layer, or one per hidden layer: relu, leaky_relu
        ("leaky_relu:0.2" sets the slope), tanh, sigmoid, linear or a registered name.
    optimizer : {"adam", "adamw", "gd", "momentum", "rmsprop"}, default="adam"
    learning_rate : float, default=1e-3
        alpha, the step size.
    lr_schedule : str, default="constant"
        constant, inverse_time, exponential, step, cosine or plateau (plateau watches the
        validation cost: needs ``early_stopping``); see :mod:`ldnn.core.schedules`.
    warmup_epochs : int, default=0
        Epochs of linear warmup before the schedule.
    min_learning_rate : float, default=0.0
        The floor of the cosine and plateau schedules.
    weight_decay : float, default=0.0
        Decoupled weight decay, with ``optimizer="adamw"``.
    nesterov : bool, default=False
        Nesterov's momentum, with ``optimizer="momentum"``.
    clip_norm : float or None, default=None
        Scale the whole gradient down to this L2 norm when it is longer.
    epochs : int, default=200
        Passes over the training set per ``fit`` (``partial_fit`` makes one).
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is min(128, n_samples) (MLPClassifier's rule with ldnn
        train's 128 for its 200).
    lambd : float, default=0.01
        L2 strength lambda: the cost gains (lambd / 2m) sum_l ||W[l]||^2.
    keep_prob : float or sequence of float, default=0.8
        Inverted-dropout keep probability of the hidden layers (1.0: no dropout).
    batch_norm : bool or sequence of bool, default=False
        Batch-normalise the hidden layers (all, or one flag per hidden layer).
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the training set and stop once its cost has
        not improved for ``patience`` epochs, restoring the best epoch's parameters.
        "auto" does so when ``fit`` gets at least 100 examples (as
        HistGradientBoosting's "auto", with a lower threshold: the defaults were chosen
        with early stopping on the tables of benchmarks/tables.py); ``partial_fit`` never
        stops early.
    validation_fraction : float, default=0.2
    patience : int, default=10
    ensemble : int, default=1
        Train this many networks, member k from ``random_state``'s seed + k (its own
        initialisation, validation part, shuffles and dropout), and average their Z[L]
        into one network, K times wider in its hidden layers (``ldnn train --ensemble``;
        :mod:`ldnn.model.ensemble`). Unlike ``ldnn train``, whose "auto" trains 5 on a
        table of at most 10,000 rows, the estimators train one unless asked: a
        scikit-learn search fits an estimator many times, each fit K times the work.
        Only for a cold ``fit`` (not ``partial_fit`` or ``warm_start``).
    swa_start : float or "auto", default="auto"
        Stochastic weight averaging: the model is the mean of the parameters at the end
        of each epoch from this epoch on (a whole number, or a fraction < 1 of
        ``epochs``; 0: off), and early stopping scores and keeps the average. "auto"
        averages from epoch 1 whenever early stopping holds out a validation part and no
        layer is batch-normalised (ldnn train's default too; measured in
        docs/recipes.md); ``partial_fit`` never averages.
    init : str or None, default=None
        course, scaled, xavier, he or uniform; None picks He for relu-like layers, else
        Xavier.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the validation split.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the parameters and of the computation.
    warm_start : bool, default=False
        ``fit`` continues from the previous parameters and optimizer state for another
        ``epochs`` epochs instead of starting afresh.
    verbose : int, default=0
        Print the cost every ``verbose`` epochs (0: silent).
"""

COMMON_ATTRIBUTES = """\
    network_ : DeepNetwork
        The trained ldnn network; ``network_.parameters`` holds W1..WL, b1..bL in the
        notes' shapes (W[l] of shape (n[l], n[l-1])).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    n_iter_ : int
        Epochs run. As in MLPClassifier, a cold ``fit`` resets it, while a warm-started
        ``fit`` adds its epochs and every ``partial_fit`` call adds 1.
    loss_curve_ : list of float
        Training cost J (with its L2 term) after each epoch, accumulated like ``n_iter_``.
    best_loss_ : float
        The smallest value in ``loss_curve_``.
    validation_scores_ : list of float or None
        Score on the held-out set after each epoch of the last ``fit`` (accuracy for the
        classifier, R^2 for the regressor); None without early stopping.
    stop_reason_ : str
        Why the last call stopped: "completed", "early stopping" or "diverged".
    ensemble_n_iter_ : list of int
        With ``ensemble`` > 1, each member's epochs (``n_iter_``, ``loss_curve_``,
        ``validation_scores_`` and ``stop_reason_`` are member 0's).
"""
