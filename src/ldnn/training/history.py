"""What training records: one record per epoch in a :class:`History`, the callback
contract, and the callback that prints the cost as the course does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: A callback gets (epoch, record, parameters) after each epoch; returning True stops.
Callback = Callable[[int, dict, dict], bool | None]


@dataclass
class History:
    """Per-epoch record of training.

    Attributes
    ----------
    epoch, cost, accuracy, val_cost, val_accuracy, learning_rate, clipped : lists
        One entry per completed epoch. ``cost`` is the regularised training cost J
        (mean over the epoch's mini-batches, weighted by their sizes; with full-batch
        gradient descent, J before that iteration's update, as the course prints it;
        with label smoothing, against the smoothed targets). Accuracies are None for
        regression; validation entries None without validation. ``clipped`` counts the
        epoch's steps whose gradient ``clip_norm`` shortened (None without clipping).
        With stochastic weight averaging (``swa_start``), from its start epoch on the
        validation entries are those of the average, the model training hands back.
    stop_reason : str
        "completed", "early stopping", "diverged" or "callback".
    stop_message : str
        Why training diverged, when it did.
    best_epoch : int or None
        With early stopping, the epoch whose parameters were restored.
    """

    epoch: list = field(default_factory=list)
    cost: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_cost: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    learning_rate: list = field(default_factory=list)
    clipped: list = field(default_factory=list)
    stop_reason: str = "completed"
    stop_message: str = ""
    best_epoch: int | None = None

    COLUMNS = ("epoch", "cost", "accuracy", "val_cost", "val_accuracy", "learning_rate", "clipped")

    def append(self, record: dict) -> None:
        for name in self.COLUMNS:
            getattr(self, name).append(record.get(name))

    def rows(self) -> list[dict]:
        return [
            dict(zip(self.COLUMNS, values, strict=True))
            for values in zip(*self.columns(), strict=True)
        ]

    def columns(self) -> list[list]:
        return [getattr(self, name) for name in self.COLUMNS]

    def __len__(self) -> int:
        return len(self.epoch)


def run_callbacks(callbacks, epoch: int, record: dict, parameters: dict) -> bool:
    """Call every callback (all of them, even after one asks to stop); True if one did."""
    return any([callback(epoch, record, parameters) for callback in callbacks])


class PrintCost:
    """Callback printing the cost every ``every`` epochs and after the last one.

    Parameters
    ----------
    every : int
    total : int, optional
        The number of epochs, so that the last one is printed too.
    print_fn : callable
        Where the line goes (``print``, or a progress bar's ``write``).
    course : bool
        Print the course's line, ``Cost after iteration i: J`` with J in full, as
        ``L_layer_model(..., print_cost=True)`` does; otherwise
        ``Cost after epoch i: J`` to six decimals, with the validation cost if any.
    """

    def __init__(self, every: int = 100, total: int | None = None, print_fn=print, course=False):
        self.every, self.total, self.print_fn, self.course = every, total, print_fn, course

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        last = self.total is not None and epoch == self.total - 1
        if not (epoch % self.every == 0 or last):
            return
        if self.course:
            self.print_fn(f"Cost after iteration {epoch}: {record['cost']}")
            return
        line = f"Cost after epoch {epoch}: {record['cost']:.6f}"
        if record.get("val_cost") is not None:
            line += f"  (validation {record['val_cost']:.6f})"
        self.print_fn(line)
