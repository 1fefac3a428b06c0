"""``ldnn tune``: the search space and its sizing to the data, regression, pruning,
early stopping, the time budget, the SQLite default, resume, a killed worker, and two
workers sharing one study on a real PostgreSQL server."""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
sqlalchemy = pytest.importorskip("sqlalchemy")

from ldnn import DeepNetwork  # noqa: E402
from ldnn.cli import main  # noqa: E402
from ldnn.errors import ConfigurationError  # noqa: E402
from ldnn.tune import SearchSpace, TuneError, open_study, storage_url, train_trial  # noqa: E402

#: A small space so a trial takes a fraction of a second on the xor set.
SPACE = """
[space]
hidden_layers = { low = 1, high = 2 }
units = { low = 4, high = 16 }
optimizer = ["adam", "rmsprop"]
batch_size = [32, 64]
epochs = %d

[tune]
pruner = "median"
startup_trials = 2
warmup_epochs = 1
"""


def write_space(folder: Path, epochs: int = 6, tune: str = "") -> Path:
    path = folder / "space.toml"
    path.write_text(SPACE % epochs + tune)
    return path


def tune_argv(tmp_path, *more, trials=4, epochs=6, quiet=True, tune="") -> list[str]:
    return [
        "tune",
        "xor",
        "--trials",
        str(trials),
        "--space",
        str(write_space(tmp_path, epochs, tune)),
        "--runs-dir",
        str(tmp_path / "runs"),
        *(["-q"] if quiet else []),
        *more,
    ]


# -- the search space ---------------------------------------------------------------------
def test_space_file_changes_the_defaults_and_suggests_a_config(tmp_path):
    space = SearchSpace.from_toml(write_space(tmp_path))
    assert space.space["epochs"] == 6 and space.space["activation"] == [
        "relu",
        "tanh",
        "leaky_relu",
    ]
    trial = optuna.trial.FixedTrial(
        {
            "hidden_layers": 2,
            "n1": 8,
            "n2": 5,
            "learning_rate": 0.01,
            "activation": "tanh",
            "optimizer": "adam",
            "batch_size": 32,
            "lambd": 0.001,
            "keep_prob": 0.9,
            "batch_norm": True,
            "lr_schedule": "cosine",
            "label_smoothing": 0.1,
        }
    )
    config = space.suggest(trial)
    assert config["model"] == {
        "layers": [8, 5],
        "activation": "tanh",
        "keep_prob": 0.9,
        "batch_norm": True,
    }
    assert config["training"]["epochs"] == 6 and config["training"]["batch_size"] == 32
    assert config["training"]["lr_schedule"] == "cosine"
    assert "weight_decay" not in config["training"]  # adamw's only; this trial is adam's
    # A finished trial's params give back the same tables, the fixed values included.
    assert space.config_of(trial.params) == config


@pytest.mark.parametrize(
    "text, message",
    [
        ("[space]\nalpha = 1\n", "unknown key 'alpha'"),
        ("[space]\ndevice = 'gpu'\n", "unknown key 'device'"),
        ("[space]\nlearning_rate = { low = 0, high = 1, log = true }\n", "0 < low"),
        ("[tune]\nobjective = 'accuracy'\n", "objective must be auto or one of"),
        ("[tune]\nearly_stopping = -1\n", "early_stopping must be auto or a patience"),
        ("[searchspace]\n", "unknown table"),
        ("[space]\nactivation = []\n", "are empty"),
    ],
)
def test_malformed_space_files_are_named(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        SearchSpace.from_toml(path)


# -- pruning ---------------------------------------------------------------------------
class PruneAfter:
    """A stand-in trial whose pruner says stop after epoch ``epoch``."""

    number = 0

    def __init__(self, epoch):
        self.epoch, self.reported, self.user_attrs = epoch, [], {}

    def report(self, value, step):
        self.reported.append((step, value))

    def should_prune(self):
        return self.reported[-1][0] >= self.epoch

    def set_user_attr(self, key, value):
        self.user_attrs[key] = value


def test_every_epoch_is_reported_and_a_pruned_trial_stops_training():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 60)), (rng.random((1, 60)) < 0.5).astype(float)
    network = DeepNetwork([3, 4, 1], epochs=20, learning_rate=0.01)
    trial = PruneAfter(epoch=2)
    with pytest.raises(optuna.TrialPruned):
        train_trial(trial, network, X, Y, (X, Y), "val_cost")
    assert [step for step, _ in trial.reported] == [0, 1, 2]
    assert trial.user_attrs["epochs_run"] == 3 and len(network.history) == 3
    # The reported values are the validation costs of those epochs.
    assert [v for _, v in trial.reported] == pytest.approx(network.history.val_cost)


