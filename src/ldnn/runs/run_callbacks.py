"""The callbacks of a run's training: the test part's cost after every epoch (for the
learning curve), and the checkpoints."""

from __future__ import annotations

import time
from pathlib import Path

from ..base.backend import get_xp, to_device
from ..core.losses import get_loss
from ..core.metrics import cost_and_accuracy
from ..data.shared_stats import summed

#: By default a running run writes a checkpoint at the end of an epoch once this many
#: seconds have passed since the last one, so that a long run always has a recent one.
CHECKPOINT_SECONDS = 120.0


class WatchTestCost:
    """Callback recording the test part's cost after every epoch, for the learning curve
    only: nothing is decided on it. The test data are prepared once, and moved once to
    the device the parameters live on; ``costs`` goes on from a resumed run's."""

    def __init__(self, network, X_test, Y_test, costs=(), ranks=None):
        hp = network.hyperparameters
        self.data = network.check_data(X_test, Y_test, "X_test", "Y_test", empty=True)
        self.activations, self.loss = hp.activations, get_loss(hp.loss)
        self.costs: list[float] = list(costs)
        # Where MPI ranks hold the test part together, each adds its examples' costs.
        self.ranks, self.m = ranks, X_test.shape[1]

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        xp = get_xp(parameters["W1"])
        self.data = tuple(to_device(a, xp) for a in self.data)
        cost = 0.0
        if self.m:
            cost = float(cost_and_accuracy(parameters, *self.data, self.activations, self.loss)[0])
        if self.ranks is not None:  # (1/m) sum of the costs: each rank's sum, added up
            cost = summed(self.ranks, cost * self.m) / summed(self.ranks, self.m)
        self.costs.append(cost)


class Checkpoints:
    """Callback writing the run's checkpoint at the end of every ``every_epochs``-th
    epoch, and at the end of any epoch ``every_seconds`` after the last checkpoint
    (either may be 0: not by that rule)."""

    def __init__(self, run, path, every_epochs: int = 0, every_seconds: float = CHECKPOINT_SECONDS):
        self.run, self.path = run, Path(path)
        self.every_epochs, self.every_seconds = every_epochs, every_seconds
        self.last = time.monotonic()

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        by_epochs = self.every_epochs and (epoch + 1) % self.every_epochs == 0
        by_time = self.every_seconds and time.monotonic() - self.last >= self.every_seconds
        if by_epochs or by_time:
            self.run.save_checkpoint(self.path)
            self.last = time.monotonic()
