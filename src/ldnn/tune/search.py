"""One worker of a search: the data and the fixed settings from a configuration, trials
drawn from a :class:`~ldnn.tune.space.SearchSpace` until the study holds enough, and
the study's summary, pictures and best configuration written to the tune folder.

The tune folder ``runs/<name>/`` holds ``study.db`` (the default SQLite storage),
``trials.csv`` (the summary table), ``history.png`` and ``importance.png``,
``best-config.toml`` and ``best-trial-<k>/``, a normal ``ldnn train`` run folder.
Workers sharing a folder rewrite the summary files; every file is written atomically.

The space is fitted to the data first (:meth:`SearchSpace.for_data`): sized to the
table, with the objective and the settings its loss can take. Every trial stops early at
its best epoch on the validation part, and the best trial is retrained for the epochs it
kept. With a time budget (``until``), no trial starts once the time left is what the
summary and the retraining need, and the trial under way stops there.
"""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path

import numpy as np

from ..core.losses import get_loss
from ..core.metrics import is_classifier
from ..data.class_weights import class_weights
from ..data.split import split_columns, split_indices
from ..errors import TuneError
from ..io import atomic_write_text, csv_text, dumps_toml
from ..model.network import DeepNetwork
from ..runs.config import (
    data_and_network,
    from_file,
    merge,
    network_from_config,
    swa_start,
    with_absolute_paths,
)
from ..runs.folders import RunFolder
from ..runs.run import TrainingRun
from .report import summary_rows, write_plots
from .space import SearchSpace
from .study import counted_trials, make_pruner, make_storage, need_optuna, open_study, worker_name
from .trial import train_trial

BEST_CONFIG = "best-config.toml"
#: Seconds kept at the end of a time budget for the summary, the pictures and the
#: retraining's scores and files, besides its epochs.
WRAP_UP = 3.0


