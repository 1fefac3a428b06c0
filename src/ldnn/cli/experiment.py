"""``ldnn experiment NAME``: run one of the notes' claims as a measured experiment."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def add_parser(subparsers) -> None:
    """Add the ``experiment`` subcommand to ``subparsers`` (the parser's sub-parsers)."""
    from ..experiments import EXPERIMENTS

    p = subparsers.add_parser(
        "experiment",
        help="rerun one of the notes' claims and write a run folder",
        description="Run an experiment (depth-vs-width: n-bit parity; feature-hierarchy: "
        "what layers learn; hyperparameters: alpha, iterations, L, n[l]) and write a run "
        "folder with CSV results, PNG figures and report.md.",
    )
    p.add_argument("name", choices=sorted(EXPERIMENTS), help="the experiment")
    p.add_argument("--quick", action="store_true", help="the small configuration (< 1 min)")
    p.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    p.add_argument("--out", help="the run folder to write (default runs/<name>-<date>-<time>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.set_defaults(run=run)


def run(args, session) -> int:
    """Run the experiment named by ``args`` and print where its report is; exit status 0."""
    from ..experiments import run_experiment

    folder = Path(args.out or f"runs/{args.name}-{datetime.now():%Y%m%d-%H%M%S}")
    result = run_experiment(
        args.name,
        folder,
        quick=args.quick,
        seed=args.seed,
        overwrite=args.overwrite,
        comm=session.comm,
    )
    if not session.writer:
        return 0
    print(
        f"{result['title']}: {len(result['files'])} files in {folder} "
        f"({result['seconds']:.1f} s); see {folder / 'report.md'}"
    )
    return 0