# -- one worker on the default SQLite storage ------------------------------------------
def test_tune_writes_a_study_a_summary_plots_and_the_retrained_best(tmp_path, capsys):
    assert main(tune_argv(tmp_path, "--name", "t", "--seed", "0")) == 0
    folder = tmp_path / "runs" / "t"
    assert (folder / "study.db").is_file()
    assert {"history.png", "importance.png", "best-config.toml", "trials.csv"} <= {
        p.name for p in folder.iterdir()
    }
    rows = list(csv.DictReader(open(folder / "trials.csv")))
    assert [int(r["number"]) for r in rows] == [0, 1, 2, 3]
    assert all(r["state"] in ("complete", "pruned") for r in rows)
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{folder / 'study.db'}")
    best = study.best_trial
    network = DeepNetwork.load(folder / f"best-trial-{best.number}" / "model.npz")
    depth = best.params["hidden_layers"]
    assert network.layer_dims[1:-1] == tuple(best.params[f"n{l}"] for l in range(1, depth + 1))
    assert network.hyperparameters.optimizer == best.params["optimizer"]
    assert f"best trial {best.number}" in capsys.readouterr().out

    # Again without --resume: refused, the study is kept; with --resume it grows to 6.
    assert main(tune_argv(tmp_path, "--name", "t")) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(tune_argv(tmp_path, "--name", "t", "--resume", "--no-plots", trials=6)) == 0
    assert (
        len(optuna.load_study(study_name="t", storage=f"sqlite:///{folder / 'study.db'}").trials)
        == 6
    )


def test_bad_storage_and_trials_are_one_line_errors(tmp_path, capsys):
    assert main(tune_argv(tmp_path, "--storage", "nosuchdb://x/y")) == 2
    err = capsys.readouterr().err
    assert err.startswith("ldnn tune: error: cannot open storage") and err.count("\n") == 1
    assert main(tune_argv(tmp_path, trials=0)) == 2
    assert "--trials must be positive" in capsys.readouterr().err


def test_a_study_joined_with_the_other_objective_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    open_study(storage, "s", "maximize", None, resume=False)
    with pytest.raises(TuneError, match="use the same objective"):
        open_study(storage, "s", "minimize", None, resume=True)


