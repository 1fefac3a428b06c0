"""Watching training: a progress bar over epochs.

The bar is a training callback ``(epoch, record, parameters) -> None`` (tqdm) showing the
cost, the validation cost and accuracy, and the time left; it goes to stderr, so
redirected output stays clean. Without tqdm installed there is no bar.
"""

from __future__ import annotations

import sys

from ..io.tables import printable


class ProgressBar:
    """A tqdm bar advanced once per epoch; call :meth:`close` when training ends."""

    def __init__(self, total: int, description: str = "training", file=None, initial: int = 0):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.bar = None
            return
        self.bar = tqdm(
            total=total,
            initial=initial,
            desc=printable(description),  # a data set's name may come from a file
            unit="epoch",
            file=file or sys.stderr,
            dynamic_ncols=True,
            leave=True,
        )

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        if self.bar is None:
            return
        postfix = {"cost": f"{record['cost']:.4f}"}
        if record.get("val_cost") is not None:
            postfix["val_cost"] = f"{record['val_cost']:.4f}"
        if record.get("val_accuracy") is not None:
            postfix["val_acc"] = f"{record['val_accuracy']:.3f}"
        elif record.get("accuracy") is not None:
            postfix["acc"] = f"{record['accuracy']:.3f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def write(self, text: str) -> None:
        """Print a line above the bar without breaking it."""
        if self.bar is None:
            print(text)
        else:
            self.bar.write(text, file=sys.stdout)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class ReductionTimes:
    """A callback printing, on MPI ranks, each epoch's seconds split into this rank's
    compute and its waiting for the reductions (the record's ``seconds`` and
    ``reduce_seconds``; see :class:`ldnn.training.mpi.MPIRanks`)."""

    def __init__(self, print_fn=print):
        self.print_fn = print_fn

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        seconds, waiting = record.get("seconds"), record.get("reduce_seconds")
        if seconds is None or waiting is None:
            return
        share = waiting / seconds if seconds > 0 else 0.0
        self.print_fn(
            f"epoch {epoch}: {seconds:.3f} s, compute {seconds - waiting:.3f} s, waiting for "
            f"the reduction {waiting:.3f} s ({share:.0%})"
        )
