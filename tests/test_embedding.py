"""A learned embedding of a table's wide text columns (issue 25): W[1]'s block of a column
of K > k categories factored into V (n[1], k) . E (k, K), E of every such column one
parameter E1 (ldnn.core.categorical). The numbers are checked against the dense one-hot X
times the multiplied-out W[1] (forward, and dV, dE by the chain rule through it), against
central differences (float64, relative difference < 1e-7) with batch norm, dropout,
sample weights, L2 and unseen categories, and training, saving, continuing, MPI ranks,
the summary and the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.cli import main
from ldnn.core import categorical
from ldnn.core.gradcheck import gradcheck
from ldnn.core.losses import example_weights
from ldnn.core.propagation import backward, forward
from ldnn.core.regularization import dropout_mask
from ldnn.errors import ShapeError
from ldnn.training.mpi import share
from test_categorical import encoded, table

sys.path.insert(0, str(Path(__file__).parent / "mpi"))
from thread_comm import run_ranks  # noqa: E402

K_CITY, K_PORT = 12, 3  # the test table's text columns: city (12 categories), port (3)


def embedded_network(X, width, batch_norm=False, keep_prob=1.0, output="sigmoid", n_out=1):
    """A float64 network on X whose text columns of more than ``width`` categories are
    embedded, its parameters drawn large enough that every unit bends."""
    net = DeepNetwork(
        [X.shape[0], 5, 4, n_out],
        activations="tanh",
        output=output,
        batch_norm=batch_norm,
        keep_prob=keep_prob,
        dtype="float64",
        embedding_width=width,
        embedding=categorical.embedded_sizes(X.blocks, width),
    )
    net.initialize()
    rng = np.random.default_rng(1)
    for key in net.parameters:
        if key.startswith(("W", "b", "gamma", "beta", "E")):
            net.parameters[key] = rng.normal(size=net.parameters[key].shape)
    return net


def multiplied_out(X, P, width):
    """W[1] of the dense one-hot X, (n[1], n[0]): V . E in each embedded column's block."""
    where = categorical.layout(X.shape[0], tuple(X.numeric_rows), X.blocks, width)
    W = np.zeros((P["W1"].shape[0], X.shape[0]))
    kept = where.column >= 0
    W[:, kept] = P["W1"][:, where.column[kept]]
    for offset, K, v, e in where.embedded.values():
        W[:, offset : offset + K] = P["W1"][:, v : v + width] @ P["E1"][:, e : e + K]
    return W, where


def test_the_layout_gives_the_wide_columns_k_rows_and_keeps_the_others():
    X, _, encoding = encoded()
    where = categorical.layout(X.shape[0], tuple(X.numeric_rows), X.blocks, 4)
    assert where.sizes == (K_CITY,)  # the port's 3 categories stay one-hot
    assert where.n_columns == X.shape[0] - K_CITY + 4
    ((offset, K, v, e),) = where.embedded.values()
    assert (K, e) == (K_CITY, 0) and (where.column[offset : offset + K] == -1).all()
    kept = np.delete(np.arange(X.shape[0]), np.arange(offset, offset + K))
    np.testing.assert_array_equal(
        np.sort(where.column[kept]), np.delete(np.arange(where.n_columns), np.arange(v, v + 4))
    )
    assert categorical.embedded_sizes(X.blocks, 2) == (K_CITY, K_PORT)
    assert categorical.embedded_sizes(X.blocks, K_CITY) == ()  # no column wider than k
    assert categorical.embedded_sizes(X.blocks, None) == ()


