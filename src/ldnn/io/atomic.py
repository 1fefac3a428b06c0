"""Atomic writes: a file appears whole or not at all.

Every file ldnn writes goes through :func:`atomic_write`: the content is written to a
temporary file beside the target (``.<name>.<random>.tmp``), flushed to disk, and
renamed over the target. The rename is atomic on POSIX and Windows, so a reader (or a
crash, or Ctrl-C) sees the old file or the new one, never half of one, and a failed
write leaves the old file alone. A new file gets the mode open() would give it (0666 less
the umask); a file replaced keeps its permission bits (a 0600 file stays 0600). A symbolic
link at the target is replaced by the file, never written through. Whether a file may be
written at all (it is not an input, it may be replaced) is :func:`ldnn.io.check_output`'s
question, asked before.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask (reading it means setting it: done under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _mode(path: Path) -> int:
    """The permission bits of the file written at ``path``: those of the regular file
    there, kept; else what open() gives a new file, 0666 less the umask."""
    try:
        info = os.lstat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        return stat.S_IMODE(info.st_mode) & 0o777
    return 0o666 & ~_umask()


def atomic_write(path: str | os.PathLike, write: Callable) -> None:
    """Call ``write(file)`` on a binary temporary file beside ``path``, then rename it to
    ``path``; if ``write`` fails the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file to write", str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:  # name the file asked for, not a temporary one
        raise type(error)(error.errno, f"cannot write here: {error.strerror}", str(path)) from None
    try:
        # mkstemp makes the file 0600; a file ldnn writes gets the mode of the file it
        # replaces, or the usual mode, as open() would give it: 0666 less the umask.
        os.chmod(temporary, _mode(path))
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
