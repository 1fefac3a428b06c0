"""The playground's course view of batch-normalised layers and dropout (issue 26): the
arrays shown are ldnn's own forward and backward, and they equal a second computation
written here from the notes' formulas (course 2, weeks 1 and 3) in plain NumPy, central
differences of the cost, and the update the next training step makes; the dropout masks
are those that step draws, taken without moving training's generator. The page draws
the new arrays in headless Chromium."""

from __future__ import annotations

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.core.batchnorm import EPSILON
from ldnn.core.losses import example_weights
from ldnn.core.propagation import backward, forward
from ldnn.playground.course import walk
from test_playground import (
    browser_page,
    control,
    course,
    server,  # noqa: F401 - the fixture
    wait_for,
)

CLOSE = {"rtol": 0, "atol": 1e-12}


def by_hand(p: dict, X, Y, lambd: float):
    """The notes' forward and backward of a network whose hidden layers are tanh and
    batch-normalised and whose output is sigmoid with cross-entropy, written out in
    NumPy: (J, forward's arrays per layer, gradients). dZ[l] of a normalised layer comes
    from the Jacobian of Z_norm with respect to Z, row by row, not from a closed form."""
    m, L = X.shape[1], sum(1 for k in p if k.startswith("W"))
    A, layers = X, []
    for l in range(1, L + 1):
        W = p[f"W{l}"]
        if l < L:
            Z = W @ A
            mu = Z.mean(axis=1, keepdims=True)
            var = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
            Z_norm = (Z - mu) / np.sqrt(var + EPSILON)
            Z_tilde = p[f"gamma{l}"] * Z_norm + p[f"beta{l}"]
            out = np.tanh(Z_tilde)
            layers.append({"A_prev": A, "Z": Z, "mu": mu, "var": var, "Z_norm": Z_norm})
            layers[-1].update({"Z_tilde": Z_tilde, "A": out})
        else:
            Z = W @ A + p[f"b{l}"]
            out = 1 / (1 + np.exp(-Z))
            layers.append({"A_prev": A, "Z": Z, "A": out})
        A = out
    J = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    J += lambd / (2 * m) * sum(np.sum(p[f"W{l}"] ** 2) for l in range(1, L + 1))
    grads, dZ, dA = {}, A - Y, None  # dA: dA[l] once layer l + 1 is done
    for l in range(L, 0, -1):
        c = layers[l - 1]
        if l < L:
            dZ_tilde = dA * (1 - c["A"] ** 2)
            grads[f"dZ~{l}"] = dZ_tilde
            grads[f"dgamma{l}"] = (dZ_tilde * c["Z_norm"]).sum(axis=1, keepdims=True) / m
            grads[f"dbeta{l}"] = dZ_tilde.sum(axis=1, keepdims=True) / m
            dZ_norm = dZ_tilde * p[f"gamma{l}"]
            dZ = np.empty_like(dZ_norm)
            for i in range(dZ.shape[0]):  # d Z_norm[i, j] / d Z[i, k], an (m, m) Jacobian
                s, centred = np.sqrt(c["var"][i, 0] + EPSILON), c["Z"][i] - c["mu"][i, 0]
                jacobian = (np.eye(m) - 1 / m) / s - np.outer(centred, centred) / (m * s**3)
                dZ[i] = dZ_norm[i] @ jacobian
        else:
            grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        grads[f"dZ{l}"] = dZ
        W = p[f"W{l}"]
        grads[f"dW{l}"] = dZ @ c["A_prev"].T / m + lambd / m * W
        dA = W.T @ dZ
    return J, layers, grads


