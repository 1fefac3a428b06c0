"""``ldnn tune``: search hyperparameters on Optuna with a :class:`~ldnn.tune.Search`,
then retrain the best as a run folder; this module parses and prints.

One process is one worker. The same command started on several processes (or
machines) with the same ``--storage`` and ``--study`` shares one study: each asks the
storage for the next trial, so trials are split between the workers and none runs twice.
``--trials N`` is the size of the whole study, not of one worker's share, so that a
``--resume`` after a stop, or an extra worker, only runs what is missing. ``--time``
bounds this worker's whole command, the retraining included.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from ..errors import ConfigurationError
from ..runs import config as configuration
from ..runs.folders import check_run_name
from .options import add_data_options, add_split_options, seed_list
from .printing import report
from .train_flags import FLAGS

EXAMPLES = """examples:
  ldnn tune mnist1d --trials 30
  ldnn tune census.csv --time 5m              (as many trials as fit, retraining included)
  ldnn tune data.csv --target y --trials 50 --space space.toml --resume
  ldnn tune mnist1d --trials 200 --study big --storage postgresql://user:pw@host/db --resume
      (start the last one on as many processes and machines as you like)
"""


def add_parser(subparsers) -> None:
    """Add the ``tune`` subcommand to ``ldnn``'s subparsers."""
    p = subparsers.add_parser(
        "tune",
        help="search hyperparameters with Optuna and train the best",
        description="Search alpha, L, n[l], activation, optimizer, batch size, L2, keep_prob,\n"
        "... on DATA's training part (a validation part split off it), in a space sized to\n"
        "DATA; every trial stops early at its best epoch, unpromising trials are pruned,\n"
        "then the best is retrained on the whole training part, for the epochs it kept,\n"
        "as a run folder. See docs/cli.md and docs/scale.md.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", help="built-in set name (e.g. mnist1d) or file")
    p.add_argument(
        "--trials",
        type=int,
        help="trials in the study (default 20; with --time, as many as fit)",
    )
    p.add_argument(
        "--time",
        type=duration,
        metavar="DURATION",
        help="a time budget for the whole command, such as 90s, 5m or 1h30m: no trial "
        "starts once the time left is what the retraining needs, and the one under way "
        "stops there, keeping its best epoch",
    )
    p.add_argument(
        "--storage",
        help="Optuna storage URL, e.g. postgresql://user:pw@host/db (default: sqlite "
        "file study.db in the run folder)",
    )
    p.add_argument("--study", help="the study's name (default: the run folder's name)")
    p.add_argument("--space", help="a TOML file with [space] and [tune] tables")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the study if it exists (also how further workers join it)",
    )
    p.add_argument("--config", help="a config.toml for the data and the fixed settings")
    p.add_argument(
        "--objective",
        choices=("val_accuracy", "val_cost", "val_r2"),
        help="what trials are judged by (default: the space file's, else val_accuracy "
        "for classes and val_r2 for a regression)",
    )
    p.add_argument(
        "--seeds",
        type=seed_list,
        metavar="S,S,...",
        help="each trial trains once per seed; the objective is the mean (and its sd is kept)",
    )
    p.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="the objective is the mean over K folds of the training part (default: one "
        "validation part)",
    )
    p.add_argument(
        "--pruner",
        choices=("median", "halving", "none"),
        help="what stops unpromising trials (default: the space file's, else median)",
    )
    p.add_argument("--seed", type=int, help="the sampler's seed (default: random)")
    p.add_argument(
        "--heartbeat",
        type=int,
        default=30,
        metavar="SECONDS",
        help="a running trial's heartbeat; one silent for two intervals is retried (default 30)",
    )
    add_split_options(p)
    add_data_options(p, training=True)
    run = p.add_argument_group("run folder and output")
    run.add_argument("--name", help="the run folder's name (default: the study, or tune-<data>)")
    run.add_argument("--runs-dir", default="runs", help="where run folders go (default runs)")
    run.add_argument("--no-retrain", action="store_true", help="do not retrain the best trial")
    run.add_argument("--no-plots", action="store_true", help="write no pictures")
    run.add_argument("--quiet", "-q", action="store_true", help="print only the summary")
    p.set_defaults(run=run_tune)


def base_config(args) -> dict:
    """Defaults, then --config, then the [data] flags and DATA."""
    config = configuration.DEFAULTS
    if args.config:
        config = configuration.from_file(args.config, config)
    data = {k: getattr(args, k) for k in FLAGS["data"] if getattr(args, k, None) is not None}
    data["source"] = args.data
    config = configuration.merge(config, {"data": data}, "command line")
    return configuration.with_absolute_paths(config)


