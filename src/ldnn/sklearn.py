"""scikit-learn estimators around :class:`ldnn.DeepNetwork`.

:class:`DNNClassifier` and :class:`DNNRegressor` follow the scikit-learn estimator
contract (``__init__`` only stores its arguments, ``fit`` returns ``self``, learned
attributes end in ``_``) so that they work in ``Pipeline``, ``GridSearchCV``,
``cross_val_score`` and ``clone``, and they pass scikit-learn's own estimator checks.

scikit-learn puts one example per ROW: X has shape (n_samples, n_features). The notes,
and so :class:`~ldnn.DeepNetwork`, put one example per COLUMN: X of shape (n[0], m).
The estimators validate X in scikit-learn's layout and transpose it exactly once, at the
boundary, so everything below works in the notes' layout with n[0] = n_features and
m = n_samples.

The output layer follows from y:

=====================  ==========================  ===============================
target                 output layer                loss
=====================  ==========================  ===============================
binary                 1 sigmoid unit              binary cross-entropy
multiclass (K > 2)     K softmax units             categorical cross-entropy
multilabel (K labels)  K independent sigmoids      binary cross-entropy, summed
regression (k outs)    k linear units              mean squared error (1/2m)
=====================  ==========================  ===============================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # validate_data and __sklearn_tags__ arrived together in 1.6
    raise ImportError(
        "ldnn.sklearn needs scikit-learn >= 1.6: pip install -U scikit-learn"
    ) from None

from ldnn.network import DeepNetwork

__all__ = ["DNNClassifier", "DNNRegressor"]

# Seeds drawn for random_state=None or a RandomState stay below 2**31 so that they are
# valid everywhere a C int seed is expected.
_MAX_SEED = 2**31 - 1


class _BaseDNN(BaseEstimator):
    """What the classifier and the regressor share: hyperparameters -> DeepNetwork,
    the fit / partial_fit / warm_start bookkeeping, and the fitted attributes.

    Subclasses define ``_output`` (output activation and loss), ``_encode_targets`` and
    ``_validation_score``.
    """

    # -- hyperparameters -> the ldnn network -------------------------------------------
    def _batch_size(self, m: int) -> int:
        if self.batch_size == "auto":
            # MLPClassifier's rule: mini-batches of 200, or the whole set when smaller.
            return min(200, m)
        return self.batch_size

    def _seed(self) -> int:
        if isinstance(self.random_state, Integral) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        # None or a RandomState: draw one integer seed now and keep it for the life of
        # this fit (warm starts and partial_fit calls continue from it).
        return int(check_random_state(self.random_state).randint(_MAX_SEED))

    def _hidden_layer_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral):
            sizes = [sizes]
        return [int(n) for n in sizes]

    def _build_network(self, n_features: int, n_out: int, m: int) -> DeepNetwork:
        output, loss = self._output(n_out)
        activation = self.activation
        hidden = self._hidden_layer_sizes()
        if not hidden:
            # No hidden layer: logistic / softmax / linear regression, activations unused.
            activation = []
        elif not isinstance(activation, str):
            activation = list(activation)
        return DeepNetwork(
            [n_features, *hidden, n_out],
            activations=activation,
            output=output,
            loss=loss,
            init=self.init,
            keep_prob=self.keep_prob,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
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
        m = X.shape[0]
        if first_call:
            self._seed_ = self._seed()
            self.network_ = self._build_network(X.shape[1], self._n_out(), m)
            self.n_iter_ = 0
            self.loss_curve_ = []
        # Settings that may change between calls (set_params before a warm start, a new
        # batch for partial_fit) are refreshed; the architecture and optimizer are kept.
        # partial_fit never early-stops: one epoch on one batch has nothing to wait for.
        network = self.network_
        network.hyperparameters = network.hyperparameters.replace(
            learning_rate=self.learning_rate,
            lambd=self.lambd,
            batch_size=self._batch_size(m),
            early_stopping=self.patience if self.early_stopping and not incremental else None,
        )
        XT = np.asarray(X).T  # the notes' layout (n[0], m), transposed once
        validation_data = None
        if self.early_stopping and not incremental:
            XT, Y, sample_weight, validation_data = self._split_validation(XT, y, Y, sample_weight)
        # One generator per call, seeded by (seed, epochs so far): a repeated fit is
        # reproducible, and successive partial_fit calls shuffle differently.
        rng = np.random.default_rng([self._seed_, self.n_iter_])
        history = self.network_.fit(
            XT,
            Y,
            validation_data=validation_data,
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
        self.validation_scores_ = None
        if validation_data is not None:
            self.validation_scores_ = [
                self._validation_score(cost, accuracy, validation_data[1])
                for cost, accuracy in zip(history.val_cost, history.val_accuracy, strict=True)
            ]
        return self

    def _sample_weight(self, y, sample_weight, X, *, check_classes: bool):
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X, dtype=np.float64)

    def _split_validation(self, XT, y, Y, sample_weight):
        """Hold out ``validation_fraction`` of the m columns (stratified for classifiers)."""
        stratify = y if self._stratify(y) else None
        # A seed from (seed, epochs so far), below 2**31 as train_test_split needs.
        split_seed = int(np.random.default_rng([self._seed_, self.n_iter_]).integers(_MAX_SEED))
        train, val = train_test_split(
            np.arange(XT.shape[1]),
            test_size=self.validation_fraction,
            random_state=split_seed,
            stratify=stratify,
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
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.network_.predict_proba(X.T).T


_COMMON_PARAMETERS = """\
    hidden_layer_sizes : int or sequence of int, default=(100,)
        n[1], ..., n[L-1]: the sizes of the hidden layers.
    activation : str or sequence of str, default="relu"
        One activation for every hidden layer, or one per hidden layer: relu, leaky_relu
        ("leaky_relu:0.2" sets the slope), tanh, sigmoid, linear or a registered name.
    optimizer : {"adam", "gd", "momentum", "rmsprop"}, default="adam"
    learning_rate : float, default=1e-3
        alpha, the step size.
    epochs : int, default=200
        Passes over the training set per ``fit`` (``partial_fit`` makes one).
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is min(200, n_samples) as in MLPClassifier.
    lambd : float, default=0.0
        L2 strength lambda: the cost gains (lambd / 2m) sum_l ||W[l]||^2.
    keep_prob : float or sequence of float, default=1.0
        Inverted-dropout keep probability of the hidden layers (1.0: no dropout).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training set and stop once its cost has
        not improved for ``patience`` epochs, restoring the best epoch's parameters.
    validation_fraction : float, default=0.1
    patience : int, default=10
    init : str or None, default=None
        course, scaled, xavier or he; None picks He for relu-like layers, else Xavier.
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

