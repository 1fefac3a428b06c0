"""The recipes after the course: AdamW, Nesterov's momentum, step / cosine / plateau
schedules with warmup, gradient clipping and label smoothing. Each against a plain
implementation written here (float64, 1e-10), and against PyTorch where it is installed."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from ldnn import ConfigurationError, DeepNetwork, InvalidValueError
from ldnn.core.losses import get_loss
from ldnn.core.optimizers import get_optimizer
from ldnn.core.propagation import backward, compute_cost, forward
from ldnn.core.schedules import Plateau, scheduled_learning_rate

TOL = 1e-10


def params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=(3, 1))}


def grads_at(t, seed=0):
    rng = np.random.default_rng(100 + t + seed)
    return {"dW1": rng.normal(size=(3, 4)), "db1": rng.normal(size=(3, 1))}


# -- optimizers ----------------------------------------------------------------------------
def test_adamw_is_adam_plus_decoupled_decay():
    lr, wd, b1, b2, eps = 0.01, 0.1, 0.9, 0.999, 1e-8
    P = params()
    mine = copy.deepcopy(P)
    m = {k: np.zeros_like(v) for k, v in P.items()}
    s = {k: np.zeros_like(v) for k, v in P.items()}
    optimizer = get_optimizer("adamw", weight_decay=wd)
    for t in range(1, 6):
        g = grads_at(t)
        optimizer.update(P, g, lr)
        for k in mine:  # theta <- theta - alpha (m_hat / (sqrt(s_hat) + eps) + wd theta)
            m[k] = b1 * m[k] + (1 - b1) * g["d" + k]
            s[k] = b2 * s[k] + (1 - b2) * g["d" + k] ** 2
            m_hat, s_hat = m[k] / (1 - b1**t), s[k] / (1 - b2**t)
            mine[k] = mine[k] - lr * (m_hat / (np.sqrt(s_hat) + eps) + wd * mine[k])
    for k in P:
        np.testing.assert_allclose(P[k], mine[k], rtol=0, atol=TOL)


def test_nesterov_looks_ahead_along_the_velocity():
    lr, beta = 0.1, 0.9
    P = params()
    mine = copy.deepcopy(P)
    v = {k: np.zeros_like(x) for k, x in P.items()}
    optimizer = get_optimizer("momentum", beta=beta, nesterov=True)
    for t in range(1, 6):
        g = grads_at(t)
        optimizer.update(P, g, lr)
        for k in mine:  # v = beta v + (1 - beta) g; theta -= alpha (beta v + (1 - beta) g)
            v[k] = beta * v[k] + (1 - beta) * g["d" + k]
            mine[k] = mine[k] - lr * (beta * v[k] + (1 - beta) * g["d" + k])
        assert np.array_equal(g["dW1"], grads_at(t)["dW1"])  # the caller's gradient kept
    for k in P:
        np.testing.assert_allclose(P[k], mine[k], rtol=0, atol=TOL)


def test_adamw_and_nesterov_against_pytorch():
    torch = pytest.importorskip("torch")
    for name, make in (
        ("adamw", lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, eps=1e-8)),
        # PyTorch's buffer is sum beta^k g, ldnn's v is (1 - beta) times it: the same steps
        # with PyTorch's learning rate times (1 - beta).
        (
            "momentum",
            lambda p: torch.optim.SGD(p, lr=0.1 * (1 - 0.9), momentum=0.9, nesterov=True),
        ),
    ):
        P = params()
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
        reference = make(list(tensors.values()))
        settings = {"weight_decay": 0.1} if name == "adamw" else {"nesterov": True}
        optimizer = get_optimizer(name, **settings)
        for t in range(1, 6):
            g = grads_at(t)
            optimizer.update(P, g, 0.01 if name == "adamw" else 0.1)
            for k, tensor in tensors.items():
                tensor.grad = torch.tensor(g["d" + k])
            reference.step()
        for k in P:
            np.testing.assert_allclose(P[k], tensors[k].detach().numpy(), rtol=0, atol=TOL)


# -- schedules -----------------------------------------------------------------------------
def test_schedules_by_their_formulas():
    a0 = 0.1
    rates = [scheduled_learning_rate(a0, e, "step", 0.5, 3) for e in range(7)]
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], abs=TOL)
    E, W, low = 10, 2, 0.01
    cosine = [
        scheduled_learning_rate(a0, e, "cosine", epochs=E, warmup_epochs=W, min_learning_rate=low)
        for e in range(12)
    ]
    expected = [a0 * 1 / 2, a0 * 2 / 2]  # warmup: alpha0 (e + 1) / W
    expected += [
        low + (a0 - low) * (1 + math.cos(math.pi * min(e - W, 8) / 8)) / 2 for e in range(W, 12)
    ]
    assert cosine == pytest.approx(expected, abs=TOL)
    assert cosine[-1] == pytest.approx(low, abs=TOL)  # after the last epoch: the floor
    # warmup before any schedule, the course's decays unchanged
    assert scheduled_learning_rate(a0, 0, "inverse_time", 1.0, warmup_epochs=4) == a0 / 4
    assert scheduled_learning_rate(a0, 4, "inverse_time", 1.0, warmup_epochs=4) == a0 / 5


def test_plateau_waits_patience_epochs_then_reduces():
    plateau = Plateau(1.0, 0.5, patience=2, min_learning_rate=0.2)
    costs = [5, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3]
    seen = []
    for cost in costs:
        seen.append(plateau.learning_rate)
        plateau.observe(cost)
    # bad epochs after 4: 1, 2, 3 (> 2: halve), then after 3: 1, 2, 3 (halve), 1, 2, 3 ...
    assert seen == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    plateau.observe(3), plateau.observe(3), plateau.observe(3)
    assert plateau.learning_rate == 0.2  # never below the floor


def test_schedules_against_pytorch():
    torch = pytest.importorskip("torch")
    a0, E = 0.1, 12
    cases = {
        "step": (
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
            {"decay_rate": 0.5, "time_interval": 3},
        ),
        "cosine": (
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=E, eta_min=0.01),
            {"epochs": E, "min_learning_rate": 0.01},
        ),
    }
    for schedule, (make, settings) in cases.items():
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=a0)
        scheduler, theirs = make(optimizer), []
        for _ in range(E):
            theirs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        mine = [scheduled_learning_rate(a0, e, schedule, **settings) for e in range(E)]
        assert mine == pytest.approx(theirs, abs=TOL), schedule
    costs = [5.0, 4.0, 4.0, 4.5, 4.0, 3.0, 3.0, 3.1, 3.0, 3.0, 2.0, 2.5]
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=a0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=2, threshold=0.0, min_lr=0.001
    )
    plateau, mine, theirs = Plateau(a0, 0.5, 2, 0.001), [], []
    for cost in costs:
        mine.append(plateau.learning_rate)
        theirs.append(optimizer.param_groups[0]["lr"])
        plateau.observe(cost)
        scheduler.step(cost)
    assert mine == pytest.approx(theirs, abs=TOL)


# -- the training loop: schedules, clipping, label smoothing -----------------------------------
def data(m=120, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4, m))
    y = np.argmax(rng.normal(size=(classes, 4)) @ X, axis=0)
    return X, y


def test_a_fit_records_each_epochs_rate_and_plateau_needs_validation():
    X, y = data()
    net = DeepNetwork(
        [4, 8, 3],
        epochs=12,
        batch_size=40,
        learning_rate=0.1,
        optimizer="gd",
        lr_schedule="cosine",
        warmup_epochs=2,
        min_learning_rate=0.01,
        dtype="float64",
        seed=0,
    )
    history = net.fit(X, y)
    expected = [
        scheduled_learning_rate(
            0.1, e, "cosine", epochs=12, warmup_epochs=2, min_learning_rate=0.01
        )
        for e in range(12)
    ]
    assert history.learning_rate == pytest.approx(expected, abs=TOL)
    plateau = DeepNetwork(
        [4, 8, 3],
        epochs=20,
        batch_size=30,
        lr_schedule="plateau",
        decay_rate=0.5,
        lr_patience=1,
        learning_rate=0.3,
        optimizer="momentum",
        seed=1,
    )
    with pytest.raises(ConfigurationError, match="plateau' watches the validation cost"):
        plateau.fit(X, y)
    history = plateau.fit(X, y, validation_data=data(40, seed=5))
    replay = Plateau(0.3, 0.5, 1)
    for rate, cost in zip(history.learning_rate, history.val_cost, strict=True):
        assert rate == pytest.approx(replay.learning_rate, abs=TOL)
        replay.observe(cost)
    assert min(history.learning_rate) < 0.3  # it did reduce


def test_plateau_and_clipping_continue_bit_for_bit_through_a_file(tmp_path):
    X, y = data()
    validation = data(40, seed=5)
    settings = dict(
        epochs=20,
        batch_size=30,
        learning_rate=0.3,
        optimizer="momentum",
        nesterov=True,
        lr_schedule="plateau",
        decay_rate=0.5,
        lr_patience=1,
        clip_norm=0.2,
        seed=1,
    )
    whole = DeepNetwork([4, 8, 3], **settings)
    whole.fit(X, y, validation_data=validation)
    first = DeepNetwork([4, 8, 3], **settings)
    first.fit(X, y, epochs=9, validation_data=validation)
    first.save(tmp_path / "m.npz")
    again = DeepNetwork.load(tmp_path / "m.npz")
    again.fit(X, y, epochs=11, warm_start=True, validation_data=validation)
    assert min(whole.history.learning_rate) < 0.3 and max(whole.history.clipped) > 0
    for key, value in whole.parameters.items():
        assert np.array_equal(again.parameters[key], value), key
    assert whole.history.learning_rate[9:] == again.history.learning_rate
    assert whole.history.clipped[9:] == again.history.clipped


def test_clipping_scales_the_whole_gradient_to_clip_norm():
    X, y = data()
    clip = 0.05
    net = DeepNetwork(
        [4, 8, 3],
        epochs=1,
        batch_size=None,
        optimizer="gd",
        learning_rate=1.0,
        clip_norm=clip,
        dtype="float64",
        seed=0,
    )
    net.initialize()
    before = copy.deepcopy(net.parameters)
    AL, caches = forward(X, before, net.hyperparameters.activations)
    Y = get_loss("cce").prepare_targets(y, 3, np.float64)
    g = backward(AL, Y, caches, net.hyperparameters.activations, "cce", input_gradient=False)
    norm = math.sqrt(sum(float((g["d" + k] ** 2).sum()) for k in before))
    assert norm > clip  # so that it is clipped
    net.fit(X, y, warm_start=True)
    for k in before:  # one full-batch gd step on the clipped gradient
        expected = before[k] - 1.0 * g["d" + k] * clip / norm
        np.testing.assert_allclose(net.parameters[k], expected, rtol=0, atol=TOL)
    assert net.history.clipped == [1]
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(g["d" + k]) for k in before]
    total = torch.nn.utils.get_total_norm(tensors)
    assert float(total) == pytest.approx(norm, abs=TOL)


def test_label_smoothing_targets_cost_and_exact_output_gradient():
    rng = np.random.default_rng(0)
    Y = np.eye(3)[rng.integers(0, 3, 5)].T
    smoothed = get_loss("cce").smoothed(Y, 0.1)
    np.testing.assert_allclose(smoothed, Y * 0.9 + 0.1 / 3, atol=TOL)
    np.testing.assert_allclose(smoothed.sum(axis=0), 1.0, atol=TOL)
    labels = np.array([[0.0, 1.0, 1.0]])
    np.testing.assert_allclose(get_loss("bce").smoothed(labels, 0.2), [[0.1, 0.9, 0.9]])
    # dZ[L] = A[L] - Y_smoothed is the exact gradient: central differences on Z[L]
    for output, loss, targets in (
        ("softmax", "cce", smoothed),
        ("sigmoid", "bce", get_loss("bce").smoothed((rng.random((2, 5)) > 0.5).astype(float), 0.1)),
    ):
        net = DeepNetwork([4, 6, targets.shape[0]], output=output, loss=loss, dtype="float64")
        net.initialize(np.random.default_rng(1))
        X = rng.normal(size=(4, 5))
        activations = net.hyperparameters.activations
        AL, caches = forward(X, net.parameters, activations)
        grads = backward(AL, targets, caches, activations, loss)
        for key in ("W2", "b2", "W1"):
            numeric = np.zeros_like(net.parameters[key])
            for index in np.ndindex(numeric.shape):
                cost = []
                for sign in (1, -1):
                    shifted = copy.deepcopy(net.parameters)
                    shifted[key][index] += sign * 1e-6
                    cost.append(compute_cost(forward(X, shifted, activations)[0], targets, loss))
                numeric[index] = (cost[0] - cost[1]) / 2e-6
            analytic = grads["d" + key]
            error = np.linalg.norm(numeric - analytic) / (
                np.linalg.norm(numeric) + np.linalg.norm(analytic)
            )
            assert error < 1e-7, (output, key, error)


def test_label_smoothing_cost_against_pytorch_and_in_training():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(4, 7))
    y = rng.integers(0, 4, 7)
    A = np.exp(Z) / np.exp(Z).sum(axis=0)
    mine = get_loss("cce").cost(A, get_loss("cce").smoothed(np.eye(4)[y].T, 0.1))
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(torch.tensor(Z.T), torch.tensor(y))
    assert mine == pytest.approx(float(theirs), abs=TOL)
    X, y = data()
    net = DeepNetwork([4, 8, 3], epochs=5, label_smoothing=0.1, validation_split=0.2, seed=0)
    history = net.fit(X, y)
    assert len(history) == 5 and all(math.isfinite(c) for c in history.cost)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"optimizer": "adam", "weight_decay": 0.1}, "use optimizer 'adamw'"),
        ({"optimizer": "adam", "nesterov": True}, "use optimizer 'momentum'"),
        ({"loss": "mse", "output": "linear", "label_smoothing": 0.1}, "cross-entropy"),
        ({"label_smoothing": 1.0}, r"label_smoothing must lie in \[0, 1\)"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"lr_schedule": "step", "decay_rate": 0.0}, r"decay_rate, which must lie in \(0, 1\]"),
        ({"lr_schedule": "cosine", "min_learning_rate": 1.0}, "min_learning_rate 1.0 is above"),
        ({"warmup_epochs": -1}, "warmup_epochs must be a whole number"),
    ],
)
def test_bad_recipe_settings_name_the_setting(settings, message):
    with pytest.raises((ConfigurationError, InvalidValueError), match=message):
        DeepNetwork([4, 8, 3], **settings)


def test_the_mnist1d_recipe_preset_is_the_measured_recipe(tmp_path, capsys):
    """--preset mnist1d-recipe sets what docs/recipes.md measured; flags still win."""
    import tomllib

    from ldnn.cli import main

    argv = [
        "train",
        "xor",
        "--preset",
        "mnist1d-recipe",
        "--epochs",
        "2",
        "--layers",
        "8",
        "--runs-dir",
        str(tmp_path),
        "--name",
        "r",
        "-q",
        "--no-plots",
    ]
    assert main(argv) == 0
    config = tomllib.loads((tmp_path / "r" / "config.toml").read_text())
    training = config["training"]
    assert (training["optimizer"], training["learning_rate"], training["lr_schedule"]) == (
        "adam",
        0.003,
        "cosine",
    )
    assert training["warmup_epochs"] == 5 and training["batch_size"] == 128
    assert training["epochs"] == 2 and config["model"]["layers"] == [8]
    assert config["model"]["keep_prob"] == [0.5]  # one per hidden layer, resolved
