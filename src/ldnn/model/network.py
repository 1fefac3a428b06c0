"""The DeepNetwork: hyperparameters plus the parameters W, b that training learns."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from ..base.backend import Resident, device_module, to_device, to_numpy
from ..base.checks import (
    check_finite,
    check_positive,
    check_same_m,
    check_sample_weight,
    check_X,
    finite_extent,
)
from ..core import categorical
from ..core.hyperparameters import Hyperparameters
from ..core.losses import get_loss
from ..core.metrics import accuracy, is_classifier, mean_squared_error, predictions
from ..core.parameters import check_parameters
from ..core.propagation import compute_cost
from ..data.compact import CompactX
from ..errors import (
    ArgumentTypeError,
    ConfigurationError,
    InvalidValueError,
    NotFittedError,
    ShapeError,
)
from ..training.fit import Fit, initial_parameters
from ..training.history import Callback, History, PrintCost
from ..training.mpi import on_every_rank
from ..training.state import TrainingState
from .inference import InferencePass
from .saving import load_network, save_network
from .summary import shape_table

#: Attributes that are not the model's state: caches, and the fit under way.
CACHES = ("_inference", "_resident", "_fit")


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
    state : TrainingState
        What continuing training needs (``fit(..., warm_start=True)``); its parts read as
        the attributes below.
    history : History or None
    optimizer : Optimizer or None
        The optimizer and its state (v, s, t).
    epochs_trained : int
        Epochs completed since the parameters were initialised (warm starts add up).
    unfinished : Unfinished or None
        Where a fit stopped by ``stop`` stood; a warm start continues it exactly.
    metadata : dict
        JSON-able extras saved with the model (class names, feature names, ...).

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
        self.state = TrainingState()
        self.metadata: dict = {}
        self._fit: Fit | None = None  # the fit under way, for checkpoint()

    # What the training state holds, by the names a model's user reads.
    history = property(lambda self: self.state.history)
    optimizer = property(lambda self: self.state.optimizer)
    epochs_trained = property(lambda self: self.state.epochs_trained)
    unfinished = property(lambda self: self.state.unfinished)

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
        return (
            f"DeepNetwork(layer_dims={list(hp.layer_dims)}, "
            f"activations={list(hp.activations)}, loss={hp.loss!r}, {state})"
        )

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
        self.parameters = initial_parameters(self.hyperparameters, rng)
        return self.parameters

    # -- data ----------------------------------------------------------------------
    def check_data(
        self, X, Y, x_name="X", y_name="Y", *, keep_labels=False, with_extent=False, empty=False
    ):
        """X (n[0], m) and Y (n[L], m) checked and converted as training and scoring take
        them: X in the network's dtype, Y as the loss prepares it (one-hot for class
        labels, or with ``keep_labels`` the labels (m,) themselves); with
        ``with_extent`` also max |x|; m = 0 only with ``empty``."""
        X, extent = self._checked_X(X, x_name, empty)
        Y = get_loss(self.hyperparameters.loss).prepare_targets(
            Y, self.layer_dims[-1], self.dtype, keep_labels=keep_labels
        )
        check_finite(Y, y_name)
        check_same_m(X, Y, x_name, y_name)
        return (X, Y, extent) if with_extent else (X, Y)

    def _checked_X(self, X, name: str = "X", empty: bool = False):
        """(X in the network's dtype, max |x|): a dense X, or a table's categories kept as
        codes (:class:`~ldnn.data.compact.CompactX`, which trains and predicts on the CPU)."""
        if isinstance(X, CompactX):
            return X.checked(self.layer_dims[0], self.dtype, name, empty=empty)
        hp = self.hyperparameters
        if type(X) is np.ndarray and X.dtype == hp.dtype and X.ndim == 2 and X.shape[1]:
            if X.shape[0] == hp.layer_dims[0]:
                # Of an X in the network's dtype and shape (a prediction's usual X, often a
                # small batch), check_X would only find whether it is finite: ask just that.
                return X, finite_extent(X, name)
        return check_X(X, self.layer_dims[0], self.dtype, name, with_extent=True, empty=empty)

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
            Data-parallel on MPI ranks (:mod:`ldnn.training.mpi`): X, Y, sample_weight and
            validation_data are this rank's share, all ranks' in rank order the data.

        Returns
        -------
        History
            Continuing an interrupted fit, its history goes on in the same History.
        """
        share = comm is not None  # one MPI rank's share of the examples may be none

        def checked():
            # Class labels stay labels (m,): training makes each mini-batch's one-hot.
            X_, Y_, extent = self.check_data(X, Y, keep_labels=True, with_extent=True, empty=share)
            if isinstance(X_, CompactX) and self.hyperparameters.device != "cpu":
                raise ConfigurationError(
                    "a table with text columns (X as categories' codes) trains on the CPU "
                    "only: use device='cpu' (--device cpu)",
                    field="device",
                )
            weights = sample_weight
            if weights is not None:
                weights = check_sample_weight(weights, X_.shape[1])
            if epochs is not None:
                check_positive(epochs, "epochs", integer=True)
            validation = validation_data
            if validation is not None:
                if len(validation) != 2:
                    raise ShapeError("validation_data must be a pair (X_val, Y_val)")
                validation = self.check_data(
                    *validation, x_name="X_val", y_name="Y_val", empty=share
                )
            return X_, Y_, extent, weights, validation

        # On MPI ranks, a rank whose share fails a check stops every rank, naming itself.
        checks = checked() if comm is None else on_every_rank(comm, checked)
        X, Y, x_extent, sample_weight, validation_data = checks
        continuing = warm_start and self.parameters is not None
        if not continuing:
            self.embed_columns_of(X)
        fit = Fit(
            self.hyperparameters,
            X,
            Y,
            sample_weight=sample_weight,
            validation=validation_data,
            callbacks=self._callbacks(callbacks, verbose, epochs),
            rng=rng,
            comm=comm,
            x_extent=x_extent,
            parameters=self.parameters if continuing else None,
            state=self.state if continuing else None,
        )
        self.parameters, self._fit = fit.parameters, fit
        try:
            history = fit.run(epochs, stop)
        finally:
            self._fit = None
        self.parameters, self.state = fit.parameters, fit.state
        return history

    def embed_columns_of(self, X) -> None:
        """With ``embedding_width`` k, the text columns of X (a table's, a CompactX) with
        more than k categories become the embedded ones (the hyperparameters'
        ``embedding``); a dense X has none. ``fit`` asks this of its X unless it continues;
        a network built for a table asks it at once, so that its hyperparameters are
        whole before training (a checkpoint's are compared with them)."""
        hp = self.hyperparameters
        if hp.embedding_width is not None:
            blocks = X.blocks if isinstance(X, CompactX) else ()
            sizes = categorical.embedded_sizes(blocks, hp.embedding_width)
            if sizes != hp.embedding:
                self.hyperparameters = hp.replace(embedding=sizes)

    def _callbacks(self, callbacks, verbose: int, epochs: int | None) -> list:
        """The callbacks checked, and the cost printer that ``verbose`` asks for."""
        callbacks = list(callbacks)
        for k, callback in enumerate(callbacks):
            if not callable(callback):
                raise ArgumentTypeError(
                    f"callbacks[{k}] must be callable (epoch, record, parameters), got "
                    f"{type(callback).__name__}"
                )
        if verbose:
            total = self.epochs_trained + (epochs or self.hyperparameters.epochs)
            callbacks.append(PrintCost(every=verbose, total=total))
        return callbacks

    def checkpoint(self) -> tuple[dict, TrainingState]:
        """The parameters and what continuing their training needs, as a model file
        holds them; during fit (from a callback), the training as it stands."""
        fit = getattr(self, "_fit", None)  # (a network unpickled has none)
        if fit is not None:
            return fit.checkpoint()
        return self.fitted_parameters(), self.state

    # -- inference ---------------------------------------------------------------------
    def _output(self, X):
        """A[L] for validated X, on the network's device, in blocks of columns.

        Raises
        ------
        InvalidValueError
            If A[L] overflows (NaN or inf): parameters too large for these inputs.
        """
        # A table's categories (a CompactX) are gathered on the CPU.
        xp = np if isinstance(X, CompactX) else device_module(self.hyperparameters.device)
        resident = self.__dict__.setdefault("_resident", Resident())  # kept on the device
        parameters = resident.of(self.fitted_parameters(), xp)
        with np.errstate(all="ignore"):  # an overflow is said once, below
            A = to_numpy(self._inference_pass(parameters)(to_device(X, xp)))
        if A.size and not (math.isfinite(float(A.min())) and math.isfinite(float(A.max()))):
            raise InvalidValueError(
                "the network's outputs A[L] overflow to NaN or infinity on this X: its "
                "parameters are too large for inputs of this size (rescale X as in training)"
            )
        return A

    def _inference_pass(self, parameters: dict) -> InferencePass:
        """The forward pass of ``parameters`` (the network's, or their copies on its device),
        prepared once and kept until they or the activations change (a new dict, or a new
        array in it). Threads share it, each writing into arrays of its own: repeated
        predictions on small batches check nothing twice and allocate nothing but A[L]."""
        activations = self.hyperparameters.activations
        inference = self.__dict__.get("_inference")
        if inference is None or not inference.holds(parameters, activations):
            # Two threads may both prepare one: either is right, and the last one is kept.
            inference = self._inference = InferencePass(parameters, activations)
        return inference

    def predict_proba(self, X):
        """A[L] = the forward pass without dropout, shape (n[L], m)."""
        return self._output(self._checked_X(X)[0])

    def predict(self, X):
        """0/1 per sigmoid unit (n[L], m); class index (1, m) for softmax; A[L] otherwise."""
        return predictions(self.predict_proba(X), self.hyperparameters.activations[-1])

    def evaluate(self, X, Y) -> dict:
        """Cost J (without the L2 term) and accuracy (classifiers) or MSE (regression)."""
        hp = self.hyperparameters
        X, Y = self.check_data(X, Y)
        AL = self._output(X)
        scores = {"cost": float(compute_cost(AL, Y, hp.loss))}
        if is_classifier(hp.activations[-1]):
            scores["accuracy"] = accuracy(AL, Y, hp.activations[-1])
        else:
            scores["mse"] = mean_squared_error(AL, Y)
        return scores

    # -- the notes' shape table ------------------------------------------------------------
    def summary(self, m: int = 1, print_fn=print) -> str:
        """Print (and return) the shape of W, b, dW, db, Z, A for every layer at m examples."""
        hp = self.hyperparameters
        text = shape_table(
            hp.layer_dims, hp.activations, hp.loss, hp.dtype, m, hp.batch_norm, hp.embedding_dims
        )
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