_COMMON_ATTRIBUTES = """\
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
"""


class DNNClassifier(ClassifierMixin, _BaseDNN):
    __doc__ = f"""An L-layer neural network classifier: binary, multiclass or multilabel.

    The task follows from y: two classes give one sigmoid output unit, K > 2 classes a
    softmax over K units, and a 0/1 indicator matrix of K labels (multilabel) K sigmoids.
    Labels may be any sortable values (int, str, ...).

    Parameters
    ----------
{_COMMON_PARAMETERS}    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``; "balanced" weighs each
        class by n_samples / (n_classes * its count). Not for multilabel targets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets, the label indices 0..K-1).
{_COMMON_ATTRIBUTES}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DNNClassifier(hidden_layer_sizes=(16,), epochs=300, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).sum(axis=1)      # rows of a softmax sum to 1
    array([1., 1.])
    """

    _y_numeric = False

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | Sequence[str] = "relu",
        *,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        epochs: int = 200,
        batch_size: int | str = "auto",
        lambd: float = 0.0,
        keep_prob: float | Sequence[float] = 1.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        init: str | None = None,
        random_state=None,
        dtype: str = "float64",
        warm_start: bool = False,
        verbose: int = 0,
        class_weight=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.lambd = lambd
        self.keep_prob = keep_prob
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.init = init
        self.random_state = random_state
        self.dtype = dtype
        self.warm_start = warm_start
        self.verbose = verbose
        self.class_weight = class_weight

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train for ``epochs`` epochs (more epochs on the same network with warm_start).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel targets.
        sample_weight : array-like of shape (n_samples,), optional
            The cost becomes sum_i w_i L_i / sum_i w_i.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on (X, y), continuing from the current network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), optional
            Every class that y may ever hold; required on the first call, since one
            batch need not show them all. Ignored afterwards.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if not hasattr(self, "classes_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: a batch need not "
                "show every class, and the output layer needs them all"
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _output(self, n_out: int) -> tuple[str, str]:
        if self._task_ == "multiclass":
            return "softmax", "categorical_crossentropy"
        return "sigmoid", "binary_crossentropy"

    def _n_out(self) -> int:
        return 1 if self._task_ == "binary" else len(self.classes_)

    def _stratify(self, y) -> bool:
        # Stratify when every class can appear on both sides of the split (else
        # train_test_split refuses); otherwise fall back to a plain random split.
        if self._task_ == "multilabel":
            return False
        _, counts = np.unique(y, return_counts=True)
        n_val = math.ceil(self.validation_fraction * len(y))
        return counts.min() >= 2 and min(n_val, len(y) - n_val) >= len(counts)

    def _encode_targets(self, y, *, first_call: bool, incremental: bool, classes=None):
        """y -> the ldnn target: (1, m) 0/1, integer class indices (m,), or (K, m) 0/1."""
        check_classification_targets(y)
        multilabel = y.ndim == 2
        if multilabel and type_of_target(y) != "multilabel-indicator":
            raise ValueError(
                f"{type(self).__name__} supports binary, multiclass and multilabel-indicator "
                f"(0/1) targets, not {type_of_target(y)}"
            )
        if first_call:
            if multilabel:
                self._task_ = "multilabel"
                self.classes_ = np.arange(y.shape[1])
            else:
                self.classes_ = np.unique(y if classes is None else np.asarray(classes))
                self._task_ = "binary" if len(self.classes_) <= 2 else "multiclass"
                if len(self.classes_) < 2:
                    raise ValueError(
                        f"{type(self).__name__} needs at least 2 classes to train, y has 1 "
                        f"class ({self.classes_[0]!r})"
                    )
        elif multilabel != (self._task_ == "multilabel") or (
            multilabel and y.shape[1] != len(self.classes_)
        ):
            raise ValueError(
                f"y has a different kind of target than the previous fit ({self._task_} with "
                f"{len(self.classes_)} classes); use fit without warm_start to start afresh"
            )
        if multilabel:
            if getattr(self, "class_weight", None) is not None:
                raise ValueError("class_weight is not supported for multilabel targets")
            return y.T
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            where = "the classes given on the first partial_fit" if incremental else "classes_"
            raise ValueError(
                f"y holds labels {unseen[:5].tolist()} that are not in {where}: "
                f"{self.classes_.tolist()}"
            )
        index = np.searchsorted(self.classes_, y)
        if self._task_ == "binary":
            return index.reshape(1, -1)
        return index

    def _sample_weight(self, y, sample_weight, X, *, check_classes: bool):
        if sample_weight is None and self.class_weight is None:
            return None
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            sample_weight = sample_weight * compute_sample_weight(self.class_weight, y)
        present = np.unique(y[sample_weight > 0]) if y.ndim == 1 else self.classes_
        # partial_fit batches may hold one class; a whole training set may not.
        if len(present) < 2 and check_classes:
            raise ValueError(
                f"{type(self).__name__} needs examples of at least 2 classes with positive "
                f"sample_weight, got {len(present)} class"
            )
        return sample_weight

    def _validation_score(self, val_cost, val_accuracy, Y_val) -> float:
        return float(val_accuracy)

    # -- inference ---------------------------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to 1, except for multilabel targets, where column k is the
            probability of label k on its own.
        """
        A = self._forward(X)
        if self._task_ == "binary":
            return np.hstack([1 - A, A])
        return A

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`, shape (n_samples, n_classes)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Class labels of shape (n_samples,), or (n_samples, n_labels) 0/1 for multilabel."""
        A = self._forward(X)
        if self._task_ == "multilabel":
            return (A > 0.5).astype(np.int64)
        if self._task_ == "binary":
            # p > 0.5, the same tie rule as argmax over [1 - p, p].
            return self.classes_[(A[:, 0] > 0.5).astype(np.int64)]
        return self.classes_[np.argmax(A, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class DNNRegressor(RegressorMixin, _BaseDNN):
    __doc__ = f"""An L-layer neural network regressor: linear output units, squared error.

    The cost is the notes' J = (1/2m) sum_i ||a(i) - y(i)||^2; y may have several outputs.

    Parameters
    ----------
{_COMMON_PARAMETERS}
    Attributes
    ----------
    n_outputs_ : int
{_COMMON_ATTRIBUTES}
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
        epochs: int = 200,
        batch_size: int | str = "auto",
        lambd: float = 0.0,
        keep_prob: float | Sequence[float] = 1.0,
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
        self.epochs = epochs
        self.batch_size = batch_size
        self.lambd = lambd
        self.keep_prob = keep_prob
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

    def _output(self, n_out: int) -> tuple[str, str]:
        return "linear", "mean_squared_error"

    def _n_out(self) -> int:
        return self.n_outputs_

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

    def _validation_score(self, val_cost, val_accuracy, Y_val) -> float:
        # val_cost = (1/2m) sum ||a - y||^2, so the residual sum of squares is 2 m val_cost
        # and R^2 = 1 - SS_res / SS_tot (summed over outputs: r2_score's
        # "variance_weighted", which equals the usual R^2 for a single output).
        m = Y_val.shape[1]
        ss_tot = float(((Y_val - Y_val.mean(axis=1, keepdims=True)) ** 2).sum())
        if ss_tot == 0:
            return 0.0
        return 1 - 2 * m * float(val_cost) / ss_tot

    def predict(self, X):
        """Predictions of shape (n_samples,) for 1-D y, else (n_samples, n_outputs)."""
        A = self._forward(X)
        return A[:, 0] if self._y_ndim_ == 1 else A

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
