"""``ldnn runs [DIR]`` and ``ldnn runs show NAME``: the runs side by side, or one whole."""

from __future__ import annotations

import json

from ..errors import ConfigurationError
from ..io import text_table
from ..runs.table import COLUMNS, run_details, run_rows, sort_rows


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "runs",
        help="the runs of a runs folder side by side",
        description="One row per run of DIR (default runs): name, status, data, layer_dims, "
        "optimizer, epochs, how it stopped, the validation and test scores (accuracy, or "
        "R^2 for regression; the validation cost where no accuracy), training seconds and "
        "date. `ldnn runs show NAME` prints everything one run recorded.",
    )
    p.add_argument(
        "where",
        nargs="*",
        metavar="DIR | show NAME",
        help="the runs folder (default: runs), or `show NAME` for one run of --runs-dir",
    )
    p.add_argument("--runs-dir", default="runs", help="for `show`: where NAME is (default runs)")
    p.add_argument(
        "--sort",
        default="date",
        metavar="COLUMN",
        help=f"one of {', '.join(COLUMNS)} (default: date)",
    )
    p.add_argument("--desc", action="store_true", help="sort from the largest down")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run_runs)


def _cell(value, column: str = "") -> str:
    if value is None:
        return ""
    if column == "date":
        return str(value)[:16].replace("T", " ")  # to the minute, UTC
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return str(value)


def run_runs(args, session) -> int:
    where = list(args.where)
    if where[:1] == ["show"]:
        if len(where) != 2:
            raise ConfigurationError("`ldnn runs show` takes one run's NAME")
        details = run_details(args.runs_dir, where[1])
        if args.json:
            print(json.dumps(details, indent=2))
            return 0
        print(text_table(("field", "value"), [(k, _cell(v)) for k, v in details["row"].items()]))
        for key in ("metrics", "provenance"):
            print(f"\n{key}:\n{json.dumps(details[key], indent=2)}")
        print(f"\nfiles: {', '.join(details['files'])}")
        return 0
    if len(where) > 1:
        raise ConfigurationError(f"give one runs folder, got {len(where)}: {' '.join(where)}")
    rows = sort_rows(run_rows(where[0] if where else "runs"), args.sort, args.desc)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(text_table(COLUMNS, ([_cell(r[c], c) for c in COLUMNS] for r in rows)))
    else:
        print(f"no runs in {where[0] if where else 'runs'}")
    return 0
