"""One run at a time, trained in a thread of its own beside the server: the parity and
hierarchy pages' runs (never in a request handler; a new run stops the last)."""

from __future__ import annotations

import threading


class BackgroundRun:
    """A page's run: its ``run`` settings, a lock over what the thread publishes, and the
    thread, stopped by its ``stopping`` event."""

    def __init__(self):
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.run: dict | None = None

    def begin(self, name: str, target, args: tuple, **state) -> None:
        """Stop the run there is, set ``state`` (attributes, ``run`` among them) and a
        fresh stop flag under the lock, and start ``target(*args, stopping)``."""
        self.stop()
        stopping = threading.Event()
        with self.lock:
            self.__dict__.update(state)
            self.stopping = stopping
        self.thread = threading.Thread(
            target=target, args=(*args, stopping), name=name, daemon=True
        )
        self.thread.start()

    def running(self) -> bool:
        thread = self.thread
        return thread is not None and thread.is_alive()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None

    close = stop