def test_batch_norm_arrays_equal_a_hand_computation_and_central_differences():
    rng = np.random.default_rng(7)
    network = DeepNetwork([2, 5, 4, 1], "tanh", output="sigmoid", batch_norm=True, dtype="float64")
    p = network.initialize(rng)
    for l in (1, 2):  # a γ and β of their own, and running statistics the view must not use
        p[f"gamma{l}"][...] = rng.uniform(0.5, 1.5, p[f"gamma{l}"].shape)
        p[f"beta{l}"][...] = rng.normal(0, 0.3, p[f"beta{l}"].shape)
        p[f"mean{l}"][...], p[f"var{l}"][...] = 3.0, 7.0
    X, Y = rng.normal(size=(2, 16)), (rng.random((1, 16)) > 0.5).astype(float)
    lambd, before = 0.02, {k: v.copy() for k, v in p.items()}
    shown = {a["name"]: a for a in walk(network, X, Y, lambd)}
    value = lambda name: np.asarray(shown[name]["values"])  # noqa: E731
    assert all(np.array_equal(p[k], before[k]) for k in p)  # nor are they updated
    J, layers, grads = by_hand(p, X, Y, lambd)
    for l in (1, 2):
        c = layers[l - 1]
        for name, expected in (
            (f"Z[{l}]", c["Z"]),
            (f"μ[{l}]", c["mu"]),
            (f"σ²[{l}]", c["var"]),
            (f"Z_norm[{l}]", c["Z_norm"]),
            (f"Z~[{l}]", c["Z_tilde"]),
            (f"A[{l}]", c["A"]),
            (f"dZ~[{l}]", grads[f"dZ~{l}"]),
            (f"dγ[{l}]", grads[f"dgamma{l}"]),
            (f"dβ[{l}]", grads[f"dbeta{l}"]),
            (f"dZ[{l}]", grads[f"dZ{l}"]),
            (f"dW[{l}]", grads[f"dW{l}"]),
        ):
            assert np.allclose(value(name), expected, **CLOSE), name
        n = network.layer_dims[l]
        for name, notation in (("μ", "(n[{l}], 1)"), ("dγ", "(n[{l}], 1)"), ("Z~", "(n[{l}], m)")):
            entry = shown[f"{name}[{l}]"]
            assert entry["notation"] == notation.format(l=l)
            assert entry["shape"] == ([n, 1] if "1)" in notation else [n, 16])
        assert f"b[{l}]" not in shown and f"db[{l}]" not in shown  # β[l] takes b[l]'s place
    assert np.allclose(value("dW[3]"), grads["dW3"], **CLOSE)
    assert np.allclose(value("db[3]"), grads["db3"], **CLOSE)
    # dγ, dβ and dW against central differences of the cost J itself.
    h = 1e-6
    for key, name, index in (
        ("gamma1", "dγ[1]", (2, 0)),
        ("gamma2", "dγ[2]", (1, 0)),
        ("beta1", "dβ[1]", (4, 0)),
        ("beta2", "dβ[2]", (0, 0)),
        ("W1", "dW[1]", (3, 1)),
        ("W2", "dW[2]", (2, 4)),
    ):
        costs = []
        for step in (h, -h):
            q = {k: v.copy() for k, v in p.items()}
            q[key][index] += step
            costs.append(by_hand(q, X, Y, lambd)[0])
        numerical = (costs[0] - costs[1]) / (2 * h)
        assert value(name)[index] == pytest.approx(numerical, rel=1e-6, abs=1e-9), name


def test_the_notes_formulas_hold_on_the_numbers_shown_with_batch_norm_and_dropout(server):  # noqa: F811
    port, session = server
    settings = {"batch_norm": True, "keep_prob": 0.8, "lambd": 0.01}
    control(port, {"action": "set", "settings": settings})
    control(port, {"action": "step", "unit": "batch"})  # an epoch under way
    answer = course(port, {"m": 12, "digits": 17})
    assert answer["batch_norm"] == [True, True] and answer["keep_prob"] == [0.8, 0.8]
    assert answer["dropout"] and "D[l] are the masks" in answer["note"]
    assert "the first 12 of its 16 examples" in answer["note"]
    shown = {a["name"]: np.asarray(a["values"]) for a in answer["arrays"]}
    m, keep = answer["m"], 0.8
    p = session.network.parameters
    for l in (1, 2):
        Z, mu, sigma2 = shown[f"Z[{l}]"], shown[f"μ[{l}]"], shown[f"σ²[{l}]"]
        Z_norm, gamma, beta = shown[f"Z_norm[{l}]"], shown[f"γ[{l}]"], shown[f"β[{l}]"]
        assert np.array_equal(gamma, p[f"gamma{l}"]) and np.array_equal(beta, p[f"beta{l}"])
        assert np.allclose(Z, shown[f"W[{l}]"] @ shown[f"A[{l - 1}]"], **CLOSE)
        assert np.allclose(mu, Z.sum(axis=1, keepdims=True) / m, **CLOSE)
        assert np.allclose(sigma2, ((Z - mu) ** 2).sum(axis=1, keepdims=True) / m, **CLOSE)
        assert np.allclose(Z_norm, (Z - mu) / np.sqrt(sigma2 + EPSILON), **CLOSE)
        Z_tilde = shown[f"Z~[{l}]"]
        assert np.allclose(Z_tilde, gamma * Z_norm + beta, **CLOSE)
        # Inverted dropout: D[l] of 0s and 1s, A[l] = g(Z~[l]) * D[l] / keep_prob.
        D = shown[f"D[{l}]"]
        assert set(np.unique(D)) <= {0.0, 1.0} and 0 < D.mean() < 1
        assert np.allclose(shown[f"tanh(Z~[{l}])"], np.tanh(Z_tilde), **CLOSE)
        assert np.allclose(shown[f"A[{l}]"], np.tanh(Z_tilde) * D / keep, **CLOSE)
        back = shown[f"W[{l + 1}]"].T @ shown[f"dZ[{l + 1}]"]
        assert np.allclose(shown[f"dA[{l}]"], back * D / keep, **CLOSE)
        # Backward through the normalisation, in the notes' terms.
        dZ_tilde = shown[f"dZ~[{l}]"]
        assert np.allclose(dZ_tilde, shown[f"dA[{l}]"] * (1 - np.tanh(Z_tilde) ** 2), **CLOSE)
        dgamma, dbeta = shown[f"dγ[{l}]"], shown[f"dβ[{l}]"]
        assert np.allclose(dgamma, (dZ_tilde * Z_norm).sum(axis=1, keepdims=True) / m, **CLOSE)
        assert np.allclose(dbeta, dZ_tilde.sum(axis=1, keepdims=True) / m, **CLOSE)
        dZ = gamma / np.sqrt(sigma2 + EPSILON) * (dZ_tilde - dbeta - Z_norm * dgamma)
        assert np.allclose(shown[f"dZ[{l}]"], dZ, **CLOSE)
        W = shown[f"W[{l}]"]
        dW = shown[f"dZ[{l}]"] @ shown[f"A[{l - 1}]"].T / m + 0.01 / m * W
        assert np.allclose(shown[f"dW[{l}]"], dW, **CLOSE)
    assert np.allclose(shown["dA[0]"], shown["W[1]"].T @ shown["dZ[1]"], **CLOSE)
    # The notes' order: a normalised layer's forward, then its backward.
    names = [a["name"] for a in answer["arrays"]]
    assert names[1:13] == [
        "W[1]", "Z[1]", "μ[1]", "σ²[1]", "Z_norm[1]", "γ[1]", "β[1]", "Z~[1]",
        "tanh(Z~[1])", "D[1]", "A[1]", "W[2]",
    ]  # fmt: skip
    backward_1 = [a["name"] for a in answer["arrays"] if a["pass"] == "backward"][-6:]
    assert backward_1 == ["dZ~[1]", "dγ[1]", "dβ[1]", "dZ[1]", "dW[1]", "dA[0]"]


