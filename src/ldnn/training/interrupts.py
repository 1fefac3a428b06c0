"""Stopping training on a signal, between two steps, so that it can continue exactly.

A signal arrives at any moment, perhaps in the middle of an update of theta; raising
KeyboardInterrupt there would leave half-updated parameters. :class:`StopOnSignals`
instead only raises a flag, which training polls after every step (``fit(stop=...)``)::

    with StopOnSignals() as stop:
        history = network.fit(X, Y, stop=stop)   # Ctrl-C: history.stop_reason "interrupted"
    network.save("checkpoint.npz")             # continue later with a warm start

A second signal while the first is being honoured stops at once (KeyboardInterrupt).
"""

from __future__ import annotations

import signal
import sys
import threading


class StopOnSignals:
    """Within ``with``: SIGINT (Ctrl-C) and SIGTERM raise the flag that calling this
    object reads. Outside the main thread, where Python cannot install handlers, it
    installs none and the flag stays down.

    Parameters
    ----------
    say : callable, optional
        Called with one line when the first signal arrives (default: print to stderr).
    """

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, say=None):
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.received: int | None = None
        self._previous: dict = {}

    def __call__(self) -> bool:
        return self.received is not None

    @property
    def name(self) -> str:
        return "" if self.received is None else signal.Signals(self.received).name

    def _handle(self, signum, frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum
        self.say(
            f"ldnn: {signal.Signals(signum).name}: stopping after the current step "
            "(send it again to stop at once)"
        )

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
