"""``ldnn train``: the flags become a configuration (:mod:`ldnn.cli.train_flags`),
:class:`~ldnn.runs.run.TrainingRun` trains it in its run folder, and this module prints
what happened.

SIGINT (Ctrl-C) and SIGTERM stop training after the current step; the run folder is then
written with a checkpoint and marked interrupted, and the command exits 130.
``ldnn train --resume RUN_FOLDER`` continues such a run with its own config.toml.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..base.threads import choose_threads, limited_threads
from ..data.table_spill import reading_on
from ..errors import ConfigurationError, LdnnError
from ..io.tables import printable
from ..runs import config as configuration
from ..runs.folders import CHECKPOINT, RunFolder, default_run_name, run_target
from ..runs.provenance import recorded_threads
from ..runs.run import TrainingRun
from ..runs.run_callbacks import Checkpoints
from ..runs.tracking import (
    MlflowTracker,
    TensorBoardTracker,
    check_tracking_uri,
)
from ..training.history import PrintCost
from ..training.interrupts import StopOnSignals
from ..training.mpi import ranks_on_this_machine
from ..training.progress import ProgressBar, ReductionTimes
from .printing import describe, report, seeds_summary
from .train_flags import FLAG_FOR, FLAGS, add_arguments, build_config


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a network and write a run folder",
        description="Train a network on DATA (a built-in set, see `ldnn datasets`, or a "
        ".csv/.npz/.npy/.h5 file with one example per row) and write runs/<name>/ with the "
        "model, config.toml, history.csv, metrics.json and pictures.",
    )
    add_arguments(p)
    p.set_defaults(run=run_train)


def make_run(config: dict, command=None) -> TrainingRun:
    """The run of ``config``, its errors pointing at the flag that sets their field."""
    training = config["training"]
    if training["early_stopping"] not in (0, "auto") and not training["validation_split"]:
        raise ConfigurationError(
            "--early-stopping needs a validation part to watch: add --val-split, e.g. 0.2, "
            "or drop --val-split 0"
        )
    try:
        return TrainingRun(config, command)
    except LdnnError as error:
        flag = FLAG_FOR.get(error.field)
        if flag is None:
            raise
        raise type(error)(f"{error} (flag {flag})", field=error.field) from None


def run_train(args, session) -> int:
    if args.print_every is not None and args.print_every < 1:
        raise ConfigurationError(f"--print-every must be positive, got {args.print_every}")
    if args.checkpoint_every < 0 or args.checkpoint_seconds < 0:
        raise ConfigurationError("--checkpoint-every and --checkpoint-seconds must be >= 0")
    if args.mlflow is not None:  # before a run folder is made, and in seconds
        check_tracking_uri(args.mlflow)
    if args.resume:
        return resume_train(args, session)
    if args.seeds:
        return train_seeds(args, session)
    return train_one(args, session, build_config(args))[0]


def train_one(args, session, config: dict, name: str | None = None, describe_it: bool = True):
    """One run of ``config`` into its run folder: (exit status, its metrics)."""
    with reading_on(session.comm):  # ranks streaming a table each read their share
        run = make_run(config, ["ldnn", *session.argv])
    if not session.writer:  # another MPI rank: it trains its share, rank 0 writes
        return train_share(run, session), None
    target = run_target(
        args.runs_dir, name or args.name, run.config["data"]["source"], args.overwrite
    )
    if session.comm is not None:  # data-parallel: how many ranks, which MPI
        from ..training.mpi import mpi_description

        run.provenance["mpi"] = mpi_description(session.comm)
    with RunFolder.create(target, overwrite=args.overwrite) as folder:
        tell(folder.notes)
        run.start(folder)
        if not args.quiet and describe_it:
            describe(run)
        train_and_write(run, folder, args, session)
    return finish(run, folder), run.metrics


def train_seeds(args, session) -> int:
    """``--seeds 0,1,2``: one run per seed (``<name>-seed<k>``), then each score's mean
    and standard deviation over them, the spread a choice between settings must beat."""
    config = build_config(args)
    base = args.name or default_run_name(config["data"]["source"])
    finished = []
    for k, seed in enumerate(args.seeds):
        seeded = configuration.merge(config, {"training": {"seed": seed}}, "--seeds")
        status, metrics = train_one(args, session, seeded, f"{base}-seed{seed}", k == 0)
        if status:
            return status
        finished.append(metrics)
    if session.writer:
        print(seeds_summary(args.seeds, finished))
    return 0


def resume_train(args, session) -> int:
    """``ldnn train --resume RUN_FOLDER``: on from the checkpoint, as the run was set up."""
    given = [
        flag
        for flag in ("data", "config", "preset", "name", "overwrite", "seeds")
        if getattr(args, flag)
    ]
    given += [k for keys in FLAGS.values() for k in keys if getattr(args, k, None) is not None]
    if given:
        raise ConfigurationError(
            f"--resume continues a run with its own config.toml; it takes no {', '.join(given)}"
        )
    threads = args.threads
    if threads == "auto":  # the count the run began with: then it ends as if never stopped
        threads = recorded_threads(args.resume) or threads
    with limited_threads(choose_threads(threads, ranks_on_this_machine(session.comm))):
        return _resume(args, session)


def _resume(args, session) -> int:
    if not session.writer:
        with reading_on(session.comm):
            run = TrainingRun.resume(Path(args.resume))
        return train_share(run, session)
    folder = RunFolder.resume(args.resume)
    with folder:
        tell(folder.notes)
        with reading_on(session.comm):
            run = TrainingRun.resume(folder.path)
        if not args.quiet:
            describe(run)
            unfinished = run.network.unfinished
            where = f"epoch {run.network.epochs_trained}"
            if unfinished is not None and unfinished.position.step:
                where += f", step {unfinished.position.step}"
            print(f"resuming {folder.path} at {where}")
        train_and_write(run, folder, args, session)
    return finish(run, folder)


def train_and_write(run: TrainingRun, folder: RunFolder, args, session) -> None:
    """Train with the progress bar, the cost lines and the checkpoints the flags ask for,
    stopping between two steps on SIGINT or SIGTERM; then write the run folder."""
    # An ensemble's members train one after another: the bar counts all their epochs.
    per_network = run.network.hyperparameters.epochs
    done = run.network.epochs_trained + sum(len(member.history) for member in run.members)
    epochs = per_network * run.ensemble
    bar = None
    if not args.quiet:
        bar = ProgressBar(epochs, description=f"training on {run.raw.name}", initial=done)
    callbacks = [] if bar is None else [bar]
    if args.print_every:
        callbacks.append(
            PrintCost(args.print_every, per_network, bar.write if bar else print, course=True)
        )
    if session.comm is not None:  # several ranks: where each epoch's time went
        callbacks.append(ReductionTimes(bar.write if bar else print))
    checkpoints = Checkpoints(
        run, folder.path / CHECKPOINT, args.checkpoint_every, args.checkpoint_seconds
    )
    trackers = make_trackers(args, folder)
    for tracker in trackers:
        tracker.start(run, folder.path.name)
    with StopOnSignals() as stop:
        try:
            run.fit(
                [*callbacks, *trackers],
                stop=stop,
                checkpoints=checkpoints,
                comm=session.comm,
            )
        finally:
            if bar is not None:
                bar.close()
    metrics = run.write(folder, pictures=not args.no_plots, test_curve=args.plot_test)
    for message in run.warnings:  # the divergence guard's, and what the scores showed
        print(f"ldnn: warning: {message}", file=sys.stderr)
    for tracker in trackers:
        tracker.finish(run, folder.path, metrics)


def train_share(run: TrainingRun, session) -> int:
    """What a rank other than 0 does: train on its share in step with the others;
    the exit status as rank 0's (130 when interrupted)."""
    with StopOnSignals() as stop:
        run.fit(stop=stop, comm=session.comm)
    if run.dataset.ranks is not None:  # the ranks score the parts they hold together
        run.part_scores()
    return 130 if run.interrupted else 0


def make_trackers(args, folder: RunFolder) -> list:
    """The MLflow and TensorBoard trackers the flags ask for (see :mod:`ldnn.runs.tracking`)."""
    trackers = []
    if args.mlflow is not None:
        trackers.append(MlflowTracker(args.mlflow, args.mlflow_experiment))
    if args.tensorboard is not None:
        trackers.append(TensorBoardTracker(args.tensorboard or folder.path / "tensorboard"))
    return trackers


def finish(run: TrainingRun, folder: RunFolder) -> int:
    """Report; exit status 130 for an interrupted run, 0 otherwise."""
    report(run, folder.path)
    if not run.interrupted:
        return 0
    at = run.metrics["interrupted_at"]
    print(
        f"ldnn train: interrupted in epoch {at['epoch']} (after step {at['step']}); "
        f"{folder.path} holds a checkpoint: continue with `ldnn train --resume {folder.path}`",
        file=sys.stderr,
    )
    return 130


def tell(notes) -> None:
    for note in notes:
        print(printable(f"ldnn: {note}"), file=sys.stderr)