def test_the_next_step_trains_on_the_arrays_shown_and_the_view_moves_nothing(server):  # noqa: F811
    port, session = server
    control(port, {"action": "set", "settings": {"batch_norm": True, "keep_prob": 0.7}})
    network = session.network
    lr = network.hyperparameters.learning_rate  # plain gradient descent
    for _ in range(2):  # the epoch's first batch (masks after its shuffle), then one under way
        generator = network.state.generator.bit_generator.state
        before = {k: v.copy() for k, v in network.parameters.items()}
        answer = course(port, {"m": 64, "digits": 17})
        # Neither training's generator nor the running statistics moved.
        assert network.state.generator.bit_generator.state == generator
        assert all(np.array_equal(network.parameters[k], before[k]) for k in before)
        assert answer["m"] == answer["batch"]["size"] == 16 and answer["dropout"]
        shown = {a["name"]: np.asarray(a["values"]) for a in answer["arrays"]}
        control(port, {"action": "step", "unit": "batch"})
        # The step's gradient is the view's: its masks and its batch statistics.
        after = network.parameters
        for key, name in (
            ("W1", "dW[1]"), ("gamma1", "dγ[1]"), ("beta1", "dβ[1]"), ("W2", "dW[2]"),
            ("gamma2", "dγ[2]"), ("beta2", "dβ[2]"), ("W3", "dW[3]"), ("b3", "db[3]"),
        ):  # fmt: skip
            assert np.allclose(after[key], before[key] - lr * shown[name], **CLOSE), key
        for l in (1, 2):  # momentum 0.1 and the unbiased variance, from the μ and σ² shown
            mean = 0.9 * before[f"mean{l}"] + 0.1 * shown[f"μ[{l}]"]
            var = 0.9 * before[f"var{l}"] + 0.1 * shown[f"σ²[{l}]"] * 16 / 15
            assert np.allclose(after[f"mean{l}"], mean, **CLOSE)
            assert np.allclose(after[f"var{l}"], var, **CLOSE)