@pytest.mark.parametrize("width", [4, 2])
@pytest.mark.parametrize(
    "unseen, batch_norm, keep_prob, weighted, lambd",
    [(0, False, 1.0, False, 0.0), (4, [True, False], 0.7, True, 0.3)],
)
def test_forward_and_backward_are_the_dense_one_hots_times_the_factored_w1(
    width, unseen, batch_norm, keep_prob, weighted, lambd
):
    X, dense, _ = encoded(unseen=unseen)
    m = X.shape[1]
    net = embedded_network(X, width, batch_norm, keep_prob)
    hp, P = net.hyperparameters, net.parameters
    W_full, where = multiplied_out(X, P, width)
    P_dense = {k: v for k, v in P.items() if k != "E1"} | {"W1": W_full}
    rng = np.random.default_rng(2)
    Y = (rng.random((1, m)) < 0.5).astype(float)
    masks = {1: dropout_mask((5, m), 0.7, rng, dense)} if keep_prob < 1 else None
    weights = example_weights(m, rng.uniform(0.2, 2.0, m) if weighted else None)
    results = []
    for A0, params in ((X, P), (dense, P_dense)):
        AL, caches = forward(A0, params, hp.activations, masks=masks, batch_statistics="batch")
        grads = backward(AL, Y, caches, hp.activations, hp.loss, weights=weights)
        results.append((caches[0].Z, AL, grads))
    (Z, AL, grads), (Z_dense, AL_dense, dense_grads) = results
    np.testing.assert_allclose(Z, Z_dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(AL, AL_dense, rtol=1e-12, atol=1e-12)
    # The chain rule through W[1]'s block = V . E: dV = dW_block . E^T, dE = V^T . dW_block.
    dW_full, dW1, dE1 = dense_grads["dW1"], grads["dW1"], grads["dE1"]
    assert dE1.shape == P["E1"].shape and dW1.shape == P["W1"].shape
    kept = where.column >= 0
    np.testing.assert_allclose(dW1[:, where.column[kept]], dW_full[:, kept], rtol=1e-12, atol=1e-14)
    for offset, K, v, e in where.embedded.values():
        block = dW_full[:, offset : offset + K]
        V, E = P["W1"][:, v : v + width], P["E1"][:, e : e + K]
        np.testing.assert_allclose(dW1[:, v : v + width], block @ E.T, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(dE1[:, e : e + K], V.T @ block, rtol=1e-11, atol=1e-13)
    for key in dense_grads:
        if key not in ("dW1", "dA0") and key.startswith("d"):
            np.testing.assert_allclose(grads[key], dense_grads[key], rtol=1e-11, atol=1e-13)
    # L2 adds (lambd / m) E to dE1, as it adds (lambd / m) W[l] to dW[l]
    if lambd:
        AL, caches = forward(X, P, hp.activations, masks=masks, batch_statistics="batch")
        with_l2 = backward(AL, Y, caches, hp.activations, hp.loss, weights=weights, lambd=lambd)
        np.testing.assert_allclose(
            with_l2["dE1"] - dE1, lambd / m * P["E1"], rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize(
    "width, batch_norm, keep_prob, weighted, lambd, unseen",
    [
        (4, False, 1.0, False, 0.0, 0),
        (2, False, 1.0, False, 0.0, 0),  # both text columns embedded
        (4, [True, False], 1.0, False, 0.0, 0),  # batch norm on layer 1
        (4, False, 0.6, False, 0.0, 0),  # dropout
        (4, False, 1.0, True, 0.0, 0),  # sample weights
        (4, False, 1.0, False, 0.5, 0),  # L2, on E1 too
        (2, [True, True], 0.8, True, 0.2, 5),  # all of them, with categories not seen
    ],
)
def test_central_differences_agree_in_float64(
    width, batch_norm, keep_prob, weighted, lambd, unseen
):
    X, _, _ = encoded(m=24, cities=6, unseen=unseen)
    rng = np.random.default_rng(3)
    net = embedded_network(X, width, batch_norm, keep_prob, output="softmax", n_out=3)
    labels = rng.integers(0, 3, X.shape[1])
    w = rng.uniform(0.2, 2.0, X.shape[1]) if weighted else None
    result = gradcheck(net, X, labels, lambd=lambd, sample_weight=w, epsilon=1e-6)
    assert result.difference < 1e-7, str(result)
    assert result.n_parameters == sum(P.size for k, P in net.parameters.items() if k[:1] in "WbEg")


@pytest.mark.parametrize("width, lambd", [(4, 0.0), (2, 0.5)])
def test_l1_on_the_embedding_as_on_w1(width, lambd):
    """E1, a factor of W[1], is penalised by L1 as W[1] is (alone and beside L2)."""
    X, _, _ = encoded(m=24, cities=6)
    rng = np.random.default_rng(5)
    net = embedded_network(X, width, output="softmax", n_out=3)
    labels = rng.integers(0, 3, X.shape[1])
    result = gradcheck(net, X, labels, lambd=lambd, l1=0.3, epsilon=1e-6)
    assert "E1" in net.parameters
    assert result.difference < 1e-7, str(result)


def test_a_ranks_shares_add_up_to_the_batchs_embedding_gradient():
    X, _, _ = encoded(m=40, unseen=3)
    m = X.shape[1]
    net = embedded_network(X, 4)
    rng = np.random.default_rng(4)
    Y, w = (rng.random((1, m)) < 0.5).astype(float), rng.uniform(0.5, 1.5, m)
    hp, P = net.hyperparameters, net.parameters

    def gradient(part):
        AL, caches = forward(X[:, part], P, hp.activations)
        weights = example_weights(m, w[part], total=w.sum())
        return backward(AL, Y[:, part], caches, hp.activations, hp.loss, weights=weights)

    whole = gradient(slice(None))
    for ranks in (2, 3):
        parts = [share(m, ranks, r) for r in range(ranks)]
        for key in ("dE1", "dW1"):
            added = sum(gradient(part)[key] for part in parts)
            np.testing.assert_allclose(added, whole[key], rtol=1e-12, atol=1e-14)


# -- training, files, ranks --------------------------------------------------------------------
def test_a_network_finds_its_embedded_columns_at_its_first_fit_and_keeps_them(tmp_path):
    X, dense, _ = encoded(m=90)
    labels = np.arange(90) % 3
    settings = dict(dtype="float64", epochs=3, batch_size=16, seed=2, optimizer="adam", lambd=0.1)
    net = DeepNetwork([X.shape[0], 6, 3], embedding_width=4, **settings)
    net.fit(X, labels)
    hp = net.hyperparameters
    assert hp.embedding == (K_CITY,) and hp.embedding_dims == (4, K_CITY)
    assert net.parameters["E1"].shape == (4, K_CITY)
    assert net.parameters["W1"].shape == (6, X.shape[0] - K_CITY + 4)
    assert np.isfinite(net.history.cost).all()
    net.save(tmp_path / "m.npz")
    loaded = DeepNetwork.load(tmp_path / "m.npz")
    assert loaded.hyperparameters == hp
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    # Continued from the file, as from memory: the same numbers.
    net.fit(X, labels, warm_start=True, epochs=2)
    loaded.fit(X, labels, warm_start=True, epochs=2)
    for key, value in net.parameters.items():
        np.testing.assert_array_equal(loaded.parameters[key], value)
    text = net.summary(m=8, print_fn=None)
    assert f"E1: (4, {K_CITY})" in text and f"(6, {X.shape[0] - K_CITY + 4})" in text
    # A dense X has no text column: nothing is embedded.
    plain = DeepNetwork([X.shape[0], 6, 3], embedding_width=4, **settings)
    plain.fit(dense, labels)
    assert plain.hyperparameters.embedding == () and "E1" not in plain.parameters
    # An X whose text columns differ from the ones the model embeds: one clear line.
    other, _, _ = encoded(m=30, cities=5)
    with pytest.raises(ShapeError, match=r"X must have shape \(n\[0\], m\)"):
        net.predict(other)
    with pytest.raises(ShapeError, match=f"E1 of shape \\(4, 5\\) must have .* {K_CITY}"):
        categorical.Embedded(X, np.zeros((4, 5)))


def test_a_fit_stopped_between_two_steps_continues_bit_for_bit_through_a_file(tmp_path):
    from test_continuation import StopAfter

    X, _, _ = encoded(m=90)
    labels = np.arange(90) % 3
    settings = dict(epochs=4, batch_size=16, seed=3, embedding_width=4, validation_split=0.2)
    whole = DeepNetwork([X.shape[0], 6, 3], early_stopping=2, **settings)
    whole.fit(X, labels)
    net = DeepNetwork([X.shape[0], 6, 3], early_stopping=2, **settings)
    assert net.fit(X, labels, stop=StopAfter(7)).stop_reason == "interrupted"
    net.save(tmp_path / "checkpoint.npz")
    net = DeepNetwork.load(tmp_path / "checkpoint.npz")
    net.fit(X, labels, epochs=4 - net.epochs_trained, warm_start=True)
    for key, value in whole.parameters.items():
        np.testing.assert_array_equal(net.parameters[key], value)


def test_data_parallel_ranks_train_the_embedding_on_shares_of_the_codes():
    X, _, _ = encoded(m=45)
    labels = np.arange(45) % 3
    settings = dict(dtype="float64", epochs=3, batch_size=8, seed=1, embedding_width=4)
    one = DeepNetwork([X.shape[0], 5, 3], **settings)
    one.fit(X, labels)

    def rank_fit(comm):
        part = share(45, comm.Get_size(), comm.Get_rank())
        net = DeepNetwork([X.shape[0], 5, 3], **settings)
        net.fit(X[:, part], labels[part], comm=comm)
        return net

    for net in run_ranks(3, rank_fit):
        assert set(net.parameters) == set(one.parameters) and "E1" in net.parameters
        for key, value in one.parameters.items():
            np.testing.assert_allclose(net.parameters[key], value, rtol=0, atol=1e-12)


def test_the_command_line_trains_summarises_and_refuses_a_bad_width(tmp_path, capsys):
    import pandas as pd

    columns = table(m=300, cities=40)
    columns["y"] = (np.nan_to_num(columns["age"]) > 40).astype(int)
    pd.DataFrame(columns).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "runs" / "emb"
    flags = ["--target", "y", "--runs-dir", str(tmp_path / "runs"), "--no-plots"]
    code = main(
        [
            "train",
            str(tmp_path / "t.csv"),
            *flags,
            "--embedding-width",
            "3",
            "--epochs",
            "3",
            "--layers",
            "8",
            "--name",
            "emb",
        ]
    )
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "embedding" in printed
    net = DeepNetwork.load(out / "model.npz")
    assert net.parameters["E1"].shape == (3, 40) and net.hyperparameters.embedding_width == 3
    assert "embedding_width = 3" in (out / "config.toml").read_text()
    # A run's config builds the network its model file holds (what --resume compares).
    from ldnn.runs.config import data_and_network, from_file

    built = data_and_network(from_file(out / "config.toml")).network
    assert built.hyperparameters == net.hyperparameters
    assert main(["summary", str(out / "model.npz")]) == 0
    assert "E1: (3, 40)" in capsys.readouterr().out
    code = main(["train", str(tmp_path / "t.csv"), *flags, "--embedding-width", "-2"])
    err = capsys.readouterr().err
    assert code == 2 and "--embedding-width" in err and len(err.strip().splitlines()) == 1
