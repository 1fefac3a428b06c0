"""How much a table may ask of ldnn, said before ldnn allocates for it.

What a file declares is a claim, not a fact: a 2 MB Parquet file can declare gigabytes of
columns, a 3 MB CSV 100,000 categories (100,000 columns of W[1]), a header
100,000 columns, a model file or a config.toml 40,000 markers of a missing value
(pyarrow's CSV reader crashes at 32,767). Each limit has a default, a ``[data]`` key of
the same name and a flag (``max_memory``: ``--max-memory``) that raises it; an error
names the file, the column, the limit and the flag, in one line.

===============  =========  ===================================================
[data] key       default    what it bounds
===============  =========  ===================================================
max_na_values    1,000      markers of a missing value (at most 10,000)
max_columns      50,000     columns of a table
max_categories   1,000      categories of one text column (a column of W[1] each)
max_cell_bytes   1 MiB      bytes of one cell or column name
max_memory       8 GiB      memory to read a table, and to hold its X
===============  =========  ===================================================

A model remembers the limits it was trained with (beside how its file was read), and
reads its data within them unless told otherwise.
"""

from __future__ import annotations

import os
import re
import resource
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from ..errors import ConfigurationError, DataFileError


@dataclass(frozen=True)
class Limit:
    """One limit: its default, what it bounds, a ceiling no setting may pass, and whether
    it is a size in bytes (written with a unit: 512M, 8G)."""

    default: int
    what: str
    ceiling: int | None = None
    size: bool = False


