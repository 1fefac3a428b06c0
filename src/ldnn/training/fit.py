"""One call of ``DeepNetwork.fit`` as a session: the generator, the validation part, the
device, L-BFGS or the loop, and what continuing needs.

A :class:`Fit` takes the hyperparameters, the checked data and, for a warm start, the
parameters and the :class:`~ldnn.training.state.TrainingState` to go on from. It draws
the validation part and (for a fresh start) the initial parameters from the fit's
generator, moves what trains to the device, runs L-BFGS or the epochs of
:class:`~ldnn.training.loop.Training` on the ranks it is given, and leaves the host
parameters and the new training state behind. While it runs, :meth:`Fit.checkpoint` is
the training as it stands (what a callback that saves the model writes).
"""

from __future__ import annotations

import copy
import functools
import hashlib

import numpy as np

from ..base.backend import device_module, host_copies, to_device, to_numpy
from ..base.checks import check_targets
from ..core.hyperparameters import Hyperparameters
from ..core.initializers import initialize_parameters
from ..core.losses import get_loss, one_hot
from ..core.metrics import is_classifier
from ..core.parameters import check_fits_in_memory
from ..data.split import split_columns, split_indices
from ..errors import ConfigurationError
from ..io.hashing import arrays_sha256
from .history import History
from .lbfgs import train_lbfgs
from .loop import Training
from .mpi import MPIRanks, check_supported
from .ranks import ONE_PROCESS
from .state import TrainingState, Unfinished, generator_at, make_optimizer, make_plateau
from .step import RowSource


def initial_parameters(hp: Hyperparameters, rng=None) -> dict:
    """Fresh parameters for ``hp``, drawn from ``rng`` (a Generator, or a seed; default
    the hyperparameters' seed). The course's generator draws as the course does:
    ``np.random.seed(seed)``, then its draws.

    Raises
    ------
    ConfigurationError
        If the parameters would not fit in this machine's memory.
    """
    check_fits_in_memory(hp.layer_dims, hp.dtype, hp.embedding_dims)
    if hp.generator == "course":
        rng = np.random.RandomState(hp.seed)
    else:
        rng = np.random.default_rng(hp.seed if rng is None else rng)
    return initialize_parameters(
        hp.layer_dims,
        hp.init,
        rng=rng,
        dtype=np.dtype(hp.dtype),
        batch_norm=hp.batch_norm,
        embedding=hp.embedding_dims,
    )


def validation_indices(hp: Hyperparameters, Y, rng: np.random.Generator):
    """(kept, held): the examples ``validation_split`` holds out of Y (as the loss prepares
    it, class labels kept), stratified by class for a classifier, drawn from ``rng``."""
    return split_indices(
        Y.shape[-1],
        hp.validation_split,
        rng,
        minimum=1,
        stratify=_classes_of(hp, Y),
        name="validation_split",
    )


def _classes_of(hp: Hyperparameters, Y):
    """Each example's class, to stratify the validation part by (None: no classes),
    from Y as the loss prepared it: labels (m,), 0/1 targets (1, m) of one sigmoid
    unit, or one-hot columns (K, m) of a softmax; tags (several sigmoids) have none."""
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


