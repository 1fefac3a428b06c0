"""Stochastic weight averaging (SWA; Izmailov et al. 2018): from a start epoch on, the
model is the running mean of the parameters theta = (W1, b1, ..., WL, bL) at the end of
each epoch,

    theta_swa <- (n theta_swa + theta) / (n + 1),    n = the epochs averaged so far,

while the optimizer goes on stepping theta itself. The mean of points that gradient
descent visits around a wide minimum lies nearer its centre than any one of them, where
the test cost tends to be lower (the paper's argument); here it is measured on the
tables of benchmarks/tables.py (docs/recipes.md, "Stochastic weight averaging").

With a validation part the loop scores the average, not theta, from the start epoch on:
early stopping then keeps and restores the best average (or the best plain epoch before
the start, if no average beats it). The average is the same on every MPI rank, as theta
is, so it needs no reduce.
"""

from __future__ import annotations

import math

from ..base.backend import get_xp
from ..core.flat import split_views
from ..core.hyperparameters import Hyperparameters

#: swa_start "auto" (ldnn train's default for tables, the estimators' default): the
#: average starts at this epoch when early stopping watches a validation part, no layer is
#: batch-normalised and the fit has more epochs than this; otherwise no averaging.
#: Measured on benchmarks/tables.py (docs/recipes.md, "Stochastic weight averaging").
AUTO_SWA_START = 1


def swa_start_epoch(hp: Hyperparameters) -> int | None:
    """The first epoch averaged (epochs count from 0, warm starts going on counting):
    ``swa_start`` itself when it is a whole epoch >= 1, that fraction of ``epochs``
    (rounded down) when below 1; None when SWA is off (``swa_start`` 0)."""
    s = hp.swa_start
    if not s:
        return None
    return int(s) if s >= 1 else math.floor(s * hp.epochs)


class WeightAverage:
    """The running mean theta_swa of the parameter vector ``theta`` (one flat array of
    all W[l], b[l], on the host or a device) over the epochs averaged so far.

    Parameters
    ----------
    theta : array of shape (n_parameters,)
        The parameters training updates in place.
    start : int
        The first epoch averaged.
    mean : array of shape (n_parameters,), optional
        An interrupted fit's average, to go on from (with ``count``).
    count : int
        n, the epochs that ``mean`` averages.
    """

    def __init__(self, theta, start: int, mean=None, count: int = 0):
        xp = get_xp(theta)
        self.theta, self.start, self.count = theta, start, count
        self.mean = xp.zeros_like(theta) if mean is None else xp.array(mean, dtype=theta.dtype)
        self.kept = None  # theta's own values while the average stands in for them
        self._views = None

    def views(self, parameters: dict) -> dict:
        """The average as a parameters dict: {name: view of theta_swa} shaped as
        ``parameters``' arrays (views into theta, in theta's order), for what watches a
        fit (callbacks) to see the model it would end with."""
        if self._views is None:
            self._views = split_views(self.mean, {k: v.shape for k, v in parameters.items()})
        return self._views

    def averages(self, epoch: int) -> bool:
        """Whether ``epoch`` is one the average takes in."""
        return epoch >= self.start

    def add(self) -> None:
        """Take theta as it stands (the end of an epoch) into the mean."""
        n = self.count
        # (n theta_swa + theta) / (n + 1), in place: no vector of temporaries per epoch
        self.mean *= n
        self.mean += self.theta
        self.mean /= n + 1
        self.count = n + 1

    def put_in(self) -> None:
        """Let the average stand in theta's place (theta's values are kept aside)."""
        xp = get_xp(self.theta)
        if self.kept is None:  # only a fit with validation scores the average
            self.kept = xp.empty_like(self.theta)
        xp.copyto(self.kept, self.theta)
        xp.copyto(self.theta, self.mean)

    def take_out(self) -> None:
        """Put theta's own values back after :meth:`put_in`."""
        get_xp(self.theta).copyto(self.theta, self.kept)

    def keep(self) -> None:
        """Make the average the parameters, for good (the end of training)."""
        get_xp(self.theta).copyto(self.theta, self.mean)
