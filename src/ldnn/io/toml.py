"""config.toml files: read with :mod:`tomllib`, written by the small writer here, which
knows the tables of numbers, strings, booleans, lists and inline tables that a
configuration holds."""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path

from ..errors import ConfigurationError


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
    if isinstance(value, dict):  # an inline table; every key quoted, as TOML allows
        items = (f"{_toml_value(str(k), key)} = {_toml_value(v, key)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
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


def read_toml(path: str | os.PathLike, what: str = "config file") -> dict:
    """Read a TOML file; a missing or malformed file raises ConfigurationError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"{what} {str(path)!r} does not exist")
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{what} {str(path)!r} is not valid TOML: {error}") from None
