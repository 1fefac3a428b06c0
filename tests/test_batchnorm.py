"""Batch normalisation in the course's notation: the forward formulas by hand, the
backward pass by central differences (float64, training mode) for every activation and
against PyTorch's BatchNorm1d, and the network around it: running statistics, files,
warm starts, dropout, the estimators, the summary and the ONNX export."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

from ldnn import DeepNetwork, gradcheck
from ldnn.core.batchnorm import EPSILON, Batch
from ldnn.core.losses import example_weights
from ldnn.core.propagation import backward, forward
from ldnn.core.workspace import Workspace

TOL = 1e-10
ACTIVATIONS = ["relu", "leaky_relu:0.1", "tanh", "sigmoid", "linear"]


def network(dims=(5, 7, 6, 3), activation="tanh", seed=0, **settings):
    net = DeepNetwork(
        list(dims), activations=activation, batch_norm=True, dtype="float64", seed=seed, **settings
    )
    net.initialize(np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for key in net.parameters:  # gamma, beta and the statistics away from 1 and 0
        if key[:5] in ("gamma", "beta1", "beta2") or key.startswith(("mean", "var")):
            shape = net.parameters[key].shape
            net.parameters[key] = (
                rng.uniform(0.5, 1.5, shape)
                if "gamma" in key or "var" in key
                else rng.normal(size=shape)
            )
    return net


def inputs(n0=5, m=11, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n0, m)), rng.integers(0, 3, m)


def test_the_forward_formulas_by_hand():
    net = network()
    X, _ = inputs()
    p = net.parameters
    Z = p["W1"] @ X  # no b[1]
    mu = Z.mean(axis=1, keepdims=True)
    sigma2 = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
    A1 = np.tanh(p["gamma1"] * (Z - mu) / np.sqrt(sigma2 + EPSILON) + p["beta1"])
    _, caches = forward(X, p, net.hyperparameters.activations, batch_statistics="batch")
    np.testing.assert_allclose(caches[0].A, A1, rtol=0, atol=TOL)
    # inference: the running statistics instead of the batch's
    running = p["gamma1"] * (Z - p["mean1"]) / np.sqrt(p["var1"] + EPSILON) + p["beta1"]
    _, caches = forward(X, p, net.hyperparameters.activations)
    np.testing.assert_allclose(caches[0].A, np.tanh(running), rtol=0, atol=TOL)
    assert "b1" not in p and "b3" in p  # the output layer is not normalised


def test_the_running_statistics_follow_pytorchs_convention():
    net = network()
    X, _ = inputs(m=20)
    p = copy.deepcopy(net.parameters)
    mean, var = p["mean1"].copy(), p["var1"].copy()
    for columns in (slice(0, 8), slice(8, 20)):
        batch = X[:, columns]
        forward(batch, p, net.hyperparameters.activations, batch_statistics="update", momentum=0.1)
        Z = net.parameters["W1"] @ batch
        m = Z.shape[1]
        mean = 0.9 * mean + 0.1 * Z.mean(axis=1, keepdims=True)
        var = 0.9 * var + 0.1 * Z.var(axis=1, keepdims=True) * m / (m - 1)  # unbiased
    np.testing.assert_allclose(p["mean1"], mean, rtol=0, atol=TOL)
    np.testing.assert_allclose(p["var1"], var, rtol=0, atol=TOL)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    "output, loss", [("softmax", "cce"), ("sigmoid", "bce"), ("linear", "mse")]
)
def test_gradient_check_in_training_mode(activation, output, loss):
    n_out = 1 if output == "sigmoid" else 3
    net = network((5, 7, 6, n_out), activation, output=output, loss=loss, lambd=0.3)
    X, y = inputs()
    Y = y if loss == "cce" else (y > 0).astype(float).reshape(1, -1)
    if loss == "mse":
        Y = np.random.default_rng(4).normal(size=(3, X.shape[1]))
    result = gradcheck(net, X, Y)
    assert result.passed and result.difference < 1e-7, (activation, output, result)


def test_gradient_check_with_dropout_and_a_layer_left_alone():
    net = DeepNetwork(
        [5, 8, 6, 3], activations="relu", batch_norm=[True, False], keep_prob=0.7, dtype="float64"
    )
    net.initialize(np.random.default_rng(0))
    assert "gamma1" in net.parameters and "b2" in net.parameters
    X, y = inputs()
    result = gradcheck(net, X, y, seed=2)
    assert result.passed, result


def test_backward_against_pytorch_batchnorm1d():
    torch = pytest.importorskip("torch")
    net = network(activation="relu")
    p = net.parameters
    X, y = inputs(m=9)
    tensors = {
        k: torch.tensor(v, requires_grad=True)
        for k, v in p.items()
        if k[0] in "Wb" and not k.startswith("beta")
    }
    bn = [torch.nn.BatchNorm1d(n, eps=EPSILON, momentum=0.1, dtype=torch.float64) for n in (7, 6)]
    with torch.no_grad():
        for l, layer in enumerate(bn, 1):
            layer.weight.copy_(torch.tensor(p[f"gamma{l}"].ravel()))
            layer.bias.copy_(torch.tensor(p[f"beta{l}"].ravel()))
            layer.running_mean.copy_(torch.tensor(p[f"mean{l}"].ravel()))
            layer.running_var.copy_(torch.tensor(p[f"var{l}"].ravel()))
    x = torch.tensor(X.T, requires_grad=True)
    a = torch.relu(bn[0](x @ tensors["W1"].T))
    a = torch.relu(bn[1](a @ tensors["W2"].T))
    logits = a @ tensors["W3"].T + tensors["b3"].reshape(1, -1)
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    mine = copy.deepcopy(p)
    AL, caches = forward(X, mine, net.hyperparameters.activations, batch_statistics="update")
    grads = backward(AL, np.eye(3)[y].T, caches, net.hyperparameters.activations, "cce")
    for key, tensor in tensors.items():
        np.testing.assert_allclose(grads["d" + key], tensor.grad.numpy(), rtol=0, atol=TOL)
    for l, layer in enumerate(bn, 1):
        np.testing.assert_allclose(grads[f"dgamma{l}"].ravel(), layer.weight.grad, atol=TOL)
        np.testing.assert_allclose(grads[f"dbeta{l}"].ravel(), layer.bias.grad, atol=TOL)
    # dA[0] is dJ/dX, each example's column weighing 1/m: PyTorch's x.grad
    np.testing.assert_allclose(grads["dA0"], x.grad.numpy().T, rtol=0, atol=TOL)
    for l, layer in enumerate(bn, 1):  # the running statistics after the step
        np.testing.assert_allclose(mine[f"mean{l}"].ravel(), layer.running_mean, atol=TOL)
        np.testing.assert_allclose(mine[f"var{l}"].ravel(), layer.running_var, atol=TOL)
    for layer in bn:
        layer.eval()
    with torch.no_grad():  # inference: the running statistics
        a = torch.relu(bn[1](torch.relu(bn[0](x @ tensors["W1"].T)) @ tensors["W2"].T))
        probabilities = torch.softmax(a @ tensors["W3"].T + tensors["b3"].reshape(1, -1), 1)
    np.testing.assert_allclose(
        forward(X, mine, net.hyperparameters.activations)[0], probabilities.numpy().T, atol=TOL
    )


def test_in_place_with_a_workspace_gives_the_same_gradients():
    net = network(activation="relu", lambd=0.2)
    X, y = inputs()
    Y = np.eye(3)[y].T
    activations = net.hyperparameters.activations
    plain = backward(*_forward(net, X), Y, _caches(net, X), activations, "cce", lambd=0.2)
    ws = Workspace()
    AL, caches = forward(
        X,
        copy.deepcopy(net.parameters),
        activations,
        workspace=ws,
        in_place=True,
        batch_statistics="batch",
    )
    fast = backward(
        AL,
        Y,
        caches,
        activations,
        "cce",
        lambd=0.2,
        workspace=ws,
        in_place=True,
        input_gradient=False,
    )
    for key in ("dW1", "dgamma1", "dbeta1", "dW2", "dgamma2", "dW3", "db3"):
        np.testing.assert_allclose(fast[key], plain[key], rtol=1e-12, atol=1e-14)


def _forward(net, X):
    return (
        forward(X, net.parameters, net.hyperparameters.activations, batch_statistics="batch")[0],
    )


def _caches(net, X):
    return forward(X, net.parameters, net.hyperparameters.activations, batch_statistics="batch")[1]


# -- a batch held in shares (issue 27: batch norm on MPI ranks) ------------------------------
def _training_step(net, X, Y, batch=None, m=None, workspace=None):
    """The running statistics and gradients of one training step on X (a share of a batch
    of m examples)."""
    p, activations = copy.deepcopy(net.parameters), net.hyperparameters.activations
    weights = example_weights(X.shape[1] if m is None else m)
    options = {"workspace": workspace, "in_place": workspace is not None}
    AL, caches = forward(X, p, activations, batch_statistics="update", batch=batch, **options)
    grads = backward(AL, Y, caches, activations, "cce", weights=weights, lambd=0.2, **options)
    return {k: p[k] for k in p if k.startswith(("mean", "var"))}, grads


@pytest.mark.parametrize("workspace", [False, True])
def test_the_reduce_hook_given_the_identity_changes_no_bit(workspace):
    net = network(activation="relu", lambd=0.2)
    X, y = inputs()
    Y = np.eye(3)[y].T
    plain = _training_step(net, X, Y, workspace=Workspace() if workspace else None)
    identity = Batch(X.shape[1], lambda sums: sums)
    hooked = _training_step(net, X, Y, identity, workspace=Workspace() if workspace else None)
    for mine, theirs in zip(hooked, plain, strict=True):
        assert mine.keys() == theirs.keys()
        for key in mine:
            if mine[key] is not None:
                assert mine[key].tobytes() == theirs[key].tobytes(), key


def test_two_shares_summed_give_the_whole_batchs_statistics_and_gradients():
    # Two "ranks" as two threads, each holding a share of the 11 columns (5 and 6); their
    # reduce adds up both shares' partial sums, as MPI's Allreduce does.
    sys.path.insert(0, str(Path(__file__).parent / "mpi"))
    from thread_comm import run_ranks

    net = network(activation="relu", lambd=0.2)
    X, y = inputs()
    Y, m = np.eye(3)[y].T, X.shape[1]
    whole_statistics, whole = _training_step(net, X, Y)
    parts = (slice(0, 5), slice(5, m))

    def share(comm):
        part = parts[comm.Get_rank()]
        batch = Batch(m, lambda sums: np.sum(comm.allgather(sums.copy()), axis=0))
        return _training_step(net, X[:, part], Y[:, part], batch, m)

    (statistics_0, grads_0), (statistics_1, grads_1) = run_ranks(2, share)
    for key, value in whole_statistics.items():  # every share's running statistics
        np.testing.assert_allclose(statistics_0[key], value, rtol=1e-13, err_msg=key)
        np.testing.assert_allclose(statistics_1[key], value, rtol=1e-13, err_msg=key)
    for key, value in whole.items():  # sums over the batch: the shares' added up
        if key.startswith("dA"):  # each example's column: its share's
            added = np.hstack([grads_0[key], grads_1[key]])
        else:  # dW, db, dgamma, dbeta (the L2 term counted on both shares: subtract one)
            added = grads_0[key] + grads_1[key]
            if key.startswith("dW"):
                added -= 0.2 / m * net.parameters[key[1:]]
        np.testing.assert_allclose(added, value, rtol=1e-12, atol=1e-15, err_msg=key)


# -- the network around it --------------------------------------------------------------------
def spirals():
    from ldnn.data import make_spirals

    return make_spirals(300, seed=0)


def test_a_network_trains_saves_and_predicts_with_its_running_statistics(tmp_path):
    X, Y = spirals()
    net = DeepNetwork(
        [2, 32, 32, 1],
        batch_norm=True,
        keep_prob=0.9,
        optimizer="adam",
        learning_rate=0.01,
        epochs=40,
        batch_size=32,
        seed=0,
    )
    net.fit(X, Y)
    assert net.evaluate(X, Y)["accuracy"] > 0.85
    assert not np.array_equal(net.parameters["mean1"], 0)  # updated by training
    one = net.predict_proba(X[:, :1])  # inference does not depend on the batch
    np.testing.assert_allclose(one, net.predict_proba(X)[:, :1], rtol=1e-6)
    net.save(tmp_path / "bn.npz")
    again = DeepNetwork.load(tmp_path / "bn.npz")
    assert again.hyperparameters.batch_norm == (True, True)
    np.testing.assert_array_equal(again.predict_proba(X), net.predict_proba(X))


def test_warm_starts_and_stops_continue_bit_for_bit(tmp_path):
    X, Y = spirals()
    validation = spirals()
    settings = dict(
        batch_norm=True,
        optimizer="momentum",
        learning_rate=0.05,
        epochs=8,
        batch_size=40,
        early_stopping=3,
        seed=2,
    )
    whole = DeepNetwork([2, 16, 8, 1], **settings)
    whole.fit(X, Y, validation_data=validation)
    first = DeepNetwork([2, 16, 8, 1], **settings)
    first.fit(X, Y, epochs=3, validation_data=validation)
    first.save(tmp_path / "m.npz")
    again = DeepNetwork.load(tmp_path / "m.npz")
    again.fit(X, Y, epochs=5, warm_start=True, validation_data=validation)
    for key, value in whole.parameters.items():  # running statistics included
        assert np.array_equal(again.parameters[key], value), key


def test_the_summary_shows_gamma_and_beta(capsys):
    DeepNetwork([4, 8, 2], batch_norm=True).summary(m=16)
    text = capsys.readouterr().out
    assert "gamma, beta: (8, 1)" in text and "running mean[l] and var[l]" in text
    assert "total parameters: 66" in text  # 8*4 + 8 + 8 (gamma, beta) + 2*8 + 2


def test_bad_batch_norm_settings():
    from ldnn import ConfigurationError

    with pytest.raises(ConfigurationError, match="one true/false per hidden layer"):
        DeepNetwork([4, 8, 8, 2], batch_norm=[True])
    with pytest.raises(ConfigurationError, match="not lbfgs"):
        DeepNetwork([4, 8, 2], batch_norm=True, optimizer="lbfgs")
    with pytest.raises(ConfigurationError, match="batch_norm_momentum"):
        DeepNetwork([4, 8, 2], batch_norm=True, batch_norm_momentum=0.0)


def test_the_estimators_take_batch_norm():
    pytest.importorskip("sklearn")
    from sklearn.base import clone

    from ldnn.sklearn import DNNClassifier

    X, Y = spirals()
    clf = DNNClassifier(
        hidden_layer_sizes=(16, 16), batch_norm=True, epochs=30, learning_rate=0.01, random_state=0
    )
    clf.fit(X.T, Y.ravel())
    assert clf.score(X.T, Y.ravel()) > 0.8 and "gamma1" in clf.network_.parameters
    assert clone(clf).get_params()["batch_norm"] is True


def test_the_onnx_export_folds_batch_norm_into_gemm():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from ldnn.onnx import to_onnx

    net = network(activation="relu", output="softmax")
    X, _ = inputs(m=30)
    session = ort.InferenceSession(to_onnx(net, dtype="float64").SerializeToString())
    got = session.run(["probabilities"], {"X": X.T})[0]
    np.testing.assert_allclose(got, net.predict_proba(X).T, rtol=0, atol=1e-12)
    session = ort.InferenceSession(to_onnx(net).SerializeToString())  # float32
    got = session.run(["probabilities"], {"X": X.T.astype(np.float32)})[0]
    np.testing.assert_allclose(got, net.predict_proba(X).T, rtol=0, atol=1e-5)