class Search:
    """A worker of the study ``study_name``, training on the data ``config`` names.

    Parameters
    ----------
    config : dict
        A run configuration (:mod:`ldnn.runs.config`): its [data] table, and the settings no
        trial changes.
    space : SearchSpace
    folder : path
        The tune folder.
    study_name : str
    storage : str, optional
        An Optuna storage URL (``postgresql://...``); default ``study.db`` in ``folder``.
    resume : bool
        Join the study if it exists (how further workers join it).
    seed : int, optional
        The sampler's seed.
    heartbeat : int
        Seconds between a running trial's heartbeats (see :func:`make_storage`).
    trials : int, optional
        The study's size, when it has one: a new study queues at most that many of the
        space's starting points.

    The space is fitted to the data (``self.space``: :meth:`SearchSpace.for_data`, with
    m the examples a trial trains on). Every trial trains on the training part less a
    validation part, the same for every trial (``validation_split`` of the [tune]
    settings, drawn with ``split_seed + 1``), and stops early at its best epoch there.
    With ``cv`` = K in the [tune] settings, a trial trains K networks instead, one per
    fold of the training part (stratified by class for classification, drawn with
    ``split_seed + 1``), and its value is the mean of the K validation values; the
    pruner watches the first fold's epochs, which every trial trains first. With
    ``seeds``, each of those trainings runs once per seed (the seed of initialisation,
    shuffling and dropout), and the value is the mean over all of them.
    """

    def __init__(
        self,
        config: dict,
        space: SearchSpace,
        folder,
        *,
        study_name: str,
        storage: str | None = None,
        resume: bool = False,
        seed: int | None = None,
        heartbeat: int = 30,
        trials: int | None = None,
    ):
        optuna = need_optuna()
        self.config, self.folder = config, Path(folder)
        if storage is None and (self.folder / "study.db").exists() and not resume:
            raise TuneError(
                f"run folder {str(self.folder)!r} holds a study already; pass --resume to "
                "continue it, or choose another --name"
            )
        built = data_and_network(config)
        self.dataset = built.dataset
        self.weights = class_weights(self.dataset, config["data"].get("class_weight"))
        self.parts = [
            (*split_columns(self.dataset.X_train, self.dataset.Y_train, kept, held), kept)
            for kept, held in self._folds(config["data"]["split_seed"] + 1, space.settings)
        ]
        self.space = space.for_data(
            len(self.parts[0][2]), self.dataset.X_train.shape[0], **_scores(built.network)
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.url = storage or f"sqlite:///{(self.folder / 'study.db').resolve()}"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = open_study(
            make_storage(self.url, heartbeat),
            study_name,
            self.space.direction,
            make_pruner(self.space.settings),
            resume=resume,
            seed=seed,
        )
        self.worker = worker_name()
        if not self.study.trials:  # a new study starts from the measured settings
            for params in self.space.starting_points()[:trials]:
                self.study.enqueue_trial(params, skip_if_exists=True)

    def _folds(self, seed: int, settings: dict) -> list[tuple]:
        """(kept, held) index pairs of the training part: one, or one per fold (the
        [tune] ``settings``' validation_split or cv)."""
        m, K = self.dataset.X_train.shape[1], settings["cv"]
        if not K:
            split = settings["validation_split"]
            return [split_indices(m, split, seed, minimum=1, ordered=True, name="validation_split")]
        if K > m:
            raise TuneError(f"--cv {K} needs at least {K} training examples, got m = {m}")
        from sklearn.model_selection import KFold, StratifiedKFold

        labels = self.dataset.Y_train.reshape(-1)
        if self.dataset.task == "classification" and np.bincount(labels.astype(int)).min() >= K:
            folds = StratifiedKFold(K, shuffle=True, random_state=seed).split(labels, labels)
        else:  # regression, or a class with fewer than K examples
            folds = KFold(K, shuffle=True, random_state=seed).split(labels)
        return list(folds)

    @property
    def objective(self) -> str:
        return self.space.settings["objective"]

    def network(self, trial, seed: int | None = None) -> DeepNetwork:
        """The network a trial's choices describe (with ``seed``, that seed's)."""
        changes = self.space.suggest(trial)
        # Validation is the fixed split above, the same for every trial; early stopping
        # watches it and keeps the best epoch.
        patience = self.space.settings["early_stopping"]
        changes["training"].update(validation_split=0.0, early_stopping=patience)
        if seed is not None:
            changes["training"]["seed"] = seed
        return network_from_config(merge(self.config, changes, "search space"), self.dataset)

    def run(self, trials: int | None, callbacks=(), until: float | None = None, retrain=True):
        """Run trials until the study counts ``trials`` (finished, pruned or running;
        None: no limit), or 3 x ``trials`` attempts were made (a space that always
        diverges), or, with ``until`` (a :func:`time.monotonic` time), until the time
        left is what the summary and, with ``retrain``, the best trial's retraining need
        (:meth:`reserve`, at most half the budget): no trial starts after that, and the
        one under way stops there.
        ``callbacks`` are Optuna's ``(study, trial)`` callbacks, called after each.

        Returns
        -------
        bool
            Whether the time budget ended the search.
        """
        if trials is None and until is None:
            raise TuneError("a search needs a number of trials or a time budget")
        ran, budget = 0, None if until is None else until - time.monotonic()
        while trials is None or (counted_trials(self.study) < trials and ran < 3 * trials):
            # half the budget at least is the trials', however long the retraining
            stop_at = None if until is None else until - min(self.reserve(retrain), budget / 2)
            if stop_at is not None and time.monotonic() >= stop_at:
                return True
            self.study.optimize(
                functools.partial(self.objective_of, stop_at=stop_at),
                n_trials=1,
                catch=(TuneError,),
                callbacks=list(callbacks),
            )
            ran += 1
        return False

    def objective_of(self, trial, stop_at: float | None = None) -> float:
        """Train ``trial``'s networks (one per fold and seed) and return its value: the
        mean of their values at their kept epochs. Training stops at ``stop_at``; a
        trial of one training cut there keeps its best epoch so far, one of several is
        pruned."""
        optuna = need_optuna()
        trial.set_user_attr("worker", self.worker)
        seeds = self.space.settings["seeds"] or [None]
        runs = [(seed, part) for seed in seeds for part in self.parts]
        results = []
        for k, (seed, (train_part, validation, kept)) in enumerate(runs):
            if k and stop_at is not None and time.monotonic() >= stop_at:
                trial.set_user_attr("out_of_time", True)
                raise optuna.TrialPruned("the time budget ran out")
            weights = None if self.weights is None else self.weights[kept]
            result = train_trial(
                trial,
                self.network(trial, seed),
                *train_part,
                validation,
                self.objective,
                sample_weight=weights,
                prune=k == 0,
                deadline=stop_at,
            )
            results.append(result)
            if result.out_of_time:
                trial.set_user_attr("out_of_time", True)
                if len(runs) > 1:
                    raise optuna.TrialPruned("the time budget ran out")
        values = [r.value for r in results]
        trial.set_user_attr("kept_epochs", int(round(np.median([r.kept_epochs for r in results]))))
        trial.set_user_attr("seconds_per_epoch", results[0].seconds_per_epoch)
        if len(values) > 1:  # one per (seed, fold), seeds outermost
            trial.set_user_attr("fold_values", values)
            trial.set_user_attr("sd", float(np.std(values, ddof=1)))
        return float(np.mean(values))

    def reserve(self, retrain: bool = True) -> float:
        """Seconds a time budget keeps for what follows the trials: ``WRAP_UP``, and with
        ``retrain`` the best trial's epochs on the whole training part at the speed its
        first training measured."""
        seconds = WRAP_UP
        if not retrain:
            return seconds
        try:
            best = self.study.best_trial
        except ValueError:  # no trial completed yet
            return seconds
        per_epoch, kept = (best.user_attrs.get(k) for k in ("seconds_per_epoch", "kept_epochs"))
        if per_epoch and kept:
            m_trial = self.parts[0][0][0].shape[1]
            seconds += per_epoch * kept * self.dataset.X_train.shape[1] / max(m_trial, 1)
        return seconds

    def summary(self) -> tuple[list[dict], list[dict]]:
        """(every trial's row, the finished ones best first); writes trials.csv."""
        rows = summary_rows(self.study, self.space)
        text = csv_text(list(rows[0]), (list(r.values()) for r in rows)) if rows else ""
        atomic_write_text(self.folder / "trials.csv", text)
        finished = [r for r in rows if r["state"] == "complete"]
        finished.sort(key=lambda r: r["value"], reverse=self.space.direction == "maximize")
        return rows, finished

    def write_best(self, pictures: bool = True) -> tuple[object, list[str]]:
        """(the best trial, the pictures written); writes best-config.toml and the pictures.

        Raises
        ------
        TuneError
            If no trial has completed.
        """
        if not any(t.state.name == "COMPLETE" for t in self.study.trials):
            raise TuneError("no trial completed: widen the search space or lower the epochs")
        written = write_plots(self.study, self.folder) if pictures else []
        best = self.study.best_trial
        best_config = merge(self.config, self.space.config_of(best.params), "best trial")
        kept = best.user_attrs.get("kept_epochs")
        training = best_config["training"]
        # The trial's weight averaging, made explicit: without a validation part "auto"
        # would average nothing, and the trial's model was the average up to its best.
        start, trial_epochs = swa_start(training, best_config["model"]), training["epochs"]
        if kept:  # the epochs up to its best one: trained on the whole part, no more
            training["epochs"] = int(kept)
        if training["ensemble"] == "auto":  # the trials were one network each
            training["ensemble"] = 1
        training.update(
            validation_split=0.0,
            early_stopping=0,
            swa_start=_same_first_epoch(start, trial_epochs, training["epochs"]),
        )
        comment = f"ldnn tune: best trial {best.number} of {self.study.study_name!r}"
        atomic_write_text(self.folder / BEST_CONFIG, dumps_toml(best_config, comment))
        return best, written

    def retrain_folder(self, number: int) -> Path:
        return self.folder / f"best-trial-{number}"

    def retrain(self, number: int, pictures: bool = True) -> TrainingRun:
        """Train the best trial's configuration on the whole training part, as
        ``ldnn train --config best-config.toml`` does, into ``best-trial-<number>/``, for
        the epochs the trial kept (up to its best epoch)."""
        config = with_absolute_paths(from_file(self.folder / BEST_CONFIG))
        run = TrainingRun(config)
        with RunFolder.create(self.retrain_folder(number)) as folder:
            run.start(folder)
            run.fit()
            run.write(folder, pictures=pictures)
        return run


def _same_first_epoch(start: float, trial_epochs: int, epochs: int) -> float:
    """A trial's swa_start for a retraining of ``epochs`` epochs that averages from the
    same epoch (0: none, when the trial's average had not begun by then)."""
    if not start:
        return 0
    first = int(start) if start >= 1 else math.floor(start * trial_epochs)
    if first >= epochs:
        return 0
    return first if first >= 1 else start  # epoch 0: a fraction that still rounds to it


def _scores(network: DeepNetwork) -> dict:
    """What :meth:`SearchSpace.for_data` needs to know of the data's network: the
    objectives its output has and whether its loss is a cross-entropy."""
    hp = network.hyperparameters
    loss = get_loss(hp.loss)
    scores = {"val_cost"}
    if is_classifier(hp.activations[-1]):
        scores.add("val_accuracy")
    elif loss.name == "mean_squared_error":
        scores.add("val_r2")
    return {"scores": scores, "cross_entropy": loss.output_range is not None}
