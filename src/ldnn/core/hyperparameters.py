"""Hyperparameters: what the user chooses (and tools search), kept apart from the
parameters W, b that training learns, as the notes distinguish them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..base.backend import DEVICES
from ..base.checks import check_non_negative, check_positive
from ..errors import ArgumentTypeError, ConfigurationError
from .activations import Activation, get_activation
from .initializers import INITIALIZERS, check_layer_dims, default_init
from .losses import DEFAULT_LOSS_FOR_OUTPUT, get_loss
from .optimizers import EXTERNAL_OPTIMIZERS, get_optimizer
from .regularization import resolve_keep_probs
from .schedules import SCHEDULES

DTYPES = ("float32", "float64")
_OUTPUT_FOR_LOSS = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax"}


@dataclass(frozen=True)
class Hyperparameters:
    """Everything that defines a network and its training, except W and b.

    Build it with :meth:`create`, which fills in defaults and validates; every field is
    a plain value, so ``to_dict`` / ``from_dict`` round-trip through JSON or TOML.

    Attributes
    ----------
    layer_dims : tuple of int
        (n[0], n[1], ..., n[L]).
    activations : tuple of str
        g[1], ..., g[L]; the last is the output activation.
    loss : str
        binary_crossentropy, categorical_crossentropy or mean_squared_error.
    init : str
        course, scaled, xavier or he.
    optimizer : str
        gd, momentum, rmsprop, adam, adamw (or lbfgs, which needs SciPy).
    learning_rate : float
        alpha (at epoch 0 when a schedule decays it).
    lr_schedule, decay_rate, time_interval, warmup_epochs, min_learning_rate, lr_patience
        The learning-rate schedule (see :func:`ldnn.core.schedules.scheduled_learning_rate`):
        constant, inverse_time, exponential, step, cosine or plateau; the decay factor,
        its interval in epochs, the epochs of linear warmup, cosine's floor (and
        plateau's), and the epochs plateau waits for a better validation cost.
    weight_decay : float
        adamw's decoupled weight decay wd.
    nesterov : bool
        momentum: Nesterov's look-ahead step.
    clip_norm : float or None
        Scale the gradient vector (all of dW[l], db[l]) down to this L2 norm when it is
        longer, before the update.
    label_smoothing : float
        Cross-entropy losses: train on Y (1 - eps) + eps / K (K = n[L] classes, or 2 per
        sigmoid unit) instead of the one-hot Y.
    batch_norm : tuple of bool
        Which hidden layers 1..L-1 are batch-normalised (empty: none); see
        :mod:`ldnn.core.batchnorm`.
    batch_norm_momentum : float
        The weight of each batch's statistics in the running ones.
    embedding_width : int or None
        k: a table's text columns of more than k categories get a learned embedding of
        width k, W[1]'s block for such a column factored into (n[1], k) . (k, K)
        (:mod:`ldnn.core.categorical`); None: every category is a column of W[1].
    embedding : tuple of int
        The number of categories K of each embedded column, in the order of the columns,
        as the first fit found them (empty: none); n[0] stays the table's one-hot width.
    epochs : int
        Passes over the training set; with full-batch gradient descent, iterations.
    batch_size : int or None
        Mini-batch size; None trains on the whole batch of m examples each step.
    shuffle_window : int
        0 (the default): each epoch's mini-batches are drawn from a shuffle of all m
        examples. w > 0: from a shuffle within windows of w consecutive examples, the
        windows themselves in a shuffled order (:func:`ldnn.training.batches.minibatches`):
        a table streamed from disk is then read a window at a time (its pages stay in
        the kernel's cache while the window's batches read them) rather than all over.
    lambd : float
        L2 strength lambda: the cost gains (lambd / 2m) sum_l ||W[l]||_F^2.
    l1 : float
        L1 strength lambda_1: the cost gains (l1 / m) sum_l sum_ij |W[l]_ij| (0: off).
    keep_prob : tuple of float
        Dropout keep probability for hidden layers 1..L-1 (1.0 = no dropout).
    early_stopping : int or None
        Patience in epochs without a better validation cost; None disables it.
    swa_start : float
        Stochastic weight averaging (:mod:`ldnn.training.averaging`): from this epoch on,
        a whole number >= 1, or this fraction of ``epochs`` when below 1, the model is
        the running mean of the parameters at the end of each epoch; 0 (the default):
        off.
    validation_split : float
        Fraction of the training examples held out for validation when ``fit`` gets no
        validation_data.
    seed : int
        Seeds the one generator used for initialisation, shuffling and dropout.
    generator : str
        "default", or "course": the initial W are drawn as the course draws them, from
        NumPy's legacy generator seeded as ``np.random.seed(seed)`` does (shuffling and
        dropout still draw from the default one).
    dtype : str
        float32 or float64, for parameters and computation.
    device : str
        "cpu" (NumPy) or "gpu" (CuPy): where training and prediction compute.
    """

    layer_dims: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    init: str
    optimizer: str = "gd"
    learning_rate: float = 0.0075
    lr_schedule: str = "constant"
    decay_rate: float = 0.0
    time_interval: int = 1
    warmup_epochs: int = 0
    min_learning_rate: float = 0.0
    lr_patience: int = 10
    weight_decay: float = 0.0
    nesterov: bool = False
    clip_norm: float | None = None
    label_smoothing: float = 0.0
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    epochs: int = 1000
    batch_size: int | None = None
    shuffle_window: int = 0
    lambd: float = 0.0
    l1: float = 0.0
    keep_prob: tuple[float, ...] = ()
    batch_norm: tuple[bool, ...] = ()
    batch_norm_momentum: float = 0.1
    embedding_width: int | None = None
    embedding: tuple[int, ...] = ()
    early_stopping: int | None = None
    swa_start: float = 0.0
    validation_split: float = 0.0
    seed: int = 0
    generator: str = "default"
    dtype: str = "float32"
    device: str = "cpu"

    @property
    def L(self) -> int:
        """The number of layers with parameters (the input layer is layer 0)."""
        return len(self.layer_dims) - 1

    @property
    def embedding_dims(self) -> tuple[int, ...]:
        """(k, K_1, ..., K_C) of a learned embedding, as
        :func:`~ldnn.core.parameters.parameter_shapes` takes it; () without one."""
        return (self.embedding_width, *self.embedding) if self.embedding else ()

    @classmethod
    def create(
        cls,
        layer_dims: Sequence[int],
        activations: str | Sequence[str] = "relu",
        output: str | None = None,
        loss: str | None = None,
        init: str | None = None,
        keep_prob: float | Sequence[float] = 1.0,
        batch_norm: bool | Sequence[bool] = False,
        **settings,
    ) -> Hyperparameters:
        """Resolve defaults and validate.

        ``activations`` is one name for every hidden layer, a list of L - 1 hidden
        activations, or a list of all L (then ``output`` must agree or be omitted).
        Without ``output`` and ``loss``: a sigmoid for n[L] = 1 and a softmax for n[L] > 1,
        with the matching cross-entropy. Without ``init``: He for relu-like hidden layers,
        Xavier otherwise.
        """
        dims = check_layer_dims(layer_dims)
        L = len(dims) - 1
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(settings) - fields)
        if unknown:
            raise ConfigurationError(
                f"unknown setting(s) {unknown}; settings: {sorted(fields - {'layer_dims'})}"
            )
        if isinstance(activations, str):
            hidden = [activations] * (L - 1)
        elif not isinstance(activations, list | tuple) or not all(
            isinstance(a, str | Activation) for a in activations
        ):
            raise ArgumentTypeError(
                f"activations must be a name or a list of names, got {activations!r}"
            )
        else:
            names = list(activations)
            if len(names) == L:
                if output is not None and output != names[-1]:
                    raise ConfigurationError(
                        f"activations lists {L} names ending in {names[-1]!r} but output is "
                        f"{output!r}; give one or the other"
                    )
                hidden, output = names[:-1], names[-1]
            elif len(names) == L - 1:
                hidden = names
            else:
                raise ConfigurationError(
                    f"activations must be one name, L - 1 = {L - 1} hidden names or L = {L} "
                    f"names, got {len(names)}: {names}"
                )
        if output is None:
            if loss is not None:
                output = _OUTPUT_FOR_LOSS.get(get_loss(loss).name, "linear")
            else:
                output = "sigmoid" if dims[-1] == 1 else "softmax"
        resolved = [get_activation(a, layer=l).name for l, a in enumerate([*hidden, output], 1)]
        if loss is None:
            loss = DEFAULT_LOSS_FOR_OUTPUT.get(resolved[-1], "mean_squared_error")
        loss_name = get_loss(loss).name
        _check_output_for_loss(resolved[-1], loss_name, dims[-1])
        if init is None:
            init = default_init(resolved[0] if L > 1 else resolved[-1])
        keep = resolve_keep_probs(keep_prob, L)
        if isinstance(batch_norm, bool | np.bool_):
            batch_norm = (bool(batch_norm),) * (L - 1) if batch_norm else ()
        elif isinstance(batch_norm, list | tuple):
            batch_norm = tuple(batch_norm) if any(batch_norm) else ()
        hp = cls(
            layer_dims=dims,
            activations=tuple(resolved),
            loss=loss_name,
            init=init,
            keep_prob=keep,
            batch_norm=batch_norm,
            **settings,
        )
        hp.validate()
        return hp

    def validate(self) -> None:
        """Check every field; raise ConfigurationError/InvalidValueError naming it."""
        if self.init not in INITIALIZERS:
            raise ConfigurationError(
                f"unknown init {self.init!r}; valid names: {', '.join(INITIALIZERS)}", field="init"
            )
        if self.optimizer not in EXTERNAL_OPTIMIZERS:
            get_optimizer(self.optimizer)  # its error names the field "optimizer"
        if self.lr_schedule not in SCHEDULES:
            raise ConfigurationError(
                f"unknown lr_schedule {self.lr_schedule!r}; valid names: {', '.join(SCHEDULES)}",
                field="lr_schedule",
            )
        check_positive(self.learning_rate, "learning_rate")
        check_non_negative(self.decay_rate, "decay_rate")
        check_positive(self.time_interval, "time_interval", integer=True)
        self._validate_recipes()
        check_positive(self.epochs, "epochs", integer=True)
        check_positive(self.batch_size, "batch_size", integer=True, allow_none=True)
        window = self.shuffle_window
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 0:
            raise ConfigurationError(
                f"shuffle_window must be a whole number >= 0 (0: shuffle all examples), "
                f"got {window!r}",
                field="shuffle_window",
            )
        check_non_negative(self.lambd, "lambd")
        check_non_negative(self.l1, "l1")
        check_positive(self.early_stopping, "early_stopping", integer=True, allow_none=True)
        self._validate_swa()
        for name in ("beta", "beta1", "beta2"):
            value = getattr(self, name)
            if not _number(value) or not 0 <= value < 1:
                raise ConfigurationError(f"{name} must lie in [0, 1), got {value!r}", field=name)
        check_positive(self.epsilon, "epsilon")
        if not _number(self.validation_split) or not 0 <= self.validation_split < 1:
            raise ConfigurationError(
                f"validation_split must lie in [0, 1), got {self.validation_split}",
                field="validation_split",
            )
        if self.device not in DEVICES:
            raise ConfigurationError(
                f"device must be one of {DEVICES}, got {self.device!r}", field="device"
            )
        if self.device == "gpu" and self.optimizer == "lbfgs":
            raise ConfigurationError(
                "optimizer 'lbfgs' runs on the CPU only (SciPy)", field="device"
            )
        if self.generator not in ("default", "course"):
            raise ConfigurationError(
                f"generator must be 'default' or 'course', got {self.generator!r}"
            )
        if self.dtype not in DTYPES:
            raise ConfigurationError(
                f"dtype must be one of {DTYPES}, got {self.dtype!r}", field="dtype"
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int | np.integer)
            or self.seed < 0
        ):
            raise ConfigurationError(
                f"seed must be a whole number >= 0, got {self.seed!r}", field="seed"
            )
        resolve_keep_probs(self.keep_prob, self.L)
        self._validate_embedding()

    def _validate_embedding(self) -> None:
        """embedding_width k a whole number >= 1 or None; embedding, each embedded
        column's K > k, within n[0]."""
        check_positive(self.embedding_width, "embedding_width", integer=True, allow_none=True)
        sizes, k = self.embedding, self.embedding_width
        if not isinstance(sizes, tuple) or not all(
            isinstance(K, int | np.integer) and not isinstance(K, bool) for K in sizes
        ):
            raise ConfigurationError(
                f"embedding must be a list of category counts, got {sizes!r}", field="embedding"
            )
        if sizes and (k is None or min(sizes) <= k or sum(sizes) > self.layer_dims[0]):
            raise ConfigurationError(
                f"embedding {list(sizes)} must list columns of more than embedding_width = {k} "
                f"categories, {sum(sizes)} in all within n[0] = {self.layer_dims[0]}",
                field="embedding",
            )

    def _validate_recipes(self) -> None:
        """The schedules', AdamW's, Nesterov's, clipping's and label smoothing's settings."""
        for name in ("warmup_epochs", "lr_patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ConfigurationError(
                    f"{name} must be a whole number >= 0, got {value!r}", field=name
                )
        check_non_negative(self.min_learning_rate, "min_learning_rate")
        if self.lr_schedule in ("step", "exponential", "plateau") and not (
            0 < self.decay_rate <= 1
        ):
            raise ConfigurationError(
                f"lr_schedule {self.lr_schedule!r} multiplies alpha by decay_rate, which must "
                f"lie in (0, 1], got {self.decay_rate}",
                field="decay_rate",
            )
        if self.lr_schedule == "cosine" and self.min_learning_rate > self.learning_rate:
            raise ConfigurationError(
                f"min_learning_rate {self.min_learning_rate} is above learning_rate "
                f"{self.learning_rate}",
                field="min_learning_rate",
            )
        check_non_negative(self.weight_decay, "weight_decay")
        if self.weight_decay and self.optimizer != "adamw":
            raise ConfigurationError(
                f"weight_decay is AdamW's decoupled decay: use optimizer 'adamw' (optimizer "
                f"{self.optimizer!r} has lambd, the course's L2)",
                field="weight_decay",
            )
        if not isinstance(self.nesterov, bool | np.bool_):
            raise ConfigurationError(
                f"nesterov must be true or false, got {self.nesterov!r}", field="nesterov"
            )
        if self.nesterov and self.optimizer != "momentum":
            raise ConfigurationError(
                f"nesterov is a kind of momentum: use optimizer 'momentum', not {self.optimizer!r}",
                field="nesterov",
            )
        check_positive(self.clip_norm, "clip_norm", allow_none=True)
        bn = self.batch_norm
        if (
            not isinstance(bn, tuple)
            or not all(isinstance(b, bool | np.bool_) for b in bn)
            or (bn and len(bn) != self.L - 1)
        ):
            raise ConfigurationError(
                f"batch_norm must be true, false or one true/false per hidden layer (L - 1 = "
                f"{self.L - 1}), got {bn!r}",
                field="batch_norm",
            )
        if any(bn) and self.optimizer == "lbfgs":
            raise ConfigurationError(
                "batch_norm normalises mini-batches: train it with gd, momentum, rmsprop, adam "
                "or adamw, not lbfgs",
                field="batch_norm",
            )
        mom = self.batch_norm_momentum
        if not _number(mom) or not 0 < mom <= 1:
            raise ConfigurationError(
                f"batch_norm_momentum must lie in (0, 1], got {mom!r}", field="batch_norm_momentum"
            )
        ls = self.label_smoothing
        if not _number(ls) or not 0 <= ls < 1:
            raise ConfigurationError(
                f"label_smoothing must lie in [0, 1), got {ls!r}", field="label_smoothing"
            )
        if ls and get_loss(self.loss).output_range is None:
            raise ConfigurationError(
                f"label_smoothing is for the cross-entropy losses, not {self.loss!r}",
                field="label_smoothing",
            )

    def _validate_swa(self) -> None:
        """swa_start: 0, a fraction in (0, 1) or a whole epoch below ``epochs``, for a
        mini-batch optimizer and no batch norm."""
        s = self.swa_start
        expected = "0 (off), a fraction in (0, 1) of epochs or a whole epoch >= 1"
        if not _number(s) or not np.isfinite(s) or s < 0 or (s >= 1 and s != int(s)):
            raise ConfigurationError(f"swa_start must be {expected}, got {s!r}", field="swa_start")
        if not s:
            return
        if s >= self.epochs:
            raise ConfigurationError(
                f"swa_start must be {expected} below epochs = {self.epochs}, got {s!r}",
                field="swa_start",
            )
        if self.optimizer == "lbfgs":
            raise ConfigurationError(
                "swa_start averages the epochs of a mini-batch optimizer: use gd, momentum, "
                "rmsprop, adam or adamw, not lbfgs",
                field="swa_start",
            )
        if any(self.batch_norm):
            # The running mean and variance were gathered for each epoch's W, not for
            # their average; SWA would need them measured again on the training data.
            raise ConfigurationError(
                "swa_start averages W and b but not batch norm's running mean and "
                "variance: use swa_start = 0 with batch_norm",
                field="swa_start",
            )

    def replace(self, **changes) -> Hyperparameters:
        """A copy with some fields changed, validated."""
        hp = dataclasses.replace(self, **changes)
        hp.validate()
        return hp

    def to_dict(self) -> dict:
        """Plain JSON-able values (tuples become lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls, values: dict) -> Hyperparameters:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ConfigurationError(
                f"unknown hyperparameter(s) {sorted(unknown)}; valid names: {sorted(names)}"
            )
        missing = {"layer_dims", "activations", "loss", "init"} - set(values)
        if missing:
            raise ConfigurationError(f"hyperparameters lack {sorted(missing)}")
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        hp = cls(**fields)
        check_layer_dims(hp.layer_dims)
        if len(hp.activations) != hp.L:
            raise ConfigurationError(
                f"activations must name L = {hp.L} activations, got {list(hp.activations)}"
            )
        for l, a in enumerate(hp.activations, 1):
            get_activation(a, layer=l)
        _check_output_for_loss(hp.activations[-1], get_loss(hp.loss).name, hp.layer_dims[-1])
        hp.validate()
        return hp


def _number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _check_output_for_loss(output: str, loss: str, n_out: int) -> None:
    loss_obj = get_loss(loss)
    if loss_obj.output_range is not None and output not in ("sigmoid", "softmax"):
        raise ConfigurationError(
            f"loss {loss!r} needs output probabilities in (0, 1): use a sigmoid or softmax "
            f"output layer, not {output!r}"
        )
    if output == "softmax" and n_out == 1:
        raise ConfigurationError(
            "a softmax output with n[L] = 1 unit always outputs 1; use a sigmoid output for "
            "binary labels, or n[L] = number of classes"
        )