def duration(text: str) -> float:
    """ "90s", "5m", "1.5h", "1h30m", "2m30s" or "300" (seconds) -> seconds, more than 0."""
    number = r"(\d+(?:\.\d*)?|\.\d+)"
    words = text.strip().lower()
    match = re.fullmatch(number, words) or re.fullmatch(
        rf"(?:{number}h)?(?:{number}m)?(?:{number}s)?", words
    )
    if not words or match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 5m, 1h30m or 300 (seconds), got {text!r}"
        )
    parts = [float(part or 0) for part in match.groups()]
    total = parts[0] if len(parts) == 1 else 3600 * parts[0] + 60 * parts[1] + parts[2]
    if total <= 0:
        raise argparse.ArgumentTypeError(f"a time budget must be more than 0, got {text!r}")
    return total


def run_tune(args, session) -> int:
    """Run one tuning worker; returns the exit status."""
    from ..tune import Search, SearchSpace, format_table, need_optuna, redact

    started = time.monotonic()
    until = None if args.time is None else started + args.time
    need_optuna()
    trials = args.trials if args.trials is not None or args.time else 20
    if trials is not None and trials < 1:
        raise ConfigurationError(f"--trials must be positive, got {trials}")
    if args.heartbeat < 1:
        raise ConfigurationError(
            f"--heartbeat must be a positive number of seconds, got {args.heartbeat}"
        )
    space = SearchSpace.from_toml(args.space)
    for key in ("objective", "pruner", "cv", "seeds"):
        if getattr(args, key) is not None:
            space.settings[key] = getattr(args, key)
    space.check("command line")
    data_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(args.data).stem)
    name = check_run_name(args.name or args.study or f"tune-{data_name}", "the tune folder's name")

    def open_search(resume: bool):
        return Search(
            base_config(args),
            space,
            Path(args.runs_dir) / name,
            study_name=args.study or name,
            storage=args.storage,
            resume=resume,
            seed=args.seed,
            heartbeat=args.heartbeat,
            trials=trials,
        )

    # Under mpiexec every rank is one worker of the same study: rank 0 opens (or makes)
    # it, then the others join it as `--resume` workers do.
    comm, writer = session.comm, session.writer
    if writer:
        search = open_search(args.resume)
    if comm is not None:
        comm.barrier()
        if not writer:
            search = open_search(True)
        comm.barrier()  # every worker has the study: they start their trials together
    objective = search.objective

    def said(study, trial) -> None:
        if not args.quiet:
            value = "" if trial.value is None else f" {objective} {trial.value:.4f}"
            attrs = trial.user_attrs
            epochs = f"{attrs.get('epochs_run')} epochs"
            if attrs.get("kept_epochs") is not None:
                epochs += f", kept {attrs['kept_epochs']}"
            if attrs.get("out_of_time"):
                epochs += ", stopped by --time"
            print(f"trial {trial.number} {trial.state.name.lower()}{value} ({epochs})")

    out_of_time = search.run(trials, callbacks=[said], until=until, retrain=not args.no_retrain)
    if out_of_time and not args.quiet:
        print(f"--time: no more trials after {time.monotonic() - started:.0f} s")
    if comm is not None:
        comm.barrier()  # every worker is done: rank 0 reports the study and retrains
        if not writer:
            return 0
    rows, finished = search.summary()
    counts = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    print(
        f"study {search.study.study_name!r} in {redact(search.url)}: {len(rows)} trials ("
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + ")"
    )
    if finished:
        print(format_table(finished, limit=10))
    best, pictures = search.write_best(pictures=not args.no_plots)
    print(f"best trial {best.number}: {objective} {best.value:.4f}")
    if pictures:
        print(f"pictures: {', '.join(pictures)}")
    if not args.no_retrain:
        retrain(search, best.number, pictures=not args.no_plots)
    print(f"tune folder: {search.folder} ({time.monotonic() - started:.0f} s)")
    return 0


def retrain(search, number: int, pictures: bool) -> None:
    """Train the best trial's configuration on the whole training part, as ``ldnn train``."""
    target = search.retrain_folder(number)
    if target.exists():
        print(f"best model: {target / 'model.npz'} (trained before)")
        return
    try:
        run = search.retrain(number, pictures=pictures)
    except ConfigurationError as error:
        if not target.exists():
            raise
        # Another worker finished the same retraining first: its folder is the result.
        print(f"best model: {target / 'model.npz'} ({error})", file=sys.stderr)
        return
    for message in run.warnings:
        print(f"ldnn: warning: {message}", file=sys.stderr)
    report(run, target)
