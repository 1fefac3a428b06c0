"""Atomic writes: a file appears whole or not at all.

Every file ldnn writes goes through :func:`atomic_write`: the content is written to a
temporary file beside the target, flushed to disk, and renamed over the target. The
rename is atomic on POSIX and Windows, so a reader (or a crash, or Ctrl-C) sees the old
file or the new one, never half of one, and a failed write leaves the old file alone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | os.PathLike, write: Callable) -> None:
    """Call ``write(file)`` on a binary temporary file beside ``path``, then rename it to
    ``path``; if ``write`` fails the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    data = text.encode(encoding)
    atomic_write(path, lambda file: file.write(data))