def test_without_dropout_asked_the_arrays_are_the_pass_without_masks(server):  # noqa: F811
    port, session = server
    control(port, {"action": "set", "settings": {"keep_prob": 0.5}})
    off = course(port, {"m": 16, "digits": 17, "dropout": 0})
    assert not off["dropout"] and "dropout off, as asked" in off["note"]
    names = [a["name"] for a in off["arrays"]]
    assert names[:9] == ["A[0]", "W[1]", "b[1]", "Z[1]", "A[1]", "W[2]", "b[2]", "Z[2]", "A[2]"]
    assert not any(name.startswith(("D[", "tanh(")) for name in names)
    shown = {a["name"]: np.asarray(a["values"]) for a in off["arrays"]}
    network, columns = session.network, off["batch"]["columns"]
    hp, p, m = network.hyperparameters, network.parameters, off["m"]
    X, Y = network.check_data(session.part.X_train[:, columns], session.part.Y_train[..., columns])
    AL, caches = forward(X, p, hp.activations)
    grads = backward(AL, Y, caches, hp.activations, hp.loss, weights=example_weights(m))
    for l in (1, 2, 3):
        assert np.allclose(shown[f"A[{l}]"], caches[l - 1].A, **CLOSE)
        assert np.allclose(shown[f"dW[{l}]"], grads[f"dW{l}"], **CLOSE)
    on = course(port, {"m": 16, "digits": 17})  # the default: the network's dropout
    assert on["dropout"] and on["batch"] == off["batch"]
    dropped = {a["name"]: np.asarray(a["values"]) for a in on["arrays"]}
    assert np.array_equal(dropped["Z[1]"], shown["Z[1]"])
    assert np.allclose(dropped["A[1]"], np.tanh(shown["Z[1]"]) * dropped["D[1]"] / 0.5, **CLOSE)
    for document in ({"dropout": 2}, {"dropout": True}, {"dropout": "on"}):
        assert course(port, document, expect=400)["field"] == "dropout"


def test_one_batch_of_every_example_is_shown(server):  # noqa: F811
    port, session = server
    control(port, {"action": "set", "settings": {"batch_size": 0, "keep_prob": 0.9}})
    answer = course(port, {"m": 8})
    m_train = session.part.X_train.shape[1]
    assert answer["batch"]["count"] == 1 and answer["batch"]["size"] == m_train
    assert answer["batch"]["columns"] == list(range(8)) and answer["dropout"]


def test_batch_norm_in_the_course_view_in_headless_chromium(server):  # noqa: F811
    port, session = server
    url, viewport = f"http://127.0.0.1:{port}/", {"width": 1400, "height": 900}
    with browser_page(url, viewport=viewport) as page:
        wait_for(lambda: page.text_content("#layer-dims") != "")
        page.check("#batch_norm")
        wait_for(lambda: session.network.hyperparameters.batch_norm == (True, True))
        wait_for(lambda: "batch_norm%22%3Atrue" in page.evaluate("location.hash"))
        page.click("#course-toggle")
        canvases = lambda: page.eval_on_selector_all(  # noqa: E731
            "#course-arrays canvas", "all => all.map(c => c.getAttribute('aria-label'))"
        )
        # Layer 1's forward: Z_norm[1], γ[1], β[1] and Z~[1] drawn beside W[1] and Z[1].
        drawn = lambda start: any(label.startswith(start) for label in canvases())  # noqa: E731
        wait_for(lambda: drawn("Z_norm[1] (n[1], m) = (4, 16)"))
        assert drawn("γ[1] (n[1], 1) = (4, 1)")
        assert "Z~[1] = γ[1] * Z_norm[1] + β[1]" in page.text_content("#course-arrays")
        assert "batch norm" in page.text_content("#course-stage")
        assert "batch norm: μ[l] and σ²[l]" in page.text_content("#course-note")
        # Backward through layer 2's normalisation: forward 2, 3, then backward 3, 2.
        for _ in range(4):
            page.click("#course-step")
        wait_for(lambda: drawn("dγ[2] (n[2], 1)"))
        assert drawn("dZ~[2] (n[2], m)") and drawn("dZ[2] (n[2], m)")
        assert page.is_disabled("#course-dropout")  # keep_prob 1: no dropout to turn off


def test_a_large_array_is_drawn_cut_with_its_summary_in_headless_chromium(server):  # noqa: F811
    port, session = server
    url, viewport = f"http://127.0.0.1:{port}/", {"width": 1400, "height": 900}
    with browser_page(url, viewport=viewport) as page:
        wait_for(lambda: page.text_content("#layer-dims") != "")
        control(port, {"action": "set", "settings": {"layers": [40, 4]}})
        wait_for(lambda: session.network.layer_dims == (2, 40, 4, 1))
        page.click("#course-toggle")
        canvases = lambda: page.eval_on_selector_all(  # noqa: E731
            "#course-arrays canvas", "all => all.map(c => c.getAttribute('aria-label'))"
        )
        cut = "W[1] (n[1], n[0]) = (40, 2), its first 32 × 2 shown"
        wait_for(lambda: any(label.startswith(cut) for label in canvases()))
        assert "shown; all 40 × 2: min" in page.text_content("#course-arrays")