#: The limits, by their [data] key. Why these defaults: 1,000 markers is far more than a
#: file needs and far below the 32,767 that crash pyarrow (the ceiling keeps a setting
#: there too); 50,000 columns hold gene-expression tables, and take seconds; a column
#: of more than 1,000 categories is an ID or free text more often than a feature (the
#: one-hot is never written out, :mod:`ldnn.data.compact`, but each is a column of W[1]);
#: a cell of 1 MiB is a document, not a value; 8 GiB is what a laptop can give.
LIMITS = {
    "max_na_values": Limit(1_000, "markers of a missing value", ceiling=10_000),
    "max_columns": Limit(50_000, "columns"),
    "max_categories": Limit(1_000, "categories"),
    "max_cell_bytes": Limit(1 << 20, "bytes in a cell", ceiling=(1 << 31) - 1, size=True),
    "max_memory": Limit(8 << 30, "bytes of memory", size=True),
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def flag(key: str) -> str:
    """The command line's flag of a [data] key: max_memory -> --max-memory."""
    return "--" + key.replace("_", "-")


def raised_by(key: str) -> str:
    """What a message says raises a limit."""
    return f"{flag(key)}, or [data] {key}, raises it"


def parse_size(value) -> int | None:
    """A size in bytes: a whole number, or text with a binary unit ("512M", "8GiB",
    "1.5g"); None if ``value`` is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match:
        return None
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024**power)


def format_size(n: float) -> str:
    """1073741824 -> "1 GiB"; 3355443200 -> "3.1 GiB"."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f}".removesuffix(".0") + f" {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Limits:
    """The limits a table is read and encoded within (defaults: :data:`LIMITS`)."""

    max_na_values: int = LIMITS["max_na_values"].default
    max_columns: int = LIMITS["max_columns"].default
    max_categories: int = LIMITS["max_categories"].default
    max_cell_bytes: int = LIMITS["max_cell_bytes"].default
    max_memory: int = LIMITS["max_memory"].default

    @classmethod
    def of(cls, settings: dict | None = None, origin: str = "") -> Limits:
        """The limits ``settings`` (a [data] table, or a model's ``read``) set, the
        defaults for those it leaves out (None or absent), each checked.

        Raises
        ------
        ConfigurationError
            Naming the flag and the [data] key (or ``origin.key``), for a value that is
            not a whole number >= 1 (a size, for sizes) or is over its ceiling.
        """
        values = {}
        for key, limit in LIMITS.items():
            given = (settings or {}).get(key)
            if given is None:
                values[key] = limit.default
                continue
            value = parse_size(given) if limit.size else given
            name = f"{origin}.{key}" if origin else f"{flag(key)} ([data] {key})"
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                expected = "a size such as 512M or 8G" if limit.size else "a whole number >= 1"
                raise ConfigurationError(
                    f"{name} must be {expected}, got {str(given)[:40]!r}", field=key
                )
            if limit.ceiling is not None and value > limit.ceiling:
                raise ConfigurationError(
                    f"{name} must be at most {limit.ceiling:,}, got {value:,}", field=key
                )
            values[key] = value
        return cls(**values)

    def settings(self) -> dict:
        """The limits as a [data] table (what a model remembers)."""
        return asdict(self)

    def over(self, key: str, also: str = "") -> str:
        """ "over the limit of 1,000 (--max-categories, or [data] max_categories, raises
        it; ``also``)"."""
        value = getattr(self, key)
        shown = format_size(value) if LIMITS[key].size else f"{value:,}"
        return f"over the limit of {shown} ({raised_by(key)}{'; ' + also if also else ''})"

    def check_count(self, key: str, count: int, what: str, also: str = "") -> None:
        """Refuse ``count`` over the limit ``key``: "{what} {count:,} ..., over the limit"."""
        if count > getattr(self, key):
            raise DataFileError(f"{what} {count:,} {LIMITS[key].what}, {self.over(key, also)}")

    def check_memory(self, need: int, what: str) -> None:
        """Refuse ``need`` bytes over max_memory: "{what} about 3.1 GiB ..., over ..."."""
        if need > self.max_memory:
            raise DataFileError(
                f"{what} about {format_size(need)} of memory, {self.over('max_memory')}"
            )

    def check_na_values(self, na_values, where: str) -> None:
        """Refuse more markers of a missing value than max_na_values, or one longer than
        max_cell_bytes, before pyarrow is handed them (``where``: "x.csv: --na-values")."""
        self.check_count("max_na_values", len(na_values), f"{where} holds")
        longest = max((len(m.encode("utf-8", "replace")) for m in na_values), default=0)
        if longest > self.max_cell_bytes:
            raise DataFileError(
                f"{where} holds a marker of {longest:,} bytes, {self.over('max_cell_bytes')}"
            )


def shown(value, width: int = 40) -> str:
    """A name or a cell as a message quotes it: its repr (a line break shows as \\n, so
    the message stays one line), cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


def shown_names(names, count: int = 8) -> str:
    """The first ``count`` names, quoted, and how many there are in all."""
    names = list(names)
    listed = ", ".join(shown(n) for n in names[:count])
    return listed + (f", ... ({len(names):,} in all)" if len(names) > count else "")


@contextmanager
def memory_named(source: str):
    """A MemoryError while ``source`` is read or prepared becomes an error of one line
    naming it and the limit: the estimates before reading are estimates, and the process
    may have less memory than its limit (``ulimit -v``, a container)."""
    try:
        yield
    except MemoryError:
        raise DataFileError(
            f"{source}: ran out of memory while reading or preparing it (this process has "
            "less than the limit; a lower --max-memory, or [data] max_memory, refuses such a "
            "table before reading it)"
        ) from None


def available_memory() -> int:
    """About the bytes of memory this process may still take: the least of the system's
    available memory (``MemAvailable``), its cgroup's room (``memory.max`` less
    ``memory.current``) and its address space's room (``ulimit -v`` less its size)."""
    room = [_meminfo("/proc/meminfo", "MemAvailable:")]
    limit, used = _number("/sys/fs/cgroup/memory.max"), _number("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        room.append(max(limit - used, 0))
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    size = _meminfo("/proc/self/status", "VmSize:")
    if soft != resource.RLIM_INFINITY and size is not None:
        room.append(max(soft - size, 0))
    room = [r for r in room if r is not None]
    if not room:  # no /proc: the free pages
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return min(room)


def _meminfo(path: str, key: str) -> int | None:
    """A "key: N kB" line of a /proc file, in bytes."""
    try:
        with open(path) as file:
            for line in file:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _number(path: str) -> int | None:
    """A file holding one whole number ("max" or missing: None)."""
    try:
        with open(path) as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return None
