"""Stochastic weight averaging (``swa_start``): the model is the mean of the parameters at
the end of each epoch from the start epoch on, theta_swa = (n theta_swa + theta) / (n + 1),
computed here again by hand from each epoch's parameters (a callback sees theta itself);
with validation, early stopping keeps the best average; off, nothing moves; an
interrupted fit goes on to the same numbers, through a checkpoint file too.
"""

from __future__ import annotations

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.core.hyperparameters import Hyperparameters
from ldnn.core.losses import get_loss
from ldnn.core.metrics import cost_and_accuracy
from ldnn.core.propagation import resolve_activations
from ldnn.data import make_spirals
from ldnn.errors import ConfigurationError
from ldnn.training.averaging import swa_start_epoch

LAYERS = [2, 8, 6, 1]


def data():
    return make_spirals(120, seed=1)


def network(**more):
    settings = dict(
        optimizer="adam",
        learning_rate=0.02,
        batch_size=16,
        keep_prob=0.9,
        lambd=0.01,
        dtype="float64",
        seed=3,
        epochs=8,
    )
    return DeepNetwork(LAYERS, **(settings | more))


class Recorder:
    """A callback keeping a copy of the parameters it is shown at the end of every epoch
    (theta before the average's start, the average from it on)."""

    def __init__(self):
        self.epochs = []

    def __call__(self, epoch, record, parameters):
        self.epochs.append({k: v.copy() for k, v in parameters.items()})


def thetas(fit_settings=None, fits=((),), **settings) -> list[dict]:
    """theta at the end of every epoch of the same fit without SWA (whose steps are the
    same: tested below), as a callback sees it there."""
    plain, seen = network(**(settings | {"swa_start": 0})), Recorder()
    for i, epochs in enumerate(fits):
        more = {"epochs": epochs[0]} if epochs else {}
        plain.fit(*data(), callbacks=[seen], warm_start=i > 0, **more, **(fit_settings or {}))
    return seen.epochs


def mean_of(epochs: list[dict]) -> dict:
    return {k: np.mean([p[k] for p in epochs], axis=0) for k in epochs[0]}


def assert_close(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-14, err_msg=k)


