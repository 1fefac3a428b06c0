"""What the training thread hands the page: the latest frame (:class:`Board`, which the
server's /events readers wait on) and the curves of costs a frame draws
(:class:`Curves`, a training callback)."""

from __future__ import annotations

import threading
import time

from ..runs.run_callbacks import WatchTestCost

#: The most test-part costs measured a second while training runs (see :class:`Curves`).
TEST_RATE = 60


class Board:
    """The latest frame (JSON bytes) and its number; readers wait for a newer one."""

    def __init__(self):
        self.changed = threading.Condition()
        self.number, self.frame = 0, b"{}"
        self.watchers = 0  # pages reading /events now

    def watch(self, joining: bool) -> None:
        """A page starts (or stops) reading the frames."""
        with self.changed:
            self.watchers += 1 if joining else -1

    def publish(self, frame: bytes) -> None:
        with self.changed:
            self.number, self.frame = self.number + 1, frame
            self.changed.notify_all()

    def after(self, number: int, timeout: float) -> tuple[int, bytes | None]:
        """(number, frame) of a frame newer than ``number`` (None after ``timeout``)."""
        with self.changed:
            self.changed.wait_for(lambda: self.number > number, timeout)
            return (self.number, self.frame) if self.number > number else (number, None)


class Curves:
    """Callback: the training cost of each epoch, the validation part's (None without
    one) and the test part's cost after it, and the epoch's learning rate.

    The test part's cost is a forward pass over it: measured every epoch, it would cost a
    small network's fast epochs a tenth of their time. It is measured at most
    :data:`TEST_RATE` times a second (every epoch when epochs are slower), an epoch in
    between holding the last one measured, and again for the newest epoch whenever a
    frame is made (:meth:`measure_last`): what the page draws at its frame rate is exact.
    """

    def __init__(self, watch: WatchTestCost | None):
        self.watch, self.epoch, self.train, self.test = watch, [], [], []
        self.validation, self.rate = [], None
        self.measured, self.parameters, self.fresh = 0.0, None, False

    def __call__(self, epoch: int, record: dict, parameters: dict) -> None:
        test = self.test[-1] if self.test else None
        now = time.monotonic()
        if self.watch is not None and (test is None or now - self.measured >= 1 / TEST_RATE):
            self.watch(epoch, record, parameters)
            test, self.measured = self.watch.costs[-1], now
        self.epoch.append(epoch)
        self.train.append(record["cost"])
        self.validation.append(record.get("val_cost"))
        self.test.append(test)
        self.rate = record["learning_rate"]
        self.parameters, self.fresh = parameters, test is not None and now == self.measured

    def measure_last(self) -> None:
        """The newest epoch's test cost, measured now if it holds an earlier one."""
        if self.watch is not None and self.test and not self.fresh:
            self.watch(self.epoch[-1], {}, self.parameters)
            self.test[-1], self.fresh = self.watch.costs[-1], True
