"""Where a command may write: an output never replaces an input, nor any existing file
unless it is asked to.

:func:`check_output` is the one check, called by every writer of a path a user names
(``ldnn predict -o``, ``ldnn evaluate -o``, ``ldnn export -o``, ``ldnn.onnx.export_file``)
before it does any work. A target is an input when the two paths resolve to one file
(symbolic links followed) or when they are one file under two names (a hard link: the same
``st_dev`` and ``st_ino``); a folder among the inputs (the run folder a model comes from)
stands for everything in it. The write itself goes through :func:`ldnn.io.atomic_write`,
which keeps a replaced file's permission bits.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import ConfigurationError


def check_output(
    path: str | os.PathLike,
    *,
    reading: Mapping[str | os.PathLike | None, str] | Iterable[str | os.PathLike | None] = (),
    overwrite: bool = False,
    flag: str = "-o",
) -> Path:
    """``path`` as a Path, once it is a file this command may write.

    Parameters
    ----------
    path : the file to write
    reading : the files and folders the command reads, or a mapping from each to what it
        is for the user ("the model", "DATA", "--labels"); None entries are skipped. A
        folder stands for every file in it, now or later.
    overwrite : whether an existing file that is not an input may be replaced
    flag : how the caller's user names ``path``: a flag ("-o") or an argument ("out_path")

    Raises
    ------
    ConfigurationError
        With ``field=flag``: ``path`` is an input or inside a folder being read (whatever
        ``overwrite`` says), is a folder, or exists and ``overwrite`` is False.
    """
    target = Path(path)
    named = reading.items() if isinstance(reading, Mapping) else [(r, "") for r in reading]
    named = [(Path(r), what) for r, what in named if r is not None and str(r) not in ("", "-")]
    # A file first, so that the model is named as the model, not as part of its folder.
    named.sort(key=lambda source: (_identity(source[0]) or (0, 0, False))[2])
    for source, what in named:
        clash = _clash(target, source, what or "the input")
        if clash:
            raise ConfigurationError(f"{flag} {target} {clash}: write it elsewhere", field=flag)
    if target.is_dir():
        raise ConfigurationError(f"{flag} {target} is a folder; give a file name", field=flag)
    if os.path.lexists(target) and not overwrite:
        permit = "pass --overwrite" if flag.startswith("-") else "pass overwrite=True"
        raise ConfigurationError(f"{flag} {target} exists; {permit} to replace it", field=flag)
    return target


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links
        return Path(os.path.abspath(path))


def _identity(path: Path) -> tuple[int, int, bool] | None:
    """(st_dev, st_ino, is a folder) of what ``path`` names, links followed; None if nothing."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino, stat.S_ISDIR(info.st_mode)


def _clash(target: Path, source: Path, what: str) -> str | None:
    """How writing ``target`` would replace ``source`` (or write into it), or None."""
    where, source_id = _resolved(target), _identity(source)
    if source_id is not None and source_id[2]:  # a folder: nothing inside it
        inside = where.is_relative_to(_resolved(source)) or any(
            _same(_identity(parent), source_id) for parent in where.parents
        )
        if inside:
            return f"is inside {what} {source}; outputs never go into a folder being read"
        return None
    if where == _resolved(source):
        return f"would replace {what} {source}; outputs never replace inputs"
    if _same(_identity(target), source_id):
        return f"is {what} {source} under another name (a hard link); outputs never replace inputs"
    return None


def _same(a: tuple | None, b: tuple | None) -> bool:
    """Whether two identities name one file (or folder)."""
    return a is not None and b is not None and a[:2] == b[:2]