# -- workers in other processes --------------------------------------------------------
def worker(tmp_path, name, *more, trials, epochs, tune=""):
    # No --seed: workers with one seed would draw the same first trials. Not quiet: each
    # lists the trials it ran.
    argv = tune_argv(
        tmp_path,
        "--name",
        name,
        "--resume",
        "--no-plots",
        *more,
        trials=trials,
        epochs=epochs,
        quiet=False,
        tune=tune,
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ldnn.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def trials_listed(output: str) -> list[int]:
    return [int(line.split()[1]) for line in output.splitlines() if line.startswith("trial ")]


def test_a_killed_worker_loses_only_its_running_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    # No early stopping: the first trial must still be training when it is killed.
    first = worker(
        tmp_path,
        "a",
        "--storage",
        url,
        "--study",
        "s",
        "--heartbeat",
        "1",
        trials=3,
        epochs=2000,
        tune="early_stopping = 0\n",
    )
    # Kill it in the middle of its first trial, once that trial has drawn all its
    # parameters (lambd is drawn last) and is training.
    deadline = time.monotonic() + 60
    running = []
    while not running and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            study = optuna.load_study(study_name="s", storage=url)
        except KeyError:
            continue  # the study is not created yet
        except sqlalchemy.exc.SQLAlchemyError:
            continue  # the worker is creating the database's tables right now
        running = [
            t
            for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
            if "lambd" in t.params
        ]
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert running, "the first worker never started a trial"
    time.sleep(2.5)  # past the grace period: two heartbeats missed
    second = worker(
        tmp_path, "b", "--storage", url, "--study", "s", "--heartbeat", "1", trials=3, epochs=4
    )
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    trials = optuna.load_study(study_name="s", storage=url).trials
    states = [t.state for t in trials]
    # The killed trial is failed; its parameters were queued again and ran to the end.
    assert states[0] == optuna.trial.TrialState.FAIL
    assert states.count(optuna.trial.TrialState.FAIL) == 1
    assert (
        sum(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states)
        == 3
    )
    assert trials[1].params == trials[0].params
    assert trials_listed(out) == [t.number for t in trials[1:]]


# -- two workers, one study, a real PostgreSQL server --------------------------------------
def _server_binaries() -> Path | None:
    """The folder with initdb and pg_ctl: on PATH or in Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """LDNN_TEST_POSTGRES_URL, or a throwaway server started here from the binaries.

    The server runs as the ``postgres`` user when the tests run as root (PostgreSQL
    refuses to run as root). Without any server binary the test is skipped, except in
    CI (CI=true), where that is a failure: CI must run it.
    """
    url = os.environ.get("LDNN_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    binaries = _server_binaries()
    if binaries is None:
        reason = (
            "no PostgreSQL server binary (initdb, pg_ctl) found and LDNN_TEST_POSTGRES_URL unset"
        )
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{reason}: CI must run the PostgreSQL test (see .ci/run)")
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="ldnn-pg-"))
    run_as = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def pg(*argv):
        return subprocess.run([*run_as, *argv], capture_output=True, text=True, timeout=120)

    done = pg(str(binaries / "initdb"), "-D", str(data), "-U", "ldnn", "-A", "trust")
    assert done.returncode == 0, done.stderr
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    done = pg(
        str(binaries / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(folder / "log"),
        "-w",
        "start",
    )
    assert done.returncode == 0, done.stderr + (folder / "log").read_text()
    try:
        yield f"postgresql://ldnn@127.0.0.1:{port}/postgres"
    finally:
        pg(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_share_one_study_on_postgresql(tmp_path, postgres_url):
    study_name = f"two-workers-{uuid.uuid4().hex[:8]}"
    trials = 12
    workers = [
        worker(
            tmp_path,
            f"w{k}",
            "--storage",
            postgres_url,
            "--study",
            study_name,
            trials=trials,
            epochs=60,
        )
        for k in (1, 2)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    for w, (_, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, err
    study = optuna.load_study(study_name=study_name, storage=storage_url(postgres_url))
    trials_done = study.trials
    numbers = [t.number for t in trials_done]
    # None lost: every trial finished; none duplicated: numbers unique and contiguous.
    assert numbers == list(range(len(numbers))) and trials <= len(numbers) <= trials + 1
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert all(t.state in finished for t in trials_done)
    # Split between the workers: each ran some, and each trial by exactly one.
    listed = [trials_listed(out) for out, _ in outputs]
    assert all(listed) and sorted(listed[0] + listed[1]) == numbers
    by_worker = {t.user_attrs["worker"] for t in trials_done}
    assert len(by_worker) == 2
    # The worker that finished last saw the final best trial and retrained it.
    best = study.best_trial.number
    models = list(tmp_path.glob(f"runs/w*/best-trial-{best}/model.npz"))
    assert models, f"no retrained model of best trial {best}"
    assert DeepNetwork.load(models[0]).layer_dims[0] == 2


# -- cross-validation ------------------------------------------------------------------------
def test_cv_folds_partition_the_training_part_by_class_and_the_value_is_their_mean(tmp_path):
    from ldnn.runs import config as configuration
    from ldnn.tune import Search

    space = SearchSpace.from_toml(write_space(tmp_path, epochs=3))
    space.settings.update(cv=3, pruner="none")
    config = configuration.merge(configuration.DEFAULTS, {"data": {"source": "xor"}}, "test")
    search = Search(config, space, tmp_path / "cv", study_name="cv", seed=0)
    labels = search.dataset.Y_train.reshape(-1)
    held = np.concatenate([np.setdiff1d(np.arange(labels.size), kept) for *_, kept in search.parts])
    assert sorted(held) == list(range(labels.size))  # each example validates exactly once
    for _, (_, Y_val), _ in search.parts:
        assert Y_val.shape[-1] in (labels.size // 3, labels.size // 3 + 1)
        assert abs(Y_val.mean() - labels.mean()) < 0.05  # stratified by class
    search.run(2)
    for trial in search.study.trials:
        folds = trial.user_attrs["fold_values"]
        assert len(folds) == 3 and trial.value == pytest.approx(np.mean(folds))


def test_cv_from_the_command_line_and_its_errors(tmp_path, capsys):
    assert main(tune_argv(tmp_path, "--cv", "2", "--no-retrain", "--no-plots", trials=2)) == 0
    assert main(tune_argv(tmp_path, "--cv", "1", "--name", "x")) == 2
    assert "cv must be 0 (one validation part) or a number of folds >= 2" in (
        capsys.readouterr().err
    )


def test_a_space_file_may_name_any_setting(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        "[space]\nclip_norm = [1.0, 5.0]\nwarmup_epochs = { low = 0, high = 3 }\n"
        "optimizer = 'adamw'\nweight_decay = 0.05\n"
    )
    space = SearchSpace.from_toml(path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    config = space.suggest(trial)
    assert config["training"]["clip_norm"] in (1.0, 5.0)
    assert 0 <= config["training"]["warmup_epochs"] <= 3
    assert isinstance(config["training"]["warmup_epochs"], int)
    assert config["training"]["weight_decay"] == 0.05 and config["training"]["optimizer"] == "adamw"


def test_seeds_train_each_trial_once_per_seed(tmp_path, capsys):
    assert (
        main(
            tune_argv(
                tmp_path,
                "--seeds",
                "0,1",
                "--cv",
                "2",
                "--name",
                "s",
                "--no-retrain",
                "--no-plots",
                trials=2,
            )
        )
        == 0
    )
    folder = tmp_path / "runs" / "s"
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{folder / 'study.db'}")
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            values = trial.user_attrs["fold_values"]
            assert len(values) == 4 and trial.value == pytest.approx(np.mean(values))
            assert trial.user_attrs["sd"] == pytest.approx(np.std(values, ddof=1))
    assert main(tune_argv(tmp_path, "--seeds", "1,1", "--name", "t")) == 2
    assert "different whole numbers" in capsys.readouterr().err


def test_a_new_study_starts_from_the_measured_settings(tmp_path):
    """Without data, the first trials are MNIST-1D's measured settings; on data, ldnn
    train's defaults, then the demo's network and the cosine recipe scaled to the table.
    A space that cannot draw a point leaves it out, --trials bounds how many are queued,
    and a joined study enqueues nothing."""
    from ldnn.tune.space import STARTING_POINTS

    default = SearchSpace()
    points = default.starting_points()
    assert [p["hidden_layers"] for p in points] == [len(p["layers"]) for p in STARTING_POINTS]
    assert points[1]["n3"] == 768 and points[1]["lr_schedule"] == "cosine"
    small = SearchSpace.from_toml(write_space(tmp_path))  # units 4..16, epochs fixed
    assert small.starting_points() == []
    wide = tmp_path / "wide.toml"
    wide.write_text(
        '[space]\nunits = { low = 4, high = 300 }\nepochs = 2\noptimizer = ["adam", "rmsprop"]\n'
    )
    argv = [
        "tune",
        "xor",
        "--trials",
        "2",
        "--space",
        str(wide),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--name",
        "s",
        "-q",
        "--no-plots",
        "--no-retrain",
    ]
    assert main(argv) == 0
    url = f"sqlite:///{tmp_path / 'runs' / 's' / 'study.db'}"
    study = optuna.load_study(study_name="s", storage=url)
    first, second = (t.params for t in study.trials[:2])
    # ldnn train's defaults: 256,256 at the widest xor allows (32), alpha 0.001, dropout 0.8
    assert (first["hidden_layers"], first["n1"], first["n2"]) == (2, 32, 32)
    assert first["learning_rate"] == 0.001 and first["keep_prob"] == 0.8
    # the demo's network at half the widest width xor allows (32): 16-16, dropout 0.5
    assert (second["hidden_layers"], second["n1"], second["n2"]) == (2, 16, 16)
    assert second["learning_rate"] == 0.002 and second["keep_prob"] == 0.5
    assert len(study.trials) == 2  # the third point waits for no one: --trials 2
    assert main([*argv, "--trials", "3", "--resume"]) == 0  # joined: nothing enqueued again
    study = optuna.load_study(study_name="s", storage=url)
    assert len(study.trials) == 3 and [t.params for t in study.trials].count(first) == 1


# -- a space sized to the data -----------------------------------------------------------
def test_the_default_space_is_sized_to_the_table():
    """More examples and more features allow wider layers, until an epoch's work caps
    them; batches grow with m; the epochs cap is about the same number of steps."""
    from ldnn.tune import sizing

    passengers, census = sizing.sized_space(570, 11), sizing.sized_space(20839, 30)
    assert passengers["units"]["high"] == 128 and census["units"]["high"] == 256
    assert passengers["batch_size"] == [16, 32, 64, 128]
    assert census["batch_size"] == [64, 128, 256, 512]
    assert sizing.widest(3200, 40) == 512  # MNIST-1D: near its 768-wide recipe
    assert sizing.widest(10**6, 1000) == 32  # a million rows: an epoch's work bounds it
    assert passengers["epochs"] == 200 and 40 <= census["epochs"] <= 60
    assert sizing.patience(200) == 20 and sizing.patience(49) == 5
    widths = [sizing.widest(m, 20) for m in (50, 500, 5000, 50000, 500000)]
    assert widths == [32, 128, 512, 128, 32]  # up with the data, then down with the work
    batches = [sizing.batch_size(m) for m in (50, 500, 5000, 50000, 500000)]
    assert batches == sorted(batches) and batches[-1] == 1024


def test_a_space_file_keeps_what_it_names(tmp_path):
    space = SearchSpace.from_toml(write_space(tmp_path, epochs=7))
    sized = space.for_data(20839, 30, scores={"val_cost", "val_accuracy"}, cross_entropy=True)
    assert sized.space["units"] == {"low": 4, "high": 16}  # named: kept
    assert sized.space["batch_size"] == [32, 64] and sized.space["epochs"] == 7
    assert sized.space["learning_rate"] == SearchSpace().space["learning_rate"]
    assert sized.settings["objective"] == "val_accuracy"
    assert sized.settings["early_stopping"] == 5  # a tenth of 7 epochs, at least 5
    assert space.settings["objective"] == "auto"  # the space itself is unchanged


# -- regression ------------------------------------------------------------------------------
def fares_table(tmp_path, m=200) -> Path:
    """The passengers' table with the fare, a number, as the target."""
    sys.path.insert(0, str(Path(__file__).parent))
    from public_tables import passengers, write_csv

    path = tmp_path / "fares.csv"
    write_csv(path, passengers(m))
    return path


def test_tune_on_a_regression_table_completes(tmp_path, capsys):
    """The default space and objective work for mean squared error: no label smoothing
    is drawn, the objective is the validation R^2, and the best trial is retrained."""
    path = fares_table(tmp_path)
    argv = ["tune", str(path), "--target", "Fare", "--runs-dir", str(tmp_path / "runs")]
    assert main([*argv, "--trials", "4", "--name", "r", "--seed", "0", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "val_r2" in out and "R^2" in out
    folder = tmp_path / "runs" / "r"
    study = optuna.load_study(study_name="r", storage=f"sqlite:///{folder / 'study.db'}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert all("label_smoothing" not in t.params for t in study.trials)
    assert any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    model = DeepNetwork.load(folder / f"best-trial-{study.best_trial.number}" / "model.npz")
    assert model.hyperparameters.loss == "mean_squared_error"
    assert "label_smoothing = 0.0\n" in (folder / "best-config.toml").read_text()
    # val_cost works too; accuracy, and label smoothing named in a space file, are
    # refused at once, before any trial trains.
    cost = ["--trials", "1", "--name", "c", "--objective", "val_cost", "--no-plots"]
    assert main([*argv, *cost, "--no-retrain"]) == 0
    assert main([*argv, "--name", "a", "--objective", "val_accuracy"]) == 2
    assert "objective val_accuracy needs classes" in capsys.readouterr().err
    smoothing = tmp_path / "smoothing.toml"
    smoothing.write_text("[space]\nlabel_smoothing = [0.0, 0.1]\n")
    assert main([*argv, "--name", "b", "--space", str(smoothing)]) == 2
    assert "label_smoothing is for the cross-entropy losses" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "b" / "study.db").exists()


def test_val_r2_is_the_validation_parts_r2():
    from sklearn.metrics import r2_score

    from ldnn.tune.trial import objective_value, target_spread

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 80))
    Y = np.vstack([X[0] - 2 * X[1], X[2] ** 2]) + 0.1 * rng.standard_normal((2, 80))
    network = DeepNetwork([3, 8, 2], output="linear", loss="mean_squared_error", epochs=5)
    network.fit(X, Y, validation_data=(X, Y))
    record = network.history.rows()[-1]
    A = network.predict(X).reshape(2, -1)
    expected = r2_score(Y.T, A.T, multioutput="variance_weighted")
    assert objective_value(record, "val_r2", target_spread(Y)) == pytest.approx(expected, 1e-5)


# -- pruning, early stopping and the time budget -------------------------------------------
#: Every setting fixed but alpha: a good one (0.05) and one too small to learn (1e-6).
FIXED = """
[space]
learning_rate = [0.05, 1e-6]
hidden_layers = 1
units = 8
activation = "tanh"
optimizer = "adam"
batch_size = 32
lambd = 1e-6
keep_prob = 1.0
batch_norm = false
lr_schedule = "constant"
label_smoothing = 0.0
epochs = %d

[tune]
pruner = "median"
startup_trials = 2
warmup_epochs = 2
early_stopping = %d
"""


def xor_search(tmp_path, epochs: int, patience: int, name: str = "s", training=None):
    from ldnn.runs import config as configuration
    from ldnn.tune import Search

    path = tmp_path / f"{name}.toml"
    path.write_text(FIXED % (epochs, patience))
    changes = {"data": {"source": "xor"}, "training": training or {}}
    config = configuration.merge(configuration.DEFAULTS, changes, "test")
    space = SearchSpace.from_toml(path)
    return Search(config, space, tmp_path / name, study_name=name, seed=0)


def test_the_pruner_cuts_a_bad_trial_on_the_value_of_every_epoch(tmp_path):
    search = xor_search(tmp_path, epochs=20, patience=0)
    assert search.space.starting_points() == []  # none of them has alpha 0.05 or 1e-6
    for alpha in (0.05, 0.05, 1e-6):
        search.study.enqueue_trial({"learning_rate": alpha})
    search.run(3)
    good, again, bad = search.study.trials
    assert good.state == again.state == optuna.trial.TrialState.COMPLETE
    # Every epoch reported its validation accuracy, the value the trial is judged by.
    assert sorted(good.intermediate_values) == list(range(20))
    assert good.value == good.intermediate_values[19] == good.user_attrs["val_accuracy"]
    # The trial that cannot learn stopped at the first epoch past the warmup.
    assert bad.state == optuna.trial.TrialState.PRUNED
    assert sorted(bad.intermediate_values) == [0, 1, 2] and bad.user_attrs["epochs_run"] == 3
    assert max(bad.intermediate_values.values()) < good.intermediate_values[2]


def test_every_trial_stops_early_and_keeps_its_best_epoch(tmp_path):
    """A trial stops `early_stopping` epochs after its lowest validation cost and is
    judged there; the best trial is retrained for the epochs it kept. (Without weight
    averaging: the average's validation cost falls for longer.)"""
    search = xor_search(tmp_path, epochs=400, patience=10, training={"swa_start": 0})
    search.study.enqueue_trial({"learning_rate": 0.05})
    search.run(1)
    (trial,) = search.study.trials
    run, kept = trial.user_attrs["epochs_run"], trial.user_attrs["kept_epochs"]
    assert kept + 10 == run < 400  # stopped 10 epochs after the best one
    values = trial.intermediate_values
    assert trial.value == values[kept - 1] == trial.user_attrs["val_accuracy"]
    search.write_best(pictures=False)
    best = (search.folder / "best-config.toml").read_text()
    assert f"epochs = {kept}\n" in best and "early_stopping = 0\n" in best
    assert "validation_split = 0.0\n" in best  # the whole training part, not the default
    assert search.reserve(retrain=False) < search.reserve()  # the retraining's time too
    assert "swa_start = 0\n" in best
    assert "ensemble = 1\n" in best  # the trials were one network each, so is the best


def test_the_best_trial_is_retrained_averaging_from_the_same_epoch(tmp_path):
    """swa_start "auto" averages a trial's epochs from epoch 1 (it has a validation part);
    the retraining has none, so best-config.toml says swa_start = 1 itself, and the
    retrained model is that average."""
    search = xor_search(tmp_path, epochs=30, patience=5)
    search.study.enqueue_trial({"learning_rate": 0.05})
    search.run(1)
    (trial,) = search.study.trials
    search.write_best(pictures=False)
    best = (search.folder / "best-config.toml").read_text()
    kept = trial.user_attrs["kept_epochs"]
    assert kept > 1 and f"epochs = {kept}\n" in best and "swa_start = 1\n" in best
    run = search.retrain(trial.number, pictures=False)
    assert run.network.hyperparameters.swa_start == 1


def test_a_time_budget_ends_the_search_and_the_trial_under_way(tmp_path, capsys):
    """With --time and no --trials, trials run until the time left is what the
    retraining needs; the trial under way stops there and keeps its best epoch."""
    space = write_space(tmp_path, epochs=10**6, tune="early_stopping = 0\n")
    argv = ["tune", "xor", "--space", str(space), "--runs-dir", str(tmp_path / "runs")]
    started = time.monotonic()
    assert main([*argv, "--time", "4s", "--name", "t", "--no-plots"]) == 0
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert "stopped by --time" in out and "--time: no more trials after" in out
    assert elapsed < 4 + 6  # near the budget (slack for a busy machine)
    folder = tmp_path / "runs" / "t"
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{folder / 'study.db'}")
    cut = study.trials[-1]
    assert cut.state == optuna.trial.TrialState.COMPLETE and cut.user_attrs["out_of_time"]
    assert cut.user_attrs["epochs_run"] < 10**6
    assert (folder / f"best-trial-{study.best_trial.number}" / "model.npz").is_file()


@pytest.mark.parametrize(
    "text, seconds",
    [("90s", 90), ("5m", 300), ("1h30m", 5400), ("2m30s", 150), ("300", 300), ("0.5h", 1800)],
)
def test_time_budgets_are_read_as_durations(text, seconds):
    from ldnn.cli.tune import duration

    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "1h30", "0s", "-5m"])
def test_a_bad_time_budget_is_a_one_line_error(tmp_path, capsys, text):
    assert main(tune_argv(tmp_path, "--time", text)) == 2
    err = capsys.readouterr().err
    assert "--time" in err and err.count("\n") == 1
