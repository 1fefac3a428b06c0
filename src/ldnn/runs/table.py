"""The runs of a runs folder side by side: one row per run, from the files each wrote
(metrics.json, config.toml, provenance.json and its marker), for ``ldnn runs``."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from ..errors import ConfigurationError
from ..io import read_toml
from .folders import read_marker

#: The table's columns, in order.
COLUMNS = (
    "name",
    "status",
    "data",
    "layer_dims",
    "optimizer",
    "epochs",
    "stop",
    "val",
    "test",
    "seconds",
    "date",
)


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _toml(path: Path) -> dict:
    try:
        return read_toml(path)
    except Exception:  # a damaged config.toml: the row shows what the other files say
        return {}


def _score(part: dict | None) -> float | None:
    """A part's headline score: accuracy for classification, R^2 for regression."""
    if not isinstance(part, dict):
        return None
    value = part.get("accuracy", part.get("r2"))
    return value if isinstance(value, int | float) else None


def run_row(folder: Path) -> dict | None:
    """The row of run folder ``folder``, or None when it is not a run of ``ldnn train``."""
    marker = read_marker(folder)
    if marker is None and not (folder / "metrics.json").is_file():
        return None
    if marker is not None and marker.get("kind", "train") != "train":
        return None
    metrics, provenance = _json(folder / "metrics.json"), _json(folder / "provenance.json")
    config = _toml(folder / "config.toml")
    training = config.get("training", {})
    data = provenance.get("data", {}).get("source") or config.get("data", {}).get("source", "")
    validation = metrics.get("validation") or {}
    val = validation.get("accuracy")
    val = validation.get("cost") if val is None else val
    started = provenance.get("started")
    if not started:
        stamp = (folder / "metrics.json") if (folder / "metrics.json").exists() else folder
        when = datetime.datetime.fromtimestamp(stamp.stat().st_mtime, datetime.UTC)
        started = when.isoformat(timespec="milliseconds")  # UTC, as provenance.json has it
    epochs = metrics.get("epochs_run")
    return {
        "name": folder.name,
        "status": (marker or {}).get("status", "complete" if metrics else "unknown"),
        "data": Path(data).name if data else "",
        "layer_dims": metrics.get("layer_dims") or config.get("model", {}).get("layers"),
        "optimizer": training.get("optimizer", ""),
        "epochs": epochs if epochs is not None else training.get("epochs"),
        "stop": metrics.get("stop_reason", ""),
        "val": val,
        "test": _score(metrics.get("test")),
        "seconds": metrics.get("train_seconds"),
        "date": started,
    }


def run_rows(runs_dir) -> list[dict]:
    """Every run in ``runs_dir``, by name (folders of ``ldnn tune`` and ``ldnn experiment``
    and anything else are left out)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise ConfigurationError(f"runs folder {str(runs_dir)!r} does not exist")
    rows = (run_row(p) for p in sorted(runs_dir.iterdir()) if p.is_dir() and p.name[0] != ".")
    return [row for row in rows if row is not None]


def sort_rows(rows: list[dict], column: str, descending: bool = False) -> list[dict]:
    """The rows ordered by ``column``; empty cells last whichever the order."""
    if column not in COLUMNS:
        raise ConfigurationError(f"--sort must be one of {', '.join(COLUMNS)}, got {column!r}")
    present = [r for r in rows if r[column] is not None and r[column] != ""]
    missing = [r for r in rows if r[column] is None or r[column] == ""]
    key = (lambda r: r[column]) if column != "layer_dims" else (lambda r: list(r[column]))
    return sorted(present, key=key, reverse=descending) + missing


def run_details(runs_dir, name: str) -> dict:
    """Everything run ``name`` recorded: its row, metrics, configuration and provenance."""
    folder = Path(runs_dir) / name
    row = run_row(folder) if folder.is_dir() else None
    if row is None:
        known = ", ".join(r["name"] for r in run_rows(runs_dir)) or "none"
        raise ConfigurationError(f"no run {name!r} in {runs_dir} (runs: {known})")
    return {
        "row": row,
        "metrics": _json(folder / "metrics.json"),
        "config": _toml(folder / "config.toml"),
        "provenance": _json(folder / "provenance.json"),
        "files": sorted(p.name for p in folder.iterdir() if p.is_file() and p.name[0] != "."),
    }
