"""The classifier: binary (one sigmoid unit), multiclass (a softmax) or multilabel
(independent sigmoids), with labels of any sortable type."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight

from ..data.split import held_out_count
from .base import COMMON_ATTRIBUTES, COMMON_PARAMETERS, DNNBase


class DNNClassifier(ClassifierMixin, DNNBase):
    __doc__ = f"""An L-layer neural network classifier: binary, multiclass or multilabel.

    The task follows from y: two classes give one sigmoid output unit, K > 2 classes a
    softmax over K units, and a 0/1 indicator matrix of K labels (multilabel) K sigmoids.
    Labels may be any sortable values (int, str, ...).

    Parameters
    ----------
{COMMON_PARAMETERS}    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``; "balanced" weighs each
        class by n_samples / (n_classes * its count). Not for multilabel targets.
    label_smoothing : float, default=0.0
        Train on Y (1 - eps) + eps / K instead of the one-hot Y.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets, the label indices 0..K-1).
{COMMON_ATTRIBUTES}
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
        class_weight=None,
        label_smoothing: float = 0.0,
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
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

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

    def _task(self) -> tuple[str, int]:
        if self._task_ == "multilabel":
            return "multilabel", len(self.classes_)
        return "classification", len(self.classes_)

    def _stratify(self, y) -> bool:
        # Stratify when every class can appear on both sides of the split; otherwise
        # fall back to a plain random split.
        if self._task_ == "multilabel":
            return False
        _, counts = np.unique(y, return_counts=True)
        n_val = held_out_count(len(y), self.validation_fraction, minimum=1)
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

    def _validation_score(self, parameters, record, validation) -> float:
        """The held-out part's accuracy after an epoch (training has just scored it)."""
        return float(record["val_accuracy"])

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
