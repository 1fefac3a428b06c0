"""Run folders and their config.toml.

A run folder ``runs/<name>/`` is built under a temporary name beside it and renamed into
place only when everything in it is written, so a crash or Ctrl-C never leaves a
half-written run. ``config.toml`` is read with :mod:`tomllib` and written by the small
writer here, which knows the flat tables of numbers, strings, booleans and lists that a
run's configuration holds.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
import tomllib
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .errors import ConfigurationError


def _toml_value(value, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # the shortest text that reads back to the same float
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    raise ConfigurationError(f"config value {key!r} = {value!r} cannot be written as TOML")


def dumps_toml(config: dict, comment: str = "") -> str:
    """TOML text for ``{table: {key: value}}`` with plain values (None values are left out)."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for table, values in config.items():
        if lines:
            lines.append("")
        lines.append(f"[{table}]")
        for key, value in values.items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value, f'{table}.{key}')}")
    return "\n".join(lines) + "\n"


def read_config(path: str | os.PathLike) -> dict:
    """Read a config.toml; a missing or malformed file raises ConfigurationError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"config file {str(path)!r} does not exist")
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"config file {str(path)!r} is not valid TOML: {error}") from None


def default_run_name(data: str) -> str:
    """``<data>-<date>-<time>``, with the data set's name made safe for a folder."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(data).stem if "." in data else data)
    return f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


def free_path(runs_dir: Path, name: str) -> Path:
    """runs_dir / name, or name-2, name-3, ... when it is taken."""
    path, k = runs_dir / name, 2
    while path.exists():
        path, k = runs_dir / f"{name}-{k}", k + 1
    return path


@contextmanager
def run_folder(target: str | os.PathLike, *, overwrite: bool = False):
    """Yield a temporary folder; on success rename it to ``target``, on failure remove it.

    Raises
    ------
    ConfigurationError
        If ``target`` exists and ``overwrite`` is False (checked before and after).
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise ConfigurationError(
            f"run folder {str(target)!r} exists; choose another --name or pass --overwrite"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield temporary
        if target.exists():
            if not overwrite:
                raise ConfigurationError(f"run folder {str(target)!r} appeared while training")
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(temporary, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