class Fit:
    """A fit of ``hp``'s network to X (n[0], m) and Y (n[L], m) or class labels (m,),
    both checked and converted (as ``DeepNetwork.check_data`` does).

    Parameters
    ----------
    hp : Hyperparameters
    X, Y : the training data
    parameters, state : dict and TrainingState, optional
        A warm start's: continue from them. Default: fresh parameters from the seed.
    sample_weight : array of shape (m,), optional
    validation : (X_val, Y_val), optional, checked; default the part ``validation_split``
        holds out of X
    callbacks : list of Callback
    rng : numpy.random.Generator, optional
        The fit's generator (default: a warm start's own, else one from the seed).
    comm : mpi4py communicator, optional
        Data-parallel on MPI ranks: the data are this rank's share.
    x_extent : float, optional
        max |x| over X.

    Attributes
    ----------
    parameters : dict
        The host parameters: those it started from until :meth:`run` ends (on the CPU,
        the very arrays that training updates), then the trained ones.
    state : TrainingState
        What continuing needs, after :meth:`run`.
    """

    def __init__(
        self,
        hp: Hyperparameters,
        X,
        Y,
        *,
        parameters=None,
        state=None,
        sample_weight=None,
        validation=None,
        callbacks=(),
        rng=None,
        comm=None,
        x_extent=None,
    ):
        self.hp, self.callbacks, self.x_extent = hp, list(callbacks), x_extent
        continuing = state is not None
        self.rng = _generator(hp, rng, state if continuing else None)
        self.ranks = ONE_PROCESS
        if comm is not None:  # before anything one rank could refuse alone
            self.ranks = MPIRanks(comm)
            alike = _alike(hp, X, Y, sample_weight, validation, self.rng, parameters, state)
            self.ranks.agree(alike, ": every rank must fit the same network on its share")
        self.xp = training_device(hp, X)
        check_supported(hp, comm, validation is not None)
        if get_loss(hp.loss).output_range is None:  # every rank asks: a share may be empty
            extent = self.ranks.maximum(max(-float(Y.min()), float(Y.max())) if Y.size else 0.0)
            check_targets(extent, hp.dtype)
        state = TrainingState() if state is None else copy.copy(state)
        unfinished = state.unfinished
        # The validation part is drawn first: an interrupted fit's is drawn again.
        self.split_state = (
            self.rng.bit_generator.state if unfinished is None else unfinished.split_rng_state
        )
        split_rng = self.rng if unfinished is None else generator_at(self.split_state)
        self.X, self.Y, self.sample_weight, self.validation = _held_out(
            hp, X, Y, sample_weight, validation, split_rng
        )
        if not continuing:
            parameters, state = initial_parameters(hp, self.rng), TrainingState()
        if state.optimizer is None and hp.optimizer != "lbfgs":
            state.optimizer = make_optimizer(hp)
        if state.plateau is None:
            state.plateau = make_plateau(hp)
        state.generator = self.rng  # kept for the next warm start
        self.parameters, self.state, self.training = parameters, state, None

    def run(self, epochs: int | None = None, stop=None) -> History:
        """Train ``epochs`` epochs (default ``hp.epochs``): on a GPU the data move there
        once and stay for every epoch, and the parameters come back to the host at the
        end. Returns the history (an interrupted fit's goes on in the same History)."""
        hp, xp, state = self.hp, self.xp, self.state
        epochs = hp.epochs if epochs is None else epochs
        move = functools.partial(to_device, xp=xp)
        trained = self.parameters
        if xp is not np:
            trained = {k: move(v) for k, v in trained.items()}
        validation = None if self.validation is None else tuple(map(move, self.validation))
        weights = None if self.sample_weight is None else move(self.sample_weight)
        if hp.optimizer == "lbfgs":
            history = train_lbfgs(
                trained,
                move(self.X),
                move(self.Y),
                hp,
                validation=validation,
                callbacks=self.callbacks,
                sample_weight=weights,
                epochs=epochs,
                stop=stop,
            )
            state.epochs_trained += len(history)
            state.unfinished = None  # L-BFGS keeps its memory inside SciPy: it starts afresh
        else:
            state.optimizer.to_module(xp, trained)
            unfinished = state.unfinished
            self.training = Training(
                trained,
                move(self.X),
                move(self.Y),
                hp,
                rng=self.rng,
                validation=validation,
                callbacks=self.callbacks,
                sample_weight=weights,
                optimizer=state.optimizer,
                start_epoch=state.epochs_trained,
                resume=None if unfinished is None else unfinished.position,
                history=None if unfinished is None else copy.deepcopy(unfinished.history),
                x_extent=self.x_extent,
                plateau=state.plateau,
                ranks=self.ranks,
            )
            history = self.training.run(epochs, stop)
            state.epochs_trained += self.training.completed
            state.unfinished = None
            if history.stop_reason == "interrupted":
                state.unfinished = Unfinished(self.training.position, history, self.split_state)
            self.training = None
        if xp is not np:
            trained = host_copies(trained)  # read-only: see backend.Resident
        self.parameters, state.history = trained, history
        return history

    def checkpoint(self) -> tuple[dict, TrainingState]:
        """The parameters and the training state as they stand while :meth:`run` runs
        (from a callback): continuing from them gives the numbers of a fit that never
        stopped."""
        training, state = self.training, self.state
        if training is None:  # L-BFGS, or not under way
            return self.parameters, copy.copy(state)
        unfinished = Unfinished(training.position, training.history, self.split_state)
        now = TrainingState(
            optimizer=state.optimizer,
            generator=self.rng,
            epochs_trained=state.epochs_trained + training.completed,
            unfinished=unfinished,
            plateau=state.plateau,
        )
        return training.parameters, now


def _alike(hp, X, Y, sample_weight, validation, rng, parameters, state) -> dict:
    """What every MPI rank of one fit must hold alike, in the order it is compared: its
    share's n[0], n[L] and dtype, which arguments it was given, a warm start's parameters
    and how far they were trained, the hyperparameters and the generator."""
    alike = {
        "X of shape": f"({X.shape[0]}, m)",
        "Y of shape": f"({Y.shape[0]}, m)" if Y.ndim == 2 else "(m,) of class labels",
        "X of dtype": str(X.dtype),
        "sample_weight": "given" if sample_weight is not None else "none",
        "validation_data": "given" if validation is not None else "none",
        "parameters from": (
            "the seed" if state is None else f"a warm start after {state.epochs_trained} epochs"
        ),
    }
    if state is not None:
        theta = (to_numpy(parameters[k]) for k in sorted(parameters))
        alike["parameters of sha256"] = arrays_sha256(*theta)[:16]
    alike.update(hp.to_dict())
    alike["a generator of state"] = _digest(repr(rng.bit_generator.state).encode())
    return alike


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def training_device(hp: Hyperparameters, X):
    """The array module training runs on; a streamed X trains on the CPU only."""
    if hp.device != "cpu" and isinstance(getattr(X, "T", None), RowSource):
        raise ConfigurationError(
            "X streamed from .npy files trains on the CPU only: use device='cpu', or load "
            "the data into memory to train on the GPU"
        )
    return device_module(hp.device)


def _generator(hp: Hyperparameters, rng, continued: TrainingState | None):
    """The fit's generator: the one given, the previous fit's for a warm start, or a
    new one from the seed."""
    if rng is not None:
        return rng
    if continued is None:
        return np.random.default_rng(hp.seed)
    # A model loaded from a file of format 1 kept no generator: go on with one drawn
    # from (seed, epochs trained), so that the shuffles do not repeat.
    return continued.generator or np.random.default_rng([hp.seed, continued.epochs_trained])


def _held_out(hp: Hyperparameters, X, Y, sample_weight, validation, rng):
    """(X, Y, sample_weight, validation): the validation part given, or the part that
    ``validation_split`` holds out of the training examples (drawn from ``rng``)."""
    if validation is None and hp.validation_split > 0:
        keep, held = validation_indices(hp, Y, rng)
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
