"""``ldnn tune``: search hyperparameters on Optuna, then retrain the best as a run folder.

One process is one worker. The same command started on several processes (or
machines) with the same ``--storage`` and ``--study`` shares one study: each asks the
storage for the next trial, so trials are split between the workers and none runs twice.
``--trials N`` is the size of the whole study, not of one worker's share, so that a
``--resume`` after a stop, or an extra worker, only runs what is missing.

The run folder ``runs/<name>/`` holds ``study.db`` (the default SQLite storage),
``trials.csv`` (the summary table), ``history.png`` and ``importance.png``,
``best-config.toml`` and ``best-trial-<k>/``, a normal ``ldnn train`` run folder.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigurationError
from ..runs import dumps_toml, read_config
from .config import DEFAULTS, merge, network_arguments

EXAMPLES = """examples:
  ldnn tune mnist1d --trials 30
  ldnn tune data.csv --target y --trials 50 --space space.toml --resume
  ldnn tune mnist1d --trials 200 --study big --storage postgresql://user:pw@host/db --resume
      (start the last one on as many processes and machines as you like)
"""

#: A [data] flag of ``ldnn tune`` and the key it sets.
DATA_FLAGS = (
    "target", "features", "x_key", "y_key", "labels", "test_split", "split_seed",
    "standardize", "task",
)  # fmt: skip


def add_parser(subparsers) -> None:
    """Add the ``tune`` subcommand to ``ldnn``'s subparsers."""
    import argparse

    from .parser import _data_options

    p = subparsers.add_parser(
        "tune",
        help="search hyperparameters with Optuna and train the best",
        description="Search alpha, L, n[l], activation, optimizer, batch size, L2, keep_prob\n"
        "and epochs on DATA's training part (a validation part split off it), prune\n"
        "unpromising trials, then retrain the best trial on the whole training part as a\n"
        "run folder. See docs/scale.md.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", help="built-in set name (e.g. mnist1d) or file")
    p.add_argument("--trials", type=int, default=20, help="trials in the study (default 20)")
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
    p.add_argument("--objective", choices=("val_accuracy", "val_cost"))
    p.add_argument("--pruner", choices=("median", "halving", "none"))
    p.add_argument("--seed", type=int, help="the sampler's seed (default: random)")
    p.add_argument(
        "--heartbeat",
        type=int,
        default=30,
        metavar="SECONDS",
        help="a running trial's heartbeat; one silent for two intervals is retried (default 30)",
    )
    p.add_argument("--test-split", type=float, help="files: fraction held out (default 0.2)")
    p.add_argument("--split-seed", type=int)
    p.add_argument("--task", choices=("auto", "classification", "regression"))
    p.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None)
    _data_options(p, training=True)
    run = p.add_argument_group("run folder and output")
    run.add_argument("--name", help="the run folder's name (default: the study, or tune-<data>)")
    run.add_argument("--runs-dir", default="runs", help="where run folders go (default runs)")
    run.add_argument("--no-retrain", action="store_true", help="do not retrain the best trial")
    run.add_argument("--no-plots", action="store_true", help="write no pictures")
    run.add_argument("--quiet", "-q", action="store_true", help="print only the summary")


def _base_config(args) -> dict:
    config = DEFAULTS
    if args.config:
        config = merge(config, read_config(args.config), f"config file {args.config!r}")
    data = {k: getattr(args, k) for k in DATA_FLAGS if getattr(args, k, None) is not None}
    data["source"] = args.data
    config = merge(config, {"data": data}, "command line")
    for key in ("source", "labels"):
        value = config["data"][key]
        if value and Path(value).exists():
            config["data"][key] = str(Path(value).resolve())
    return config


def _split(X, Y, fraction: float, seed: int):
    """The same (training, validation) split of the training part for every trial."""
    m = X.shape[1]
    n_val = max(1, int(round(fraction * m)))
    if n_val >= m:
        raise ConfigurationError(f"validation_split {fraction} leaves no training examples of {m}")
    order = np.random.default_rng(seed).permutation(m)
    val, keep = np.sort(order[:n_val]), np.sort(order[n_val:])
    return (X[:, keep], Y[:, keep]), (X[:, val], Y[:, val])


