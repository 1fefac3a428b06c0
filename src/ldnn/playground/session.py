"""A playground session: one network, its data, and the thread that trains it.

Training runs in a thread of its own, never in a request handler: ``DeepNetwork.fit``
with a warm start, for as many epochs as are left, and a ``stop`` that training polls
between two steps. A control (play, pause, step, a setting, a weight) is a command put
in a queue; ``stop`` sees it waiting, training stops between two steps, the thread
carries it out and, if playing, trains on. A warm start continues an interrupted fit
with the numbers of a fit that never stopped (:mod:`ldnn.training.state`), so stopping
for a command changes nothing: a session that is played, paused and stepped without
edits trains exactly as ``ldnn train`` does with its exported config.toml.

A validation part (the settings' ``validation_split``: what early stopping and the
plateau schedule watch) is held out of the training part when a network is made, drawn
from the seed's generator before the parameters, as a fresh fit draws it, and given to
every fit as its validation data: a session that is played, paused and stepped trains as
``ldnn train`` does with it too. Steps stop a fit between two steps, never end it, since
a fit that ends with early stopping on restores its best epoch's parameters; once that
happens (the patience ran out, or the stop came) the run is over, as ``ldnn train``'s
is, and the page says so.

An uploaded CSV (:meth:`Session.receive`, :mod:`.upload`) is kept in the session's own
temporary folder, and trained on when a control sets it; each network's data.csv lives in
a folder of its own there, made before the network replaces the last, so settings that
cannot be trained on leave the session as it was. The whole folder goes with the session.

Frames (:mod:`.frames`) are made by the training thread, at most :data:`FPS` a second and
no more often than keeps their cost within :data:`FRAME_SHARE` of its time (a wide
network's frames come less often than a small one's), and only the latest is kept: a
slow page skips frames rather than queue them.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..core.regularization import resolve_keep_probs
from ..data.preparation import Preparation
from ..data.split import split_columns
from ..errors import ConfigurationError, LdnnError
from ..runs.run_callbacks import WatchTestCost
from ..training.fit import validation_indices
from . import frames
from .board import Board, Curves
from .build import build
from .datasets import UPLOAD
from .settings import DEFAULTS, checked, resets
from .upload import Upload, build_upload, check_choice, store

#: Frames a second, at most.
FPS = 30
#: The most of the training thread's time frames may take: a frame that takes longer than
#: this share of 1/FPS waits longer for the next (fewer frames, training slowed by at most
#: about this share).
FRAME_SHARE = 0.06
#: Seconds a control waits for the training thread to carry it out.
WAIT = 10.0


class Session:
    """The playground's network and the thread that trains it.

    Parameters
    ----------
    settings : dict, optional
        Changes to :data:`ldnn.playground.settings.DEFAULTS` (checked).
    """

    def __init__(self, settings: dict | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="ldnn-playground-"))  # mode 0700
        self.settings = checked(DEFAULTS, settings or {})
        self.board, self.commands = Board(), queue.Queue()
        self.playing, self.closed, self.message = False, False, ""
        self.controls = 0  # controls carried out: a page ignores frames made before one
        self.upload: Upload | None = None  # the latest uploaded CSV, kept in self.folder
        self.uploads, self.uploading = 0, threading.Lock()
        self._points = (None, None)  # (the Built they are of, the points of its plane)
        self.last_frame, self.frame_interval = 0.0, 1 / FPS
        self.built, self.ended = None, None
        self._new_network(self.settings)
        self.thread = threading.Thread(target=self._run, name="ldnn-playground", daemon=True)
        self.thread.start()

    # -- what handlers call ------------------------------------------------------------
    def control(self, document) -> dict:
        """Carry out one control (checked here; a ConfigurationError names its field)
        and return the state after it."""
        if not isinstance(document, dict):
            raise ConfigurationError("a control is a JSON object", field="action")
        action = document.get("action")
        if action in ("play", "pause", "reset"):
            payload = None
        elif action == "step":
            payload = document.get("unit", "batch")
            if payload not in ("batch", "epoch"):
                raise ConfigurationError(
                    f"unit must be batch or epoch, got {payload!r}", field="unit"
                )
        elif action == "set":
            payload = document.get("settings")
            # refused here, before it is queued
            check_choice(checked(self.settings, payload), self.upload)
        elif action == "weight":
            payload = self._checked_weight(document)
        else:
            raise ConfigurationError(
                f"action must be play, pause, step, reset, set or weight, got {action!r}",
                field="action",
            )
        done, result = threading.Event(), {}
        self.commands.put((action, payload, done, result))
        if not done.wait(WAIT):
            raise ConfigurationError("the training thread did not answer in time", field="action")
        if "error" in result:
            raise result["error"]
        return result["state"]

    def receive(self, body: bytes) -> dict:
        """Keep an uploaded CSV (a DataFileError of field "file" if it cannot be read);
        what the page may choose of it. Training goes on with what it trained on until a
        control sets ``{"dataset": "upload", "upload": N, "target": column}``."""
        with self.uploading:  # numbered in the order they come
            self.uploads += 1
            upload = store(body, self.folder, self.uploads, self.settings)
        self.call(lambda: self._keep(upload))
        return upload.describe()

    def _keep(self, upload: Upload) -> None:
        before, self.upload = self.upload, upload
        if before is not None and before.number < upload.number:
            before.path.unlink(missing_ok=True)  # a network's data.csv is its own copy
        elif before is not None:  # two uploads at once: the later one stays
            self.upload = before
            upload.path.unlink(missing_ok=True)

    def call(self, function):
        """``function()`` run by the training thread between two steps (an export)."""
        done, result = threading.Event(), {}
        self.commands.put(("call", function, done, result))
        if not done.wait(WAIT):
            raise ConfigurationError("the training thread did not answer in time", field="export")
        if "error" in result:
            raise result["error"]
        return result["value"]

    def close(self) -> None:
        self.closed = True
        self.commands.put(("close", None, threading.Event(), {}))
        self.thread.join(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _checked_weight(self, document: dict) -> dict:
        dims = self.network.layer_dims
        L = len(dims) - 1
        layer = document.get("layer")
        if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= L:
            raise ConfigurationError(
                f"layer must be from 1 to L = {L}, got {layer!r}", field="layer"
            )
        parameter = document.get("parameter", "W")
        if parameter not in ("W", "b", "gamma", "beta"):
            raise ConfigurationError(
                f"parameter must be W, b, gamma or beta, got {parameter!r}", field="parameter"
            )
        if f"{parameter}{layer}" not in self.network.parameters:
            normalised = f"gamma{layer}" in self.network.parameters
            has = f"gamma[{layer}] and beta[{layer}]" if normalised else f"b[{layer}]"
            raise ConfigurationError(
                f"layer {layer} {'is' if normalised else 'is not'} batch-normalised: it has "
                f"{has}, no {parameter}[{layer}]",
                field="parameter",
            )
        shape = (dims[layer], dims[layer - 1] if parameter == "W" else 1)
        for name, size in (("row", shape[0]), ("column", shape[1])):
            value = document.get(name, 0 if parameter != "W" and name == "column" else None)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
                raise ConfigurationError(
                    f"{name} must be from 0 to {size - 1} ({parameter}{layer} is {shape}), "
                    f"got {value!r}",
                    field=name,
                )
        value = document.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) < 1e6:
            raise ConfigurationError(
                f"value must be a number below 1e6, got {value!r}", field="value"
            )
        return {
            "parameter": parameter,
            "layer": layer,
            "row": document["row"],
            "column": document.get("column", 0),
            "value": float(value),
            "dims": dims,
        }

    # -- the training thread ---------------------------------------------------------
    def _run(self) -> None:
        self._publish(force=True)
        while not self.closed:
            self._carry_out()
            if self.playing and not self.closed:
                left = self._epochs_left()
                if left is None or left > 0:
                    self._fit(left or 1_000_000, self._interrupt)
                else:
                    self.playing = False
                self._publish(force=True)
            elif not self.closed:
                try:
                    self.commands.put(self.commands.get(timeout=0.5))
                except queue.Empty:
                    pass

    def _carry_out(self) -> None:
        while True:
            try:
                action, payload, done, result = self.commands.get_nowait()
            except queue.Empty:
                return
            try:
                if action == "call":
                    result["value"] = payload()
                else:
                    self.controls += 1
                    self._command(action, payload)
                    self._publish(force=True)
                    result["state"] = self.state()
            except LdnnError as error:
                result["error"] = error
            except Exception as error:  # noqa: BLE001 - said to the page, not lost in a thread
                result["error"] = ConfigurationError(
                    f"{type(error).__name__}: {error}", field="action"
                )
            done.set()

    def _command(self, action: str, payload) -> None:
        if action == "close":
            self.closed = True
        elif action == "play":  # (a run that has ended stays so: the page says why)
            self.playing, self.message = self.ended is None, self.ended or ""
        elif action == "pause":
            self.playing = False
        elif action == "reset":
            self._new_network(self.settings)
        elif action == "step":
            self.playing = False
            if self.ended is not None:
                self.message = self.ended
            else:
                self._step(payload)
        elif action == "set":
            self._set(payload)
        elif action == "weight":
            if payload["dims"] != self.network.layer_dims:
                raise ConfigurationError("the network changed: edit again", field="layer")
            key = f"{payload['parameter']}{payload['layer']}"
            self.network.parameters[key][payload["row"], payload["column"]] = payload["value"]
            self.edited = True

    def _set(self, changes: dict) -> None:
        before = self.settings
        after = check_choice(checked(before, changes), self.upload)
        if resets(before, after):
            self._new_network(after)
            self.message = "the architecture or data changed: a new network from the seed"
            return
        self.settings = after
        hp = self.network.hyperparameters
        keep = resolve_keep_probs(after["keep_prob"], hp.L)
        new = dataclasses.replace(
            hp,
            learning_rate=after["learning_rate"],
            lambd=after["lambd"],
            l1=after["l1"],
            keep_prob=keep,
            epochs=max(1, after["stop_after"]),
        )
        new.validate()
        trained = self.network.epochs_trained > 0 or self.network.unfinished is not None
        # α, λ and keep_prob change the numbers from here on; so does the stop, for a
        # cosine schedule, whose α follows the run's epochs.
        live = ("learning_rate", "lambd", "l1", "keep_prob")
        live += ("epochs",) if hp.lr_schedule == "cosine" else ()
        if trained and any(getattr(new, k) != getattr(hp, k) for k in live):
            self.changed_live = True
        self.network.hyperparameters = new

    def _new_network(self, settings: dict) -> None:
        """The data and network of ``settings``, initialised from the seed as a fresh fit
        draws: the generator that drew the parameters goes on to shuffle. Made in a
        folder of its own, and taken (the settings with it) only once made: settings
        that cannot be trained on leave the session as it was."""
        folder = Path(tempfile.mkdtemp(prefix="build-", dir=self.folder))
        try:
            if settings["dataset"] == UPLOAD:
                built = build_upload(settings, folder, self.upload)
                # an upload's output layer follows its target (sigmoid, softmax, linear)
                settings = {**settings, "output": built.network.hyperparameters.activations[-1]}
            else:
                built = build(settings, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if self.built is not None:
            shutil.rmtree(self.built.folder, ignore_errors=True)
        self.settings = settings
        network = built.network
        rng = np.random.default_rng(network.hyperparameters.seed)
        # The validation part, then the parameters: the order in which a fresh fit draws
        # them from the seed's generator (which then goes on to shuffle).
        self.part, self.validation, held = held_out(network, built.dataset, rng)
        network.initialize(rng)
        network.state.generator = rng
        drawn = np.arange(built.P_train.shape[1]) if built.drawn is None else built.drawn
        self.held_drawn = np.flatnonzero(np.isin(drawn, held))  # of the points drawn
        self.built, self.network, self.ended = built, network, None
        self.preparation = Preparation.from_metadata(built.info)
        self.grids = {}  # the frames' grids as this network's inputs (frames.activations_on)
        data = built.dataset
        watch = None
        if data.X_test is not None:
            watch = WatchTestCost(network, data.X_test, data.Y_test)
        self.curves = Curves(watch)
        self.steps, self.edited, self.changed_live = 0, False, False
        self.message = ""

    def _epochs_left(self) -> int | None:
        stop_after = self.settings["stop_after"]
        return None if not stop_after else stop_after - self.network.epochs_trained

    def _step(self, unit: str) -> None:
        """One mini-batch, or to the end of the epoch: a fit of two epochs stopped by
        ``stop``, polled after each step but an epoch's last and between two epochs, so
        that one always up lets exactly one step through, and one up once an epoch ends
        stops there. The fit stops, to be continued, rather than ends: a fit that ends
        with early stopping on restores its best epoch's parameters."""
        if unit == "batch":
            stop = lambda: True  # noqa: E731
        else:
            done = len(self.curves.epoch)
            stop = lambda: len(self.curves.epoch) > done  # noqa: E731
        self._fit(2, stop)

    def _fit(self, epochs: int, stop) -> None:
        data = self.part
        history = self.network.fit(
            data.X_train,
            data.Y_train,
            validation_data=self.validation,
            warm_start=True,
            epochs=epochs,
            stop=stop,
            callbacks=[self.curves, self._tick],
        )
        if history.stop_reason == "diverged":
            self.playing, self.message = False, history.stop_message
        elif history.stop_reason != "interrupted" and self.network.hyperparameters.early_stopping:
            self._end(history)
        elif history.stop_reason != "interrupted":
            self.playing = self.playing and self._epochs_left() != 0

    def _end(self, history) -> None:
        """The run is over, with early stopping on: by its patience or by the stop, its
        best epoch's parameters restored (as ``ldnn train`` ends it)."""
        best, patience = history.best_epoch, self.network.hyperparameters.early_stopping
        kept = (
            "no epoch had a finite validation cost"
            if best is None
            else f"the parameters after epoch {best + 1}, of the lowest validation cost, are "
            "restored"
        )
        if history.stop_reason == "early stopping":
            said = f"early stopping: no lower validation cost for {patience} epochs; {kept}"
        else:
            said = f"stopped after {self.network.epochs_trained} epochs; {kept}"
        self.playing = False
        self.ended = self.message = f"{said}. ⟲ reset to train again"

    def _interrupt(self) -> bool:
        """fit's stop: up when a command waits (or the session ends); a frame now and
        then while training runs."""
        self._publish()
        return self.closed or not self.commands.empty()

    def _tick(self, epoch, record, parameters) -> None:
        self._publish()

    # -- frames ----------------------------------------------------------------------
    def _publish(self, force: bool = False) -> None:
        """A frame for the pages, at most FPS a second while training runs and one
        watches (a frame costs forward passes over the grids: none is made for no one);
        always after a control and when training stops, so a page that joins later finds
        the session as it is."""
        now = time.monotonic()
        if not force and (now - self.last_frame < self.frame_interval or not self.board.watchers):
            return
        self.last_frame = now
        self.board.publish(json.dumps(self.frame(), allow_nan=False).encode("utf-8"))
        # The next frame waits until this one's cost is at most FRAME_SHARE of the time.
        self.frame_interval = max(1 / FPS, (time.monotonic() - now) / FRAME_SHARE)

    def state(self) -> dict:
        """Where the session stands: epochs, steps, playing, the settings, and ``ended``:
        why the run is over (early stopping ended it), or None."""
        # During fit the training as it stands (the model's own state is updated at
        # its end).
        state = self.network.checkpoint()[1]
        unfinished = state.unfinished
        return {
            "epoch": state.epochs_trained,
            "step": 0 if unfinished is None else unfinished.position.step,
            "playing": self.playing,
            "settings": self.settings,
            "message": self.message,
            "edited": self.edited,
            "changed_live": self.changed_live,
            "controls": self.controls,
            "upload": None if self.upload is None else self.upload.describe(),
            "ended": self.ended,
        }

    def frame(self) -> dict:
        """The page's picture of the session now (see :mod:`.frames`)."""
        self.curves.measure_last()
        network, built, plane = self.network, self.built, self.built.plane
        task = built.dataset.task
        Y = built.Y_train_raw
        target_range = (float(Y.min()), float(Y.max())) if Y.size else (0.0, 1.0)
        hp = network.hyperparameters
        return {
            **self.state(),
            "layer_dims": list(network.layer_dims),
            "activations": list(hp.activations),
            "batch_norm": [bool(b) for b in hp.batch_norm] or [False] * (hp.L - 1),
            "learning_rate_now": self.curves.rate,
            "feature_names": built.feature_names,
            "task": task,
            "plane": {"extent": plane.extent, "axes": list(plane.axes), "note": plane.note},
            "surface": frames.surface(
                network, plane, self.preparation, task, target_range, self.grids
            ),
            "units": frames.units(network, plane, self.grids),
            "weights": frames.weights(network.parameters, network.L),
            "curves": frames.curve(
                self.curves.epoch, self.curves.train, self.curves.test, self.curves.validation
            ),
            "points": self.points(),
        }

    def points(self) -> dict:
        """The training and test points of the plane, rounded, with their targets (made
        once per network: they change only with the data)."""
        built = self.built
        if self._points[0] is built:
            return self._points[1]
        self._points = (
            built,
            {
                "train": np.round(built.P_train, 3).T.tolist(),
                "test": np.round(built.P_test, 3).T.tolist(),
                "y_train": np.round(built.Y_train_raw[0], 4).tolist(),
                "y_test": np.round(built.Y_test_raw[0], 4).tolist(),
                "validation": self.held_drawn.tolist(),  # those of "train" held out
            },
        )
        return self._points[1]


def held_out(network, dataset, rng: np.random.Generator):
    """(training data, validation data, held): ``dataset`` less the validation part that
    the network's ``validation_split`` holds out of its training part, drawn from ``rng``
    by ldnn's own :func:`~ldnn.training.fit.validation_indices` (stratified by class), as
    a fresh fit draws it; the validation part (X_val, Y_val); the columns held out.
    Without a validation part: ``dataset`` itself, None and none."""
    hp = network.hyperparameters
    if not hp.validation_split:
        return dataset, None, np.zeros(0, dtype=np.int64)
    labels = network.check_data(dataset.X_train, dataset.Y_train, keep_labels=True)[1]
    kept, held = validation_indices(hp, labels, rng)
    (X, Y), validation = split_columns(dataset.X_train, dataset.Y_train, kept, held)
    return dataclasses.replace(dataset, X_train=X, Y_train=Y), validation, held
