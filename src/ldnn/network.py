"""The DeepNetwork: hyperparameters plus the parameters W, b that training learns."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence

import numpy as np

from .backend import device_module, to_device, to_numpy
from .errors import ConfigurationError, ModelFileError, NotFittedError, ShapeError
from .hyperparameters import Hyperparameters
from .initializers import initialize_parameters
from .io import load_model, save_model
from .losses import get_loss
from .metrics import accuracy, is_classifier, mean_squared_error, predictions
from .optimizers import Optimizer
from .propagation import check_parameters, compute_cost, forward_in_blocks
from .training import Callback, History, PrintCost, make_optimizer, train
from .validation import check_finite, check_positive, check_same_m, check_sample_weight, check_X
from .workspace import Workspace


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
        Epochs since the parameters were initialised (warm starts add up).
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
        self.parameters: dict | None = None
        self.history: History | None = None
        self.optimizer: Optimizer | None = None
        self.epochs_trained = 0
        self.metadata: dict = {}
        self._rng: np.random.Generator | None = None

    @classmethod
    def from_hyperparameters(cls, hyperparameters: Hyperparameters) -> DeepNetwork:
        network = cls.__new__(cls)
        network.hyperparameters = hyperparameters
        network.parameters, network.history, network.metadata = None, None, {}
        network.optimizer, network.epochs_trained, network._rng = None, 0, None
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
        hp = self.hyperparameters
        state = "fitted" if self.parameters is not None else "not fitted"
        return (
            f"DeepNetwork(layer_dims={list(hp.layer_dims)}, activations={list(hp.activations)}, "
            f"loss={hp.loss!r}, {state})"
        )

    def fitted_parameters(self) -> dict:
        if self.parameters is None:
            raise NotFittedError(
                "this DeepNetwork has no parameters yet: call fit() or DeepNetwork.load() first"
            )
        return self.parameters

    def initialize(self, rng: np.random.Generator | int | None = None) -> dict:
        """Draw fresh parameters (from the seed unless ``rng`` is given)."""
        hp = self.hyperparameters
        rng = np.random.default_rng(hp.seed if rng is None else rng)
        self.parameters = initialize_parameters(hp.layer_dims, hp.init, rng=rng, dtype=self.dtype)
        return self.parameters

    # -- data ----------------------------------------------------------------------
    def _prepare(self, X, Y, x_name="X", y_name="Y", keep_labels=False):
        X = check_X(X, self.layer_dims[0], self.dtype, x_name)
        Y = get_loss(self.hyperparameters.loss).prepare_targets(
            Y, self.layer_dims[-1], self.dtype, keep_labels=keep_labels
        )
        check_finite(Y, y_name)
        check_same_m(X, Y, x_name, y_name)
        return X, Y

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

        Returns
        -------
        History
        """
        hp = self.hyperparameters
        if hp.device != "cpu" and hasattr(getattr(X, "T", None), "gather_rows"):
            raise ConfigurationError(
                "X streamed from .npy files trains on the CPU only: use device='cpu', or load "
                "the data into memory to train on the GPU"
            )
        xp = device_module(hp.device)
        # Class labels stay labels (m,): training makes each mini-batch's one-hot.
        X, Y = self._prepare(X, Y, keep_labels=True)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X.shape[1])
        if epochs is not None:
            check_positive(epochs, "epochs", integer=True)
        continuing = warm_start and self.parameters is not None
        if rng is None:
            rng = self._rng if continuing else np.random.default_rng(hp.seed)
        self._rng = rng
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ShapeError("validation_data must be a pair (X_val, Y_val)")
            validation = self._prepare(*validation_data, x_name="X_val", y_name="Y_val")
        elif hp.validation_split > 0:
            m = X.shape[1]
            n_val = max(1, int(round(hp.validation_split * m)))
            if n_val >= m:
                raise ConfigurationError(
                    f"validation_split {hp.validation_split} leaves no training examples "
                    f"out of m = {m}"
                )
            order = rng.permutation(m)
            val, keep = order[:n_val], order[n_val:]
            validation = (X[:, val], Y[..., val])  # Y: (n[L], m), or labels (m,)
            X, Y = X[:, keep], Y[..., keep]
            if sample_weight is not None:
                sample_weight = sample_weight[keep]
        else:
            validation = None
        if hp.early_stopping is not None and validation is None:
            raise ConfigurationError(
                "early_stopping needs validation data: pass validation_data=(X_val, Y_val) "
                "or set validation_split > 0"
            )
        if not continuing:
            self.initialize(rng)
            self.optimizer, self.epochs_trained = None, 0
        if self.optimizer is None and hp.optimizer != "lbfgs":
            self.optimizer = make_optimizer(hp)
        callbacks = list(callbacks)
        if verbose:
            total = self.epochs_trained + (epochs or hp.epochs)
            callbacks.append(PrintCost(every=verbose, total=total))
        # On a GPU the data move there once and stay for every epoch; the parameters
        # come back to the host when training ends.
        # On the CPU training updates self.parameters itself, so a callback that calls
        # this network's predict or evaluate sees the current weights.
        move = functools.partial(to_device, xp=xp)
        parameters = self.parameters
        if xp is not np:
            parameters = {k: move(v) for k, v in parameters.items()}
        if validation is not None:
            validation = tuple(map(move, validation))
        self.history = train(
            parameters,
            move(X),
            move(Y),
            hp,
            rng=rng,
            validation=validation,
            callbacks=callbacks,
            sample_weight=None if sample_weight is None else move(sample_weight),
            optimizer=self.optimizer,
            epochs=epochs,
            start_epoch=self.epochs_trained,
        )
        if xp is not np:
            self.parameters = {k: to_numpy(v) for k, v in parameters.items()}
        self.epochs_trained += len(self.history)
        return self.history

    # -- inference ---------------------------------------------------------------------
    def _output(self, X):
        """A[L] for validated X, on the network's device, in blocks of columns."""
        xp = device_module(self.hyperparameters.device)
        parameters = {k: to_device(v, xp) for k, v in self.fitted_parameters().items()}
        A = forward_in_blocks(
            to_device(X, xp),
            parameters,
            self.hyperparameters.activations,
            workspace=self._inference_workspace(parameters),
        )
        return to_numpy(A)

    def _inference_workspace(self, parameters: dict) -> Workspace:
        """Reusable arrays for the forward pass, one set per thread: repeated predictions
        on small batches then allocate nothing. At most 1024 columns per layer are kept,
        and a new set is made when the parameters' shapes, dtype or device change."""
        local = self.__dict__.setdefault("_inference_local", threading.local())
        key = tuple((type(P), P.dtype, P.shape) for P in parameters.values())
        if getattr(local, "key", None) != key:
            local.key, local.workspace = key, Workspace()
        return local.workspace

    def __getstate__(self):
        # The per-thread inference arrays are a cache: not copied, not pickled.
        state = self.__dict__.copy()
        state.pop("_inference_local", None)
        return state

    def predict_proba(self, X):
        """A[L] = the forward pass without dropout, shape (n[L], m)."""
        return self._output(check_X(X, self.layer_dims[0], self.dtype))

    def predict(self, X):
        """0/1 per sigmoid unit (n[L], m); class index (1, m) for softmax; A[L] otherwise."""
        return predictions(self.predict_proba(X), self.hyperparameters.activations[-1])

    def evaluate(self, X, Y) -> dict:
        """Cost J (without the L2 term) and accuracy (classifiers) or MSE (regression)."""
        hp = self.hyperparameters
        X, Y = self._prepare(X, Y)
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
        dims, acts = self.layer_dims, self.hyperparameters.activations
        header = ("l", "g[l]", "W[l], dW[l]", "b[l], db[l]", "Z[l], A[l]", "parameters")
        rows = [("0", "input", "", "", f"A[0] = X: ({dims[0]}, {m})", "")]
        total = 0
        for l in range(1, len(dims)):
            count = dims[l] * dims[l - 1] + dims[l]
            total += count
            rows.append(
                (
                    str(l),
                    acts[l - 1],
                    f"({dims[l]}, {dims[l - 1]})",
                    f"({dims[l]}, 1)",
                    f"({dims[l]}, {m})",
                    f"{count:,}",
                )
            )
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
        text = "\n".join(
            [
                f"DeepNetwork L = {self.L}, layer_dims = {list(dims)}, loss = "
                f"{self.hyperparameters.loss}, dtype = {self.hyperparameters.dtype}",
                line(header),
                "  ".join("-" * w for w in widths),
                *(line(r) for r in rows),
                f"total parameters: {total:,}",
            ]
        )
        if print_fn is not None:
            print_fn(text)
        return text

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (.npz + JSON metadata, atomically)."""
        metadata = {"hyperparameters": self.hyperparameters.to_dict(), **self.metadata}
        save_model(path, self.fitted_parameters(), metadata)

    @classmethod
    def load(cls, path: str | os.PathLike) -> DeepNetwork:
        """Read a model written by :meth:`save` (never unpickles)."""
        parameters, metadata = load_model(path)
        try:
            hp = Hyperparameters.from_dict(metadata.get("hyperparameters", {}))
        except (ConfigurationError, ShapeError, TypeError) as error:
            raise ModelFileError(
                f"model file {str(path)!r} has invalid hyperparameters: {error}"
            ) from None
        try:
            dims = check_parameters(parameters)
        except ShapeError as error:
            raise ModelFileError(f"model file {str(path)!r}: {error}") from None
        if dims != hp.layer_dims:
            raise ModelFileError(
                f"model file {str(path)!r}: parameters have layer_dims {list(dims)} but the "
                f"hyperparameters say {list(hp.layer_dims)}"
            )
        network = cls.from_hyperparameters(hp)
        network.parameters = parameters
        network.metadata = {
            k: v
            for k, v in metadata.items()
            if k not in ("hyperparameters", "format", "format_version", "ldnn_version", "checksums")
        }
        return network