def _write_atomic(path: Path, text: str) -> None:
    # Workers sharing a folder rewrite the summary; a reader never sees half of one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def run(args) -> int:
    """Run one tuning worker; returns the exit status."""
    from .. import tune
    from ..network import DeepNetwork
    from .data import load_training_data, preprocess

    optuna = tune._need_optuna()
    if args.trials < 1:
        raise ConfigurationError(f"--trials must be positive, got {args.trials}")
    if args.heartbeat < 1:
        raise ConfigurationError(f"--heartbeat must be a positive number of seconds, got "
                                 f"{args.heartbeat}")  # fmt: skip
    space = tune.SearchSpace.from_toml(args.space)
    for key in ("objective", "pruner"):
        if getattr(args, key):
            space.settings[key] = getattr(args, key)
    space.check("command line")
    data_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(args.data).stem)
    name = args.name or args.study or f"tune-{data_name}"
    folder = Path(args.runs_dir) / name
    study_name = args.study or name
    if args.storage is None and (folder / "study.db").exists() and not args.resume:
        raise tune.TuneError(
            f"run folder {str(folder)!r} holds a study already; pass --resume to continue "
            "it, or choose another --name"
        )
    config = _base_config(args)
    raw = load_training_data(config["data"])
    dataset, info = preprocess(raw, config["data"]["standardize"])
    split_seed = config["data"]["split_seed"]
    train_part, validation = _split(
        dataset.X_train, dataset.Y_train, space.settings["validation_split"], split_seed + 1
    )
    folder.mkdir(parents=True, exist_ok=True)
    url = args.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = tune.make_storage(url, args.heartbeat)
    study = tune.open_study(
        storage,
        study_name,
        space.direction,
        tune.make_pruner(space.settings),
        resume=args.resume,
        seed=args.seed,
    )
    objective = space.settings["objective"]
    worker = tune.worker_name()

    def make_network(trial) -> DeepNetwork:
        changes = space.suggest(trial)
        # Validation is the fixed split above, the same for every trial.
        changes["training"].update(validation_split=0.0, early_stopping=0)
        trial_config = merge(config, changes, "search space")
        arguments = network_arguments(trial_config, dataset.n_features, dataset.n_outputs)
        if dataset.task == "regression" and arguments["output"] is None:
            arguments["output"] = "linear"
        return DeepNetwork(arguments.pop("layer_dims"), **arguments)

    def train_one(trial) -> float:
        trial.set_user_attr("worker", worker)
        network = make_network(trial)
        return tune.train_trial(trial, network, *train_part, validation, objective)

    def said(study_, trial) -> None:
        if not args.quiet:
            value = "" if trial.value is None else f" {objective} {trial.value:.4f}"
            epochs = trial.user_attrs.get("epochs_run")
            print(f"trial {trial.number} {trial.state.name.lower()}{value} ({epochs} epochs)")

    ran = 0
    attempts = 3 * args.trials  # a space that always diverges must not loop for ever
    while tune.counted_trials(study) < args.trials and ran < attempts:
        study.optimize(train_one, n_trials=1, catch=(tune.TuneError,), callbacks=[said])
        ran += 1
    return _finish(args, study, space, config, folder, url)


def _finish(args, study, space, config: dict, folder: Path, url: str) -> int:
    from .. import tune

    rows = tune.summary_rows(study, space)
    _write_atomic(folder / "trials.csv", _csv(rows))
    finished = [r for r in rows if r["state"] == "complete"]
    reverse = space.direction == "maximize"
    finished.sort(key=lambda r: r["value"], reverse=reverse)
    counts = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    print(
        f"study {study.study_name!r} in {tune.redact(url)}: {len(rows)} trials ("
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + ")"
    )
    if not finished:
        raise tune.TuneError("no trial completed: widen the search space or lower the epochs")
    print(tune.format_table(finished, limit=10))
    pictures = [] if args.no_plots else tune.write_plots(study, folder)
    best = study.best_trial
    best_config = merge(config, space.config_of(best.params), "best trial")
    _write_atomic(
        folder / "best-config.toml",
        dumps_toml(best_config, f"ldnn tune: best trial {best.number} of {study.study_name!r}"),
    )
    objective = space.settings["objective"]
    print(f"best trial {best.number}: {objective} {best.value:.4f}")
    if pictures:
        print(f"pictures: {', '.join(pictures)}")
    if not args.no_retrain:
        _retrain(args, folder, best.number)
    print(f"tune folder: {folder}")
    return 0


def _retrain(args, folder: Path, number: int) -> None:
    """Train the best trial's configuration on the whole training part, as ``ldnn train``."""
    from .parser import build_parser
    from .train import run_train

    target = folder / f"best-trial-{number}"
    if target.exists():
        print(f"best model: {target / 'model.npz'} (trained before)")
        return
    argv = ["train", "--config", str(folder / "best-config.toml"), "--name", target.name,
            "--runs-dir", str(folder), "--quiet"]  # fmt: skip
    if args.no_plots:
        argv.append("--no-plots")
    try:
        run_train(build_parser().parse_args(argv))
    except ConfigurationError as error:
        if not target.exists():
            raise
        # Another worker finished the same retraining first: its folder is the result.
        print(f"best model: {target / 'model.npz'} ({error})", file=sys.stderr)


__all__ = ["add_parser", "run"]