def assert_same(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("swa_start, first", [(3, 3), (0.5, 4), (0.01, 0)])
def test_the_model_is_the_mean_of_the_epochs_parameters(swa_start, first):
    """... and what a callback is shown from the start on (a test part's curve, a
    tracker) is the average so far, the model the fit would end with there."""
    X, Y = data()
    seen = Recorder()
    net = network(swa_start=swa_start)
    assert swa_start_epoch(net.hyperparameters) == first
    net.fit(X, Y, callbacks=[seen])
    theta = thetas()
    assert len(seen.epochs) == len(theta) == 8
    # epochs first..7, each epoch's theta counted once
    assert_close(net.parameters, mean_of(theta[first:]))
    for e in range(8):
        assert_close(seen.epochs[e], mean_of(theta[first : e + 1]) if e >= first else theta[e])


def test_the_steps_in_between_are_those_of_training_without_it():
    """The average stands in theta's place only to be scored: theta's own path (each
    epoch's parameters, costs and shuffles) is bit for bit the one of a fit without SWA."""
    X, Y = data()
    plain, averaged = Recorder(), Recorder()
    settings = {"validation_split": 0.25, "early_stopping": None}
    a = network(**settings)
    a.fit(X, Y, callbacks=[plain])
    b = network(swa_start=2, **settings)
    b.fit(X, Y, callbacks=[averaged])
    assert_close(b.parameters, mean_of(plain.epochs[2:]))  # so theta's path was a's
    for p, q in zip(plain.epochs[:2], averaged.epochs[:2], strict=True):
        assert_same(p, q)
    assert a.history.cost == b.history.cost
    assert a.history.val_cost[:2] == b.history.val_cost[:2]  # before the start: theta's
    assert a.history.val_cost[2:] != b.history.val_cost[2:]  # from it on: the average's


def test_off_it_changes_nothing():
    X, Y = data()
    default, off = network(), network(swa_start=0)
    assert default.hyperparameters.swa_start == 0 and swa_start_epoch(off.hyperparameters) is None
    default.fit(X, Y)
    off.fit(X, Y)
    assert_same(default.parameters, off.parameters)
    assert default.history.rows() == off.history.rows()


@pytest.mark.parametrize("start, patience, epochs", [(10, 5, 60), (20, 5, 40)])
def test_with_early_stopping_the_best_average_is_kept(start, patience, epochs):
    """From the start on, the validation cost recorded (and watched) is the average's;
    the parameters training ends with are the best epoch's: theta itself before the
    start (here the first case: the early averages, of early epochs, score worse), the
    average up to that epoch from it on (the second)."""
    X, Y = data()
    X_val, Y_val = make_spirals(60, seed=2)
    net = network(swa_start=start, epochs=epochs, early_stopping=patience)
    history = net.fit(X, Y, validation_data=(X_val, Y_val))
    seen = Recorder()
    seen.epochs = thetas(epochs=epochs)[: len(history)]
    hp = net.hyperparameters
    activations, loss = resolve_activations(hp.activations, hp.L), get_loss(hp.loss)
    averages = {e: mean_of(seen.epochs[start : e + 1]) for e in range(start, len(seen.epochs))}
    for e, average in averages.items():
        cost, accuracy = cost_and_accuracy(average, X_val, Y_val, activations, loss)
        assert history.val_cost[e] == pytest.approx(cost, rel=1e-10)
        assert history.val_accuracy[e] == pytest.approx(accuracy)
    best = history.best_epoch
    assert best == int(np.argmin(history.val_cost))
    if start == 10:
        assert best < start and history.stop_reason == "early stopping"
        assert_same(net.parameters, seen.epochs[best])
    else:
        assert best >= start
        assert_close(net.parameters, averages[best])


@pytest.mark.parametrize("stop_after", [3, 9, 17, 30, 41])
@pytest.mark.parametrize("early_stopping", [None, 2])
def test_a_fit_stopped_between_two_steps_continues_to_the_same_average(stop_after, early_stopping):
    from test_continuation import StopAfter

    X, Y = data()
    settings = {"swa_start": 2, "validation_split": 0.25, "early_stopping": early_stopping}
    whole = network(**settings)
    whole.fit(X, Y)
    net = network(**settings)
    first = net.fit(X, Y, stop=StopAfter(stop_after))
    assert first.stop_reason == "interrupted"
    net.fit(X, Y, epochs=8 - net.epochs_trained, warm_start=True)
    assert_same(whole.parameters, net.parameters)
    assert net.history.val_cost == whole.history.val_cost
    assert net.history.best_epoch == whole.history.best_epoch


@pytest.mark.parametrize("stop_after", [10, 40])
@pytest.mark.parametrize("early_stopping", [None, 2])
def test_a_checkpoint_file_holds_the_average(stop_after, early_stopping, tmp_path):
    """A model file saved while the average runs (ldnn.model.continuation's
    unfinished.swa_mean) goes on to the numbers of a fit that never stopped."""
    from test_continuation import StopAfter

    X, Y = data()
    settings = {"swa_start": 4, "validation_split": 0.25, "early_stopping": early_stopping}
    whole = network(**settings)
    whole.fit(X, Y)
    net = network(**settings)
    net.fit(X, Y, stop=StopAfter(stop_after))  # in epoch 1 or in epoch 6 (6 steps an epoch)
    net.save(tmp_path / "checkpoint.npz")
    resumed = DeepNetwork.load(tmp_path / "checkpoint.npz")
    assert resumed.unfinished.position.swa_count == max(0, resumed.unfinished.position.epoch - 4)
    resumed.fit(X, Y, epochs=8 - resumed.epochs_trained, warm_start=True)
    assert_same(whole.parameters, resumed.parameters)
    assert resumed.history.val_cost == whole.history.val_cost


def test_warm_starts_count_epochs_on():
    """A warm start's epochs go on counting, so a start in a later fit's epochs waits."""
    X, Y = data()
    net = network(swa_start=10, epochs=12)
    net.fit(X, Y, epochs=6)
    net.fit(X, Y, epochs=6, warm_start=True)
    theta = thetas(epochs=12, fits=((6,), (6,)))
    assert_close(net.parameters, mean_of(theta[10:]))


@pytest.mark.parametrize(
    "value, fragment",
    [
        (-1, "swa_start must be 0 (off), a fraction in (0, 1) of epochs or a whole epoch >= 1"),
        (1.5, "got 1.5"),
        (float("nan"), "got nan"),
        ("half", "got 'half'"),
        (True, "got True"),
        (8, "below epochs = 8, got 8"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(value, fragment):
    with pytest.raises(ConfigurationError, match="swa_start") as error:
        network(swa_start=value)
    assert fragment in str(error.value) and error.value.field == "swa_start"


def test_lbfgs_and_batch_norm_are_refused():
    with pytest.raises(ConfigurationError, match="mini-batch optimizer.*not lbfgs"):
        Hyperparameters.create(LAYERS, optimizer="lbfgs", swa_start=2)
    with pytest.raises(ConfigurationError, match="running mean and variance"):
        Hyperparameters.create(LAYERS, batch_norm=True, optimizer="adam", swa_start=2)


def test_the_config_key_and_the_flag(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from ldnn.cli import main
    from ldnn.cli.train_flags import swa_start
    from ldnn.runs import config as configuration

    assert configuration.DEFAULTS["training"]["swa_start"] == "auto"
    config = configuration.merge(configuration.DEFAULTS, {"training": {"swa_start": 0.5}}, "t")
    assert config["training"]["swa_start"] == 0.5
    with pytest.raises(ConfigurationError, match=r"\[training\] swa_start must be 0 \(off\)"):
        configuration.merge(configuration.DEFAULTS, {"training": {"swa_start": "late"}}, "t")
    assert swa_start("0.75") == 0.75 and swa_start("20") == 20 and swa_start("0") == 0
    assert swa_start("auto") == "auto"
    monkeypatch.chdir(tmp_path)
    X = np.random.default_rng(0).normal(size=(40, 2))
    np.savez("binary.npz", X=X, y=(X[:, 0] > 0).astype(int))
    assert main(["train", "--help"]) == 0
    assert "--swa START" in capsys.readouterr().out
    for argv, fragments in (
        (["--swa", "late"], ["--swa", "expected auto, 0 (off)", "got 'late'"]),
        (["--swa", "2.5"], ["--swa", "got '2.5'"]),
        (["--swa", "9", "--epochs", "5"], ["below epochs = 5, got 9", "(flag --swa)"]),
    ):
        status = main(["train", "binary.npz", "-q", "--no-plots", *argv])
        err = capsys.readouterr().err.strip().splitlines()
        assert status == 2 and len(err) == 1, err
        assert all(f in err[0] for f in fragments), err
    status = main(["train", "binary.npz", "-q", "--no-plots", "--epochs", "6", "--swa", "0.5"])
    assert status == 0
    saved = (tmp_path / "runs").glob("*/config.toml")
    assert "swa_start = 0.5" in next(saved).read_text()


@pytest.mark.parametrize(
    "flags, start",
    [
        ([], 1),  # a validation part, early stopping: averaged from epoch 1
        (["--swa", "auto"], 1),
        (["--batch-norm", "true"], 0),  # its running statistics are one epoch's: no average
        (["--no-early-stopping"], 0),
        (["--val-split", "0"], 0),
        (["--epochs", "1"], 0),
        (["--swa", "3"], 3),
    ],
)
def test_auto_averages_when_early_stopping_watches_a_validation_part(
    flags, start, tmp_path, monkeypatch, capsys
):
    """ldnn train's default swa_start "auto", resolved in the run's config.toml and said
    on the model line; the model is the average the same fit keeps with swa_start = 1."""
    from ldnn.cli import main
    from ldnn.io.toml import read_toml

    monkeypatch.chdir(tmp_path)
    X = np.random.default_rng(0).normal(size=(200, 2))
    np.savez("binary.npz", X=X, y=(X[:, 0] * X[:, 1] > 0).astype(int))
    argv = ["train", "binary.npz", "--no-plots", "--epochs", "30", "--threads", "1", *flags]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("weights averaged from epoch" in out) == bool(start), out
    folder = next((tmp_path / "runs").iterdir())
    assert read_toml(folder / "config.toml")["training"]["swa_start"] == start
    if flags == []:
        auto = DeepNetwork.load(folder / "model.npz")
        assert main([*argv, "--swa", "1", "--name", "explicit"]) == 0
        explicit = DeepNetwork.load(tmp_path / "runs" / "explicit" / "model.npz")
        assert_same(auto.parameters, explicit.parameters)


def test_on_a_device_it_averages_as_on_the_cpu():
    """The average lives where theta does (CuPy's stand-in, tests/fake_gpu.py): the same
    numbers bit for bit, and no host read per step."""
    from fake_gpu import fake_gpu

    X, Y = data()
    settings = {"swa_start": 2, "validation_split": 0.25, "early_stopping": 3, "epochs": 12}
    cpu = network(**settings)
    cpu.fit(X, Y)
    with fake_gpu():
        gpu = network(device="gpu", **settings)
        gpu.fit(X, Y)
    assert_same(cpu.parameters, {k: np.asarray(v) for k, v in gpu.parameters.items()})
    assert gpu.history.val_cost == cpu.history.val_cost


@pytest.mark.parametrize("ranks", [2, 3])
def test_on_mpi_ranks_every_rank_keeps_the_average_of_one_process(ranks):
    """theta is the same on every rank, so its average is too: no reduce of it, and the
    validation cost of the average is the sum over the ranks' shares (thread stand-ins
    of the ranks, tests/mpi/thread_comm.py; real ranks agree with them in test_parallel)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "mpi"))
    from thread_comm import run_ranks

    from ldnn.training.mpi import share

    X, Y = data()
    X_val, Y_val = make_spirals(60, seed=2)
    settings = {"swa_start": 2, "early_stopping": 3, "epochs": 10}
    one = network(**settings)
    one.fit(X, Y, validation_data=(X_val, Y_val))

    def rank_fit(comm):
        size, rank = comm.Get_size(), comm.Get_rank()
        part, val = share(X.shape[1], size, rank), share(X_val.shape[1], size, rank)
        net = network(**settings)
        net.fit(X[:, part], Y[:, part], validation_data=(X_val[:, val], Y_val[:, val]), comm=comm)
        return net

    for net in run_ranks(ranks, rank_fit):
        for key, value in one.parameters.items():
            np.testing.assert_allclose(net.parameters[key], value, rtol=0, atol=1e-9)
        np.testing.assert_allclose(net.history.val_cost, one.history.val_cost, rtol=1e-9)
        assert net.history.best_epoch == one.history.best_epoch


def test_the_estimators_average_by_default_as_ldnn_train_does():
    """DNNClassifier / DNNRegressor's swa_start "auto": from epoch 1 whenever early
    stopping holds out a validation part (at least 100 examples, early_stopping "auto"),
    not with batch norm, not in partial_fit; equal to swa_start = 1 given."""
    from ldnn.sklearn import DNNClassifier, DNNRegressor

    X = np.random.default_rng(0).normal(size=(150, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    small = dict(hidden_layer_sizes=(8,), epochs=15, random_state=0)
    auto = DNNClassifier(**small).fit(X, y)
    assert auto.network_.hyperparameters.swa_start == 1
    given = DNNClassifier(swa_start=1, **small).fit(X, y)
    assert_same(auto.network_.parameters, given.network_.parameters)
    off = DNNClassifier(swa_start=0, **small).fit(X, y)
    assert not np.array_equal(off.network_.parameters["W1"], auto.network_.parameters["W1"])
    assert DNNClassifier(batch_norm=True, **small).fit(X, y).network_.hyperparameters.swa_start == 0
    assert DNNClassifier(**small).fit(X[:60], y[:60]).network_.hyperparameters.swa_start == 0
    assert DNNRegressor(**small).fit(X, X[:, 0]).network_.hyperparameters.swa_start == 1
    partial = DNNClassifier(**small).partial_fit(X, y, classes=[0, 1])
    assert partial.network_.hyperparameters.swa_start == 0
