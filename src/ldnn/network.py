"""The DeepNetwork: hyperparameters plus the parameters W, b that training learns."""

from __future__ import annotations

import copy
import functools
import math
import os
import threading
from collections.abc import Sequence

import numpy as np

from .backend import Resident, device_module, host_copies, to_device, to_numpy
from .checks import check_finite, check_positive, check_same_m, check_sample_weight, check_X
from .continuation import Unfinished
from .data.split import split_columns, split_indices
from .errors import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidValueError,
    NotFittedError,
    ShapeError,
)
from .history import Callback, History, PrintCost
from .hyperparameters import Hyperparameters
from .initializers import initialize_parameters
from .lbfgs import train_lbfgs
from .losses import get_loss, one_hot
from .metrics import accuracy, is_classifier, mean_squared_error, predictions
from .optimizers import Optimizer
from .parallel import check_supported
from .parameters import check_fits_in_memory, check_parameters
from .propagation import compute_cost, forward_in_blocks
from .saving import load_network, save_network
from .summary import shape_table
from .training import Training, generator_at, make_optimizer
from .workspace import Workspace

CACHES = ("_inference_local", "_resident")  # attributes that are not the model's state


class DeepNetwork:
    """An L-layer network: layer_dims = [n0, n1, ..., nL], one activation per layer.

    Parameters
    ----------
    layer_dims : sequence of int
        [n0, n1, ..., nL]: input size, hidden sizes, output size.
    activations : str or sequence of str, default "relu"
        One name for all hidden layers, or L - 1 hidden names, or all L names.
    output : str, optional
        Output activation; default from the loss, else sigmoid (n[L] = 1) or softmax.
    loss : str, optional
        binary_crossentropy ("bce"), categorical_crossentropy ("cce") or
        mean_squared_error ("mse"); default from the output activation.
    init : str, optional
        course, scaled, xavier or he; default He for relu-like layers, else Xavier.
    keep_prob : float or sequence of float, default 1.0
        Dropout keep probability per hidden layer.
    **settings
        Any other field of :class:`Hyperparameters`: optimizer, learning_rate, epochs,
        batch_size, lambd, early_stopping, validation_split, seed, dtype, ...

    Attributes
    ----------
    hyperparameters : Hyperparameters
    parameters : dict or None
        ``W{l}`` of shape (n[l], n[l-1]) and ``b{l}`` of shape (n[l], 1); None before fit.
    history : History or None
    optimizer : Optimizer or None
        The optimizer and its state (v, s, t), kept for ``fit(..., warm_start=True)``.
    epochs_trained : int
        Epochs completed since the parameters were initialised (warm starts add up).
    metadata : dict
        JSON-able extras saved with the model (class names, feature names, ...).
    unfinished : Unfinished or None
        Where a fit stopped by ``stop`` stood; a warm start continues it exactly.

    Examples
    --------
    >>> net = DeepNetwork([2, 8, 8, 1], activations="tanh", learning_rate=0.5, epochs=300)
    >>> history = net.fit(X, Y)          # X: (2, m), Y: (1, m)
    >>> net.predict(X_test)              # (1, m) of 0/1
    """

    def __init__(
        self,
        layer_dims: Sequence[int],
        activations: str | Sequence[str] = "relu",
        output: str | None = None,
        loss: str | None = None,
        init: str | None = None,
        keep_prob: float | Sequence[float] = 1.0,
        **settings,
    ):
        self.hyperparameters = Hyperparameters.create(
            layer_dims, activations, output, loss, init, keep_prob, **settings
        )
        self._reset()

    def _reset(self) -> None:
        self.parameters: dict | None = None
        self.history: History | None = None
        self.optimizer: Optimizer | None = None
        self.epochs_trained = 0
        self.metadata: dict = {}
        self.unfinished: Unfinished | None = None
        self._rng: np.random.Generator | None = None
        self._session = None  # (Training, epochs trained before it, split state) during fit

    @classmethod
    def from_hyperparameters(cls, hyperparameters: Hyperparameters) -> DeepNetwork:
        """A network with these hyperparameters and no parameters yet."""
        network = cls.__new__(cls)
        network.hyperparameters = hyperparameters
        network._reset()
        return network

    @classmethod
    def from_parameters(cls, parameters: dict, activations="relu", **settings) -> DeepNetwork:
        """A network holding ``parameters`` (W1..WL, b1..bL); layer_dims follow from their
        shapes, and the arrays are taken in the network's dtype (default float32).

        ``activations`` and ``**settings`` are those of :class:`DeepNetwork`.
        """
        dims = check_parameters(parameters)
        network = cls(dims, activations, **settings)
        network.parameters = {k: np.asarray(v, dtype=network.dtype) for k, v in parameters.items()}
        return network

    # -- shapes and names ------------------------------------------------------------
    @property
    def layer_dims(self) -> tuple[int, ...]:
        return self.hyperparameters.layer_dims

    @property
    def L(self) -> int:
        return self.hyperparameters.L

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.hyperparameters.dtype)

    def __repr__(self) -> str:
        hp, state = self.hyperparameters, "fitted" if self.parameters is not None else "not fitted"
        return (f"DeepNetwork(layer_dims={list(hp.layer_dims)}, "
                f"activations={list(hp.activations)}, loss={hp.loss!r}, {state})")  # fmt: skip

    def fitted_parameters(self) -> dict:
        if self.parameters is None:
            raise NotFittedError(
                "this DeepNetwork has no parameters yet: call fit() or DeepNetwork.load() first"
            )
        return self.parameters

    def initialize(self, rng: np.random.Generator | int | None = None) -> dict:
        """Draw fresh parameters (from the seed unless ``rng`` is given).

        Raises
        ------
        ConfigurationError
            If the parameters would not fit in this machine's memory.
        """
        hp = self.hyperparameters
        check_fits_in_memory(hp.layer_dims, hp.dtype)
        if hp.generator == "course":  # np.random.seed(seed), then the course's draws
            rng = np.random.RandomState(hp.seed)
        else:
            rng = np.random.default_rng(hp.seed if rng is None else rng)
        self.parameters = initialize_parameters(
            hp.layer_dims, hp.init, rng=rng, dtype=self.dtype, batch_norm=hp.batch_norm
        )
        return self.parameters

    # -- data ----------------------------------------------------------------------
    def check_data(self, X, Y, x_name="X", y_name="Y", *, keep_labels=False, with_extent=False,
                   empty=False):  # fmt: skip
        """X (n[0], m) and Y (n[L], m) checked and converted as training and scoring take
        them: X in the network's dtype, Y as the loss prepares it (one-hot for class
        labels, or with ``keep_labels`` the labels (m,) themselves); with
        ``with_extent`` also max |x|; m = 0 only with ``empty``."""
        X, extent = check_X(X, self.layer_dims[0], self.dtype, x_name, with_extent=True,
                            empty=empty)  # fmt: skip
        Y = get_loss(self.hyperparameters.loss).prepare_targets(
            Y, self.layer_dims[-1], self.dtype, keep_labels=keep_labels
        )
        check_finite(Y, y_name)
        check_same_m(X, Y, x_name, y_name)
        return (X, Y, extent) if with_extent else (X, Y)

    # -- training ----------------------------------------------------------------------
    def fit(
        self,
        X,
        Y,
        *,
        validation_data: tuple | None = None,
        callbacks: Sequence[Callback] = (),
        verbose: int = 0,
        warm_start: bool = False,
        sample_weight=None,
        epochs: int | None = None,
        rng: np.random.Generator | None = None,
        stop=None,
        comm=None,
    ) -> History:
        """Learn W and b from X of shape (n[0], m) and Y of shape (n[L], m).

        Parameters
        ----------
        X : array of shape (n[0], m)
        Y : array of shape (n[L], m); for categorical cross-entropy also integer labels
            of shape (m,)
        validation_data : (X_val, Y_val), optional
            Scored after every epoch; early stopping watches its cost.
        callbacks : sequence of callables (epoch, record, parameters) -> bool
            Called after every epoch; returning True stops training.
        verbose : int
            Print the cost every ``verbose`` epochs (0: silent).
        warm_start : bool
            Continue from the current parameters and optimizer state instead of
            initialising from the seed.
        sample_weight : array of shape (m,), optional
            Non-negative weights: the cost becomes sum_i w_i L_i / sum_i w_i.
        epochs : int, optional
            Train this many epochs instead of ``hyperparameters.epochs``.
        rng : numpy.random.Generator, optional
            The generator for initialisation, shuffling and dropout; default one seeded
            with ``hyperparameters.seed``, so equal seeds give bit-identical results.
            A warm start goes on drawing from the previous fit's generator, and its
            epochs (and learning-rate schedule) count on from the previous fit's.
        stop : callable () -> bool, optional
            Polled after every step (a signal handler's flag, say): when it returns True
            training stops between two steps, ``history.stop_reason`` is "interrupted"
            and :attr:`unfinished` says where; a warm start on the same data (after
            :meth:`save` and :meth:`load` too) continues from there with the numbers of
            a fit that never stopped, the interrupted epoch counting as one of ``epochs``.
        comm : mpi4py communicator, optional
            Data-parallel on MPI ranks (:mod:`ldnn.parallel`): X, Y, sample_weight and
            validation_data are this rank's share, all ranks' in rank order the data.

        Returns
        -------
        History
            Continuing an interrupted fit, its history goes on in the same History.
        """
        xp = self._training_device(X)
        # Class labels stay labels (m,): training makes each mini-batch's one-hot.
        share = comm is not None  # one MPI rank's share of the examples may be none
        X, Y, x_extent = self.check_data(X, Y, keep_labels=True, with_extent=True, empty=share)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X.shape[1])
        if epochs is not None:
            check_positive(epochs, "epochs", integer=True)
        callbacks = list(callbacks)
        for k, callback in enumerate(callbacks):
            if not callable(callback):
                raise ArgumentTypeError(
                    f"callbacks[{k}] must be callable (epoch, record, parameters), got "
                    f"{type(callback).__name__}"
                )
        check_supported(self.hyperparameters, comm, validation_data is not None)
        continuing = warm_start and self.parameters is not None
        unfinished = self.unfinished if continuing else None
        rng = self._generator(rng, continuing)
        # The validation split is drawn first: an interrupted fit's is drawn again.
        split_state = rng.bit_generator.state if unfinished is None else unfinished.split_rng_state
        split_rng = rng if unfinished is None else generator_at(split_state)
        X, Y, sample_weight, validation = self._validation(
            X, Y, sample_weight, validation_data, split_rng, share
        )
        self._start(rng, continuing)
        callbacks = self._with_printing(callbacks, verbose, epochs)
        self.history = self._train_on_device(
            xp, X, Y, validation, callbacks, sample_weight, rng, epochs, stop, split_state,
            x_extent, comm,
        )  # fmt: skip
        return self.history

    def _training_device(self, X):
        """The array module training runs on; a streamed X trains on the CPU only."""
        if self.hyperparameters.device != "cpu" and hasattr(getattr(X, "T", None), "gather_rows"):
            raise ConfigurationError(
                "X streamed from .npy files trains on the CPU only: use device='cpu', or load "
                "the data into memory to train on the GPU"
            )
        return device_module(self.hyperparameters.device)

    def _generator(self, rng, continuing: bool) -> np.random.Generator:
        """The fit's generator: the one given, the previous fit's for a warm start, or a
        new one from the seed. It is kept for the next warm start."""
        seed = self.hyperparameters.seed
        if rng is None and continuing:
            # A model loaded from a file of format 1 kept no generator: go on with one
            # drawn from (seed, epochs trained), so that the shuffles do not repeat.
            rng = self._rng or np.random.default_rng([seed, self.epochs_trained])
        elif rng is None:
            rng = np.random.default_rng(seed)
        self._rng = rng
        return rng

    def _validation(self, X, Y, sample_weight, validation_data, rng, empty=False):
        """(X, Y, sample_weight, validation): validation_data prepared, or the part that
        ``validation_split`` holds out of the training examples (drawn from ``rng``)."""
        hp = self.hyperparameters
        validation = None
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ShapeError("validation_data must be a pair (X_val, Y_val)")
            validation = self.check_data(*validation_data, x_name="X_val", y_name="Y_val",
                                         empty=empty)  # fmt: skip
        elif hp.validation_split > 0:
            keep, held = self.validation_indices(Y, rng)
            (X, Y), (X_val, Y_val) = split_columns(X, Y, keep, held)
            if Y_val.ndim == 1:  # class labels: the validation part's one-hot, once
                Y_val = one_hot(Y_val, hp.layer_dims[-1], X_val.dtype)
            validation = (X_val, Y_val)
            if sample_weight is not None:
                sample_weight = sample_weight[keep]
        if hp.early_stopping is not None and validation is None:
            raise ConfigurationError(
                "early_stopping needs validation data: pass validation_data=(X_val, Y_val) "
                "or set validation_split > 0"
            )
        return X, Y, sample_weight, validation

    def validation_indices(self, Y, rng: np.random.Generator):
        """(kept, held): the examples ``validation_split`` holds out, for Y as
        :meth:`check_data` prepares it (``keep_labels``), drawn as :meth:`fit` draws them."""
        hp, classes, name = self.hyperparameters, self._classes_of(Y), "validation_split"
        return split_indices(Y.shape[-1], hp.validation_split, rng, minimum=1, stratify=classes,
                             name=name)  # fmt: skip

    def _classes_of(self, Y):
        """Each example's class, to stratify the validation part by (None: no classes),
        from Y as the loss prepared it: labels (m,), 0/1 targets (1, m) of one sigmoid
        unit, or one-hot columns (K, m) of a softmax; tags (several sigmoids) have none."""
        hp = self.hyperparameters
        if not is_classifier(hp.activations[-1]):
            return None
        Y = to_numpy(Y)
        if Y.ndim == 1:
            return Y.astype(int)
        if Y.shape[0] == 1 and np.isin(Y, (0, 1)).all():
            return Y[0].astype(int)
        if hp.activations[-1] == "softmax" and Y.shape[0] > 1:
            return Y.argmax(axis=0)
        return None

    def _start(self, rng, continuing: bool) -> None:
        """Fresh parameters and optimizer, unless a warm start continues the old ones."""
        if not continuing:
            self.initialize(rng)
            self.optimizer, self.epochs_trained, self.unfinished = None, 0, None
        if self.optimizer is None and self.hyperparameters.optimizer != "lbfgs":
            self.optimizer = make_optimizer(self.hyperparameters)

    def _with_printing(self, callbacks, verbose: int, epochs: int | None) -> list:
        callbacks = list(callbacks)
        if verbose:
            total = self.epochs_trained + (epochs or self.hyperparameters.epochs)
            callbacks.append(PrintCost(every=verbose, total=total))
        return callbacks

    def _train_on_device(
        self, xp, X, Y, validation, callbacks, sample_weight, rng, epochs, stop, split_state,
        x_extent, comm=None,
    ):  # fmt: skip
        """Train on the device: on a GPU the data move there once and stay for every
        epoch, and the parameters come back to the host when training ends. On the CPU
        training updates self.parameters itself, so a callback that calls this network's
        predict or evaluate sees the current weights."""
        hp = self.hyperparameters
        epochs = hp.epochs if epochs is None else epochs
        move = functools.partial(to_device, xp=xp)
        parameters = self.parameters
        if xp is not np:
            parameters = {k: move(v) for k, v in parameters.items()}
        if validation is not None:
            validation = tuple(map(move, validation))
        if sample_weight is not None:
            sample_weight = move(sample_weight)
        if hp.optimizer == "lbfgs":
            history = train_lbfgs(
                parameters, move(X), move(Y), hp, validation=validation, callbacks=callbacks,
                sample_weight=sample_weight, epochs=epochs, stop=stop,
            )  # fmt: skip
            self.epochs_trained += len(history)
            self.unfinished = None  # L-BFGS keeps its memory inside SciPy: it starts afresh
        else:
            self.optimizer.to_module(xp, parameters)
            unfinished = self.unfinished
            training = Training(
                parameters, move(X), move(Y), hp, rng=rng, validation=validation,
                callbacks=callbacks, sample_weight=sample_weight, optimizer=self.optimizer,
                start_epoch=self.epochs_trained,
                resume=None if unfinished is None else unfinished.position,
                history=None if unfinished is None else copy.deepcopy(unfinished.history),
                x_extent=x_extent, comm=comm,
            )  # fmt: skip
            self._session = (training, self.epochs_trained, split_state)
            try:
                history = training.run(epochs, stop)
            finally:
                self._session = None
            self.epochs_trained += training.completed
            interrupted = history.stop_reason == "interrupted"
            self.unfinished = (
                Unfinished(training.position, history, split_state) if interrupted else None
            )
        if xp is not np:
            self.parameters = host_copies(parameters)  # read-only: see Resident
        return history

    # -- inference ---------------------------------------------------------------------
    def _output(self, X):
        """A[L] for validated X, on the network's device, in blocks of columns.

        Raises
        ------
        InvalidValueError
            If A[L] overflows (NaN or inf): parameters too large for these inputs.
        """
        xp = device_module(self.hyperparameters.device)
        resident = self.__dict__.setdefault("_resident", Resident())  # kept on the device
        parameters = resident.of(self.fitted_parameters(), xp)
        with np.errstate(all="ignore"):  # an overflow is said once, below
            A = forward_in_blocks(
                to_device(X, xp),
                parameters,
                self.hyperparameters.activations,
                workspace=self._inference_workspace(parameters),
            )
        A = to_numpy(A)
        if A.size and not (math.isfinite(float(A.min())) and math.isfinite(float(A.max()))):
            raise InvalidValueError(
                "the network's outputs A[L] overflow to NaN or infinity on this X: its "
                "parameters are too large for inputs of this size (rescale X as in training)"
            )
        return A

    def _inference_workspace(self, parameters: dict) -> Workspace:
        """Reusable arrays for the forward pass, one set per thread: repeated predictions
        on small batches then allocate nothing. At most 1024 columns per layer are kept,
        and a new set is made when the parameters' shapes, dtype or device change."""
        local = self.__dict__.setdefault("_inference_local", threading.local())
        key = tuple((type(P), P.dtype, P.shape) for P in parameters.values())
        if getattr(local, "key", None) != key:
            local.key, local.workspace = key, Workspace()
        return local.workspace

    def predict_proba(self, X):
        """A[L] = the forward pass without dropout, shape (n[L], m)."""
        return self._output(check_X(X, self.layer_dims[0], self.dtype))

    def predict(self, X):
        """0/1 per sigmoid unit (n[L], m); class index (1, m) for softmax; A[L] otherwise."""
        return predictions(self.predict_proba(X), self.hyperparameters.activations[-1])

    def evaluate(self, X, Y) -> dict:
        """Cost J (without the L2 term) and accuracy (classifiers) or MSE (regression)."""
        hp = self.hyperparameters
        X, Y = self.check_data(X, Y)
        AL = self._output(X)
        scores = {"cost": compute_cost(AL, Y, hp.loss)}
        if is_classifier(hp.activations[-1]):
            scores["accuracy"] = accuracy(AL, Y, hp.activations[-1])
        else:
            scores["mse"] = mean_squared_error(AL, Y)
        return scores

    # -- the notes' shape table ------------------------------------------------------------
    def summary(self, m: int = 1, print_fn=print) -> str:
        """Print (and return) the shape of W, b, dW, db, Z, A for every layer at m examples."""
        hp = self.hyperparameters
        text = shape_table(hp.layer_dims, hp.activations, hp.loss, hp.dtype, m, hp.batch_norm)
        if print_fn is not None:
            print_fn(text)
        return text

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (.npz + JSON metadata, atomically), with what
        continuing its training needs: the optimizer's and the generator's state, the
        epochs trained, the history, and where an interrupted fit stood. Called from a
        callback during fit, it writes the training as it stands (a checkpoint)."""
        save_network(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> DeepNetwork:
        """Read a model written by :meth:`save` (never unpickles; every array's name,
        shape and dtype and the metadata are checked before they are used)."""
        return load_network(cls, path)

    def __getstate__(self):
        # The per-thread inference arrays and the device copies are caches: not pickled.
        return {k: v for k, v in self.__dict__.items() if k not in CACHES}
