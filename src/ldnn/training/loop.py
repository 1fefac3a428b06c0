"""The training loop: epochs of mini-batches, a history, callbacks, early stopping and a
divergence guard. It works on a parameters dict in place and knows nothing of files.

Each epoch is the same short sequence of named steps (:meth:`Training.epoch`): the
learning rate of the epoch, a snapshot for the divergence guard, the shuffled
mini-batches, one :class:`~ldnn.training.step.TrainingStep` per batch, the epoch's record, the
early-stopping rule and the callbacks.

The loop can stop between two steps (``stop``, polled after each: a signal handler's
flag) and continue later from the :class:`LoopState` it stopped at, with the same
numbers as if it had never stopped: the state holds the epoch's shuffle (as the
generator's state when the epoch began), the sums of its batches so far, the divergence
guard's snapshot, the early-stopping bookkeeping and the running average of stochastic
weight averaging (:mod:`ldnn.training.averaging`).
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..base.backend import get_xp
from ..core.finiteness import finite_on
from ..core.hyperparameters import Hyperparameters
from ..core.losses import get_loss
from ..core.metrics import cost_and_accuracy
from ..core.optimizers import Optimizer
from ..core.propagation import resolve_activations
from ..core.schedules import Plateau, scheduled_learning_rate
from ..errors import ConfigurationError, DivergenceWarning
from .averaging import WeightAverage, swa_start_epoch
from .batches import minibatches
from .history import Callback, History, run_callbacks
from .ranks import ONE_PROCESS, Ranks
from .state import LoopState, generator_at, make_optimizer, make_plateau
from .step import TrainingStep


class DivergenceGuard:
    """Keeps theta as it was at the start of the epoch, and puts it back when the epoch
    ends with a NaN or infinite cost or parameters.

    With ``optimizer`` (on a GPU, where an epoch's steps run on before the cost is read)
    the optimizer's running averages and step count are kept and put back too."""

    def __init__(self, theta, optimizer=None):
        self.theta, self.optimizer = theta, optimizer
        self.last_good = get_xp(theta).empty_like(theta)
        self.optimizer_state = None

    def remember(self) -> None:
        get_xp(self.theta).copyto(self.last_good, self.theta)
        if self.optimizer is not None:
            vectors = self.optimizer.state_vectors()
            self.optimizer_state = (self.optimizer.t, {k: v.copy() for k, v in vectors.items()})

    def diverged(self, failed_step: int | None) -> bool:
        """Whether the epoch diverged; if so theta is restored."""
        theta = self.theta
        # min and max are NaN if any entry is NaN and +-inf if any is infinite.
        finite = math.isfinite(float(theta.min())) and math.isfinite(float(theta.max()))
        if failed_step is None and finite:
            return False
        get_xp(theta).copyto(theta, self.last_good)
        if self.optimizer_state is not None:
            t, kept = self.optimizer_state
            self.optimizer.t = t
            for kind, vector in self.optimizer.state_vectors().items():
                if kind in kept:
                    get_xp(vector).copyto(vector, kept[kind])
                else:  # made during the epoch: its first step comes again
                    vector[...] = 0
        return True


def divergence_message(epoch: int, step: int, lr: float, kept: str | None) -> str:
    """What a DivergenceWarning says: where the cost became NaN or infinite (``epoch``
    None: only the final parameters' outputs did) and which parameters were kept."""
    if kept is None:
        what = (
            "no parameters with finite outputs on the training data were found, not even "
            "the initial ones: rescale X (standardise it) or use dtype='float64'"
        )
    else:
        what = f"the parameters from {kept} were kept. Try a smaller learning_rate."
    if epoch is None:
        return (
            "the parameters training ended with give NaN or infinite outputs on the "
            f"training data; {what}"
        )
    return (
        f"the cost became NaN or infinite in epoch {epoch} (step {step}) with "
        f"learning_rate {lr:g}; training stopped and {what}"
    )


class EarlyStopping:
    """Stop once ``patience`` epochs pass without a lower validation cost, and restore
    the parameters of the epoch with the lowest one."""

    def __init__(self, patience: int, theta):
        self.patience, self.theta = patience, theta
        self.best_cost, self.best_epoch, self.best_theta = math.inf, None, None

    def should_stop(self, epoch: int, val_cost: float) -> bool:
        if val_cost < self.best_cost:
            self.best_cost, self.best_epoch = val_cost, epoch
            if self.best_theta is None:
                self.best_theta = self.theta.copy()
            else:
                get_xp(self.theta).copyto(self.best_theta, self.theta)
            return False
        return self.best_epoch is None or epoch - self.best_epoch >= self.patience

    def restore(self) -> int | None:
        """Put the best epoch's parameters back; return that epoch (None if none)."""
        if self.best_theta is not None:
            get_xp(self.theta).copyto(self.theta, self.best_theta)
        return self.best_epoch


def epoch_record(
    epoch,
    cost_sum,
    right_sum,
    m,
    lr,
    loss,
    parameters,
    validation,
    activations,
    clipped=None,
    scores=None,
):
    """The History's row for an epoch: the mean batch cost and accuracy, the learning rate,
    the steps whose gradient was clipped (None without clip_norm), and the validation
    cost and accuracy (no dropout, no L2 term, no label smoothing) when there is one,
    from ``scores`` (default :func:`ldnn.core.metrics.cost_and_accuracy`)."""
    record = {
        "epoch": epoch,
        "cost": cost_sum / m,
        "accuracy": right_sum / m if loss.output_range else None,
        "learning_rate": lr,
        "clipped": clipped,
    }
    if validation is not None:
        score = scores or (lambda p, part, g, J: cost_and_accuracy(p, *part, g, J))
        record["val_cost"], record["val_accuracy"] = score(
            parameters, validation, activations, loss
        )
    return record


class Training:
    """Gradient descent (or a variant: every optimizer but L-BFGS) on ``parameters`` in
    place, for X of shape (n[0], m) and Y of shape (n[L], m).

    Parameters
    ----------
    parameters : dict
        W1..WL, b1..bL, updated in place (they become views into one vector theta).
    X : ndarray of shape (n[0], m)
    Y : ndarray of shape (n[L], m), already prepared by the loss (one-hot, dtype), or for
        categorical cross-entropy integer class labels of shape (m,), from which each
        mini-batch's one-hot Y is made when it is needed
    hp : Hyperparameters
    rng : numpy.random.Generator
        Shuffles the mini-batches and draws the dropout masks.
    validation : (X_val, Y_val), optional
        Prepared like X and Y (Y_val of shape (n[L], m_val)); scored after every epoch.
    callbacks : sequence of Callback
    sample_weight : ndarray of shape (m,), optional
        Each mini-batch's cost is sum_i w_i L_i / sum_i w_i over its examples.
    optimizer : Optimizer, optional
        Continue with this optimizer's state (warm start); default a new one from ``hp``.
    start_epoch : int
        The number of the first epoch (a warm start continues the count and the
        learning-rate schedule).
    resume : LoopState, optional
        Continue an interrupted loop from where it stood (instead of ``start_epoch``).
    history : History, optional
        The History to append to (an interrupted loop's); default a new one.
    x_extent : float, optional
        max |x| over X, for the check that the parameters training ends with give finite
        outputs (:mod:`ldnn.core.finiteness`); default computed from X.
    plateau : Plateau, optional
        The plateau schedule's state to go on from (default: a fresh one, for
        ``lr_schedule`` "plateau").
    ranks : Ranks
        The processes training together (:mod:`ldnn.training.ranks`): with several, X, Y,
        sample_weight and validation are this rank's share of the examples they hold
        together, consecutively in rank order, and the result is that of one process
        on all of them. Default: this process alone.

    With ``hp.swa_start`` the parameters training ends with are the average of those at
    the end of each epoch from the start epoch on (:mod:`ldnn.training.averaging`); with
    validation, from that epoch on the validation cost is the average's, and early
    stopping keeps the best average.

    Attributes
    ----------
    history : History
    position : LoopState
        Where the loop stands: after :meth:`run` stopped on ``stop``, where to resume.
    completed : int
        Epochs completed by this object.
    """

    def __init__(
        self,
        parameters: dict,
        X,
        Y,
        hp: Hyperparameters,
        *,
        rng: np.random.Generator,
        validation: tuple | None = None,
        callbacks: Sequence[Callback] = (),
        sample_weight=None,
        optimizer: Optimizer | None = None,
        start_epoch: int = 0,
        resume: LoopState | None = None,
        history: History | None = None,
        x_extent: float | None = None,
        plateau: Plateau | None = None,
        ranks: Ranks = ONE_PROCESS,
    ):
        self.parameters, self.hp, self.rng, self.ranks = parameters, hp, rng, ranks
        self.Y = Y
        self.x_extent = None if x_extent is None else ranks.maximum(x_extent)
        self.validation, self.callbacks = validation, list(callbacks)
        self.activations = resolve_activations(hp.activations, hp.L)
        self.loss = get_loss(hp.loss)
        optimizer = make_optimizer(hp) if optimizer is None else optimizer
        self.step = TrainingStep(
            X, Y, self.activations, self.loss, hp, optimizer, rng, sample_weight, ranks
        )
        self.step.pack(parameters)
        xp = get_xp(self.step.theta)
        self.initial = self.step.theta.copy()  # the fall-back of the finiteness check
        # On a device the steps of an epoch run on past a NaN: the optimizer's state is
        # put back with theta.
        self.guard = DivergenceGuard(self.step.theta, optimizer if self.step.device_sums else None)
        self.stopper = None
        if hp.early_stopping is not None and validation is not None:
            self.stopper = EarlyStopping(hp.early_stopping, self.step.theta)
        self.history = History() if history is None else history
        self.history.stop_reason, self.history.stop_message = "completed", ""
        self.plateau = make_plateau(hp) if plateau is None else plateau
        if hp.lr_schedule == "plateau" and validation is None:
            raise ConfigurationError(
                "lr_schedule 'plateau' watches the validation cost: set validation_split > 0 "
                "or pass validation_data"
            )
        self.position = LoopState(start_epoch) if resume is None else copy.copy(resume)
        self.start_epoch, self.completed = self.position.epoch, 0
        self.snapshot_epoch, self.divergence = self.start_epoch, None
        if resume is not None:
            if resume.step:
                xp.copyto(self.guard.last_good, xp.asarray(resume.epoch_theta))
            if self.stopper is not None and resume.best_theta is not None:
                self.stopper.best_cost, self.stopper.best_epoch = (
                    resume.best_cost,
                    resume.best_epoch,
                )
                self.stopper.best_theta = xp.array(resume.best_theta, dtype=self.step.theta.dtype)
        self.average = _average(hp, self.step.theta, resume)

    @property
    def theta(self):
        return self.step.theta

    def run(self, epochs: int, stop: Callable[[], bool] | None = None) -> History:
        """Train ``epochs`` more epochs (an epoch under way counts as one), or until
        early stopping, a callback, divergence or ``stop`` ends it."""
        end = self.position.epoch + epochs
        # Overflow to inf/NaN is detected by the divergence guard; NumPy's own warnings
        # about it would only bury that one clear message.
        with np.errstate(over="ignore", invalid="ignore"):
            while self.position.epoch < end and self.epoch(stop):
                if stop is not None and self.position.epoch < end and self.ranks.any(stop()):
                    self.history.stop_reason = "interrupted"  # between two epochs
                    break
        if self.history.stop_reason != "interrupted":  # the state to continue from stays
            averaged = False
            if self.stopper is not None:  # its best may be an average (past the start)
                self.history.best_epoch = self.stopper.restore()
            elif self.average is not None and self.average.count:
                self.average.keep()
                averaged = True
            kept = self._keep_finite()
            if self.divergence is not None or kept != "end":
                epoch, step, lr = self.divergence or (None, None, None)
                if kept == "end" and averaged:
                    kept = f"the average of epochs {self.average.start} on"
                elif kept == "snapshot" or kept == "end":  # after a divergence "end" is it too
                    kept = self.snapshot_label
                self.history.stop_reason = "diverged"
                self.history.stop_message = divergence_message(epoch, step, lr, kept)
                # stacklevel: the warning points at the caller of DeepNetwork.fit.
                warnings.warn(self.history.stop_message, DivergenceWarning, stacklevel=4)
        return self.history

    def _keep_finite(self) -> str | None:
        """Whatever ended training, leave parameters that give finite outputs and a finite
        cost on the training data: those it ended with ("end"), else those of the start of
        the last epoch ("snapshot"), else those it started from ("the start"); None when
        none do (the initial parameters are then kept)."""
        xp, theta = get_xp(self.theta), self.theta
        X, Y = self.step.X, self.Y
        if self.x_extent is None:
            self.x_extent = self.ranks.maximum(_extent(X))
        candidates = (
            ("end", None),
            ("snapshot", self.guard.last_good),
            ("the start", self.initial),
        )
        for name, kept in candidates:
            if kept is not None:
                xp.copyto(theta, kept)
            finite = X.shape[1] == 0 or finite_on(
                self.parameters, X, Y, self.activations, self.loss, self.x_extent
            )
            if self.ranks.all(finite):  # on every rank's share
                return name
        return None

    @property
    def snapshot_label(self) -> str:
        """The parameters the divergence guard holds: those at the start of its epoch."""
        epoch = self.snapshot_epoch
        return "the start" if epoch == self.start_epoch else f"the end of epoch {epoch - 1}"

    def epoch(self, stop=None) -> bool:
        """Run (or finish) one epoch; False when training is to end here."""
        hp, pos = self.hp, self.position
        m = self.step.m
        clock = _Clock(self.ranks)
        lr = scheduled_learning_rate(
            hp.learning_rate,
            pos.epoch,
            hp.lr_schedule,
            hp.decay_rate,
            hp.time_interval,
            epochs=hp.epochs,
            warmup_epochs=hp.warmup_epochs,
            min_learning_rate=hp.min_learning_rate,
            plateau=self.plateau,
        )
        self.snapshot_epoch = pos.epoch
        if pos.step == 0:
            self.guard.remember()
            pos.epoch_rng_state = self.rng.bit_generator.state  # a fresh dict
            batches = minibatches(m, hp.batch_size, self.rng, hp.shuffle_window)
        else:  # the interrupted epoch's own shuffle, drawn again
            rng = generator_at(pos.epoch_rng_state)
            batches = minibatches(m, hp.batch_size, rng, hp.shuffle_window)
        cost_sum, right_sum, clipped, failed, done = self.step.epoch(
            self.parameters,
            batches,
            lr,
            start=pos.step,
            sums=(pos.cost_sum, pos.right_sum, pos.clipped),
            stop=stop,
        )
        if self.guard.diverged(failed):  # theta is back at the epoch's start
            self.divergence = (pos.epoch, len(batches) - 1 if failed is None else failed, lr)
            self.history.stop_reason = "diverged"
            return False
        if done < len(batches):  # stopped between two steps
            pos.step, pos.cost_sum, pos.right_sum, pos.clipped = done, cost_sum, right_sum, clipped
            pos.epoch_theta = self.guard.last_good
            self.history.stop_reason = "interrupted"
            return False
        # The epoch's end is one of the average's points; with validation, the average is
        # what is scored and what early stopping keeps (theta's own values come back
        # before the callbacks and the next epoch's steps).
        averaging = self.average is not None and self.average.averages(pos.epoch)
        if averaging:
            self.average.add()
            if self.validation is not None:
                self.average.put_in()
        record = epoch_record(
            pos.epoch,
            cost_sum,
            right_sum,
            m,
            lr,
            self.loss,
            self.parameters,
            self.validation,
            self.activations,
            clipped if hp.clip_norm else None,
            scores=self.step.scores,
        )
        clock.read_into(record)
        self.history.append(record)
        if self.plateau is not None:
            self.plateau.observe(record["val_cost"])
        self.completed += 1
        early = self.stopper is not None and self.stopper.should_stop(pos.epoch, record["val_cost"])
        if averaging and self.validation is not None:
            self.average.take_out()
        self.position = self._boundary(pos.epoch + 1)
        # From the average's start on, callbacks (a test part's curve, checkpoints'
        # readers, trackers) see the model the fit would end with: the average.
        shown = self.average.views(self.parameters) if averaging else self.parameters
        if self.ranks.any(run_callbacks(self.callbacks, record["epoch"], record, shown)):
            self.history.stop_reason = "callback"
            return False
        if early:
            self.history.stop_reason = "early stopping"
            return False
        return True

    def _boundary(self, epoch: int) -> LoopState:
        """The state between two epochs: only early stopping's bookkeeping and the
        running average go across."""
        state = LoopState(epoch)
        if self.stopper is not None:
            stopper = self.stopper
            state.best_cost, state.best_epoch = stopper.best_cost, stopper.best_epoch
            state.best_theta = stopper.best_theta
        if self.average is not None and self.average.count:
            state.swa_mean, state.swa_count = self.average.mean, self.average.count
        return state


class _Clock:
    """On MPI ranks, an epoch's seconds and those its steps spent waiting for their
    reductions: the callbacks' record gets them as ``seconds`` and ``reduce_seconds``
    (ldnn train prints them; the History keeps neither, so that P ranks' equals one
    process's)."""

    def __init__(self, ranks):
        self.waited = getattr(ranks, "seconds_waiting", None)
        if self.waited is not None:
            self.start, self.waiting = time.perf_counter(), self.waited()

    def read_into(self, record: dict) -> None:
        if self.waited is not None:
            record["seconds"] = time.perf_counter() - self.start
            record["reduce_seconds"] = self.waited() - self.waiting


def _average(hp: Hyperparameters, theta, resume: LoopState | None) -> WeightAverage | None:
    """The running average of ``hp.swa_start`` (None: off), an interrupted loop's when
    it is resumed.

    Raises
    ------
    ConfigurationError
        When ``resume`` stands past epochs the average took in but holds no average (a
        model file that did not save it): going on would average the rest only.
    """
    start = swa_start_epoch(hp)
    if start is None:
        return None
    if resume is None or resume.swa_mean is None:
        if resume is not None and resume.epoch > start:
            raise ConfigurationError(
                f"swa_start: the state to resume from (epoch {resume.epoch}) holds no "
                f"average of epochs {start} to {resume.epoch - 1}: it cannot go on to the "
                "numbers of an uninterrupted fit; train again from the start",
                field="swa_start",
            )
        return WeightAverage(theta, start)
    return WeightAverage(theta, start, resume.swa_mean, resume.swa_count)


def _extent(X) -> float:
    """max |x| over X (0 for no examples)."""
    return max(abs(float(X.min())), abs(float(X.max()))) if X.size else 0.0
