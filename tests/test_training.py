"""Training: learning works, determinism, mini-batches, early stopping, divergence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ldnn import DeepNetwork, DivergenceWarning, PrintCost
from ldnn.data import make_parity, make_spirals, make_xor
from ldnn.training.batches import minibatches


def test_three_layer_net_learns_two_spirals():
    X, Y = make_spirals(600, noise=0.05, seed=0)
    X_test, Y_test = make_spirals(400, noise=0.05, seed=1)
    net = DeepNetwork(
        [2, 32, 32, 1], optimizer="adam", learning_rate=0.01, epochs=250, batch_size=32, seed=0
    )
    net.fit(X, Y)
    assert net.evaluate(X, Y)["accuracy"] >= 0.97
    assert net.evaluate(X_test, Y_test)["accuracy"] >= 0.97


def test_xor_is_learned_exactly():
    X, Y = make_xor()
    net = DeepNetwork(
        [2, 4, 1], activations="tanh", learning_rate=1.0, epochs=2000, dtype="float64", seed=1
    )
    net.fit(X, Y)
    assert np.array_equal(net.predict(X), Y.astype(int))
    assert net.history.cost[-1] < 0.05


def test_parity_truth_table():
    X, Y = make_parity(3)
    assert X.shape == (3, 8) and Y.tolist() == [[0, 1, 1, 0, 1, 0, 0, 1]]


def test_same_seed_same_numbers_bit_for_bit():
    X, Y = make_spirals(200, seed=3)
    runs = []
    for _ in range(2):
        net = DeepNetwork(
            [2, 8, 8, 1],
            keep_prob=0.8,
            optimizer="adam",
            learning_rate=0.01,
            epochs=5,
            batch_size=16,
            validation_split=0.2,
            seed=7,
        )
        history = net.fit(X, Y)
        runs.append((net.parameters, history.cost, history.val_cost))
    (p1, c1, v1), (p2, c2, v2) = runs
    assert c1 == c2 and v1 == v2
    assert all(np.array_equal(p1[k], p2[k]) for k in p1)
    other = DeepNetwork([2, 8, 8, 1], keep_prob=0.8, epochs=5, batch_size=16, seed=8)
    other.fit(X, Y)
    assert not np.array_equal(other.parameters["W1"], p1["W1"])


def test_minibatches_are_shuffled_and_keep_the_last_partial_batch():
    rng = np.random.default_rng(0)
    batches = minibatches(10, 4, rng)
    assert [len(b) for b in batches] == [4, 4, 2]
    together = np.concatenate(batches)
    assert sorted(together) == list(range(10)) and list(together) != list(range(10))
    assert minibatches(10, None, rng) == [slice(None)]


def test_full_batch_cost_is_the_cost_before_each_update():
    # With full-batch gradient descent, history.cost[i] is J at the parameters that
    # iteration i starts from, as the course prints it.
    X, Y = make_spirals(50, seed=0)
    net = DeepNetwork([2, 3, 1], epochs=1, learning_rate=0.1, dtype="float64")
    net.initialize()
    before = net.evaluate(X, Y)["cost"]
    history = net.fit(X, Y, warm_start=True)
    assert history.cost[0] == pytest.approx(before, rel=1e-12)


def test_dtype_is_kept_through_training():
    X, Y = make_spirals(50, seed=0)
    for dtype in ("float32", "float64"):
        net = DeepNetwork([2, 3, 1], optimizer="adam", epochs=2, dtype=dtype)
        net.fit(X, Y)
        assert all(v.dtype == np.dtype(dtype) for v in net.parameters.values())
        assert net.predict_proba(X).dtype == np.dtype(dtype)


def test_divergence_stops_and_keeps_the_last_finite_parameters():
    X, Y = make_spirals(100, seed=0)
    Y = Y * 3.0  # a regression target
    net = DeepNetwork(
        [2, 16, 16, 1], output="linear", learning_rate=50.0, epochs=100, dtype="float32"
    )
    with pytest.warns(DivergenceWarning, match=r"NaN or infinite in epoch \d+.*smaller"):
        history = net.fit(X, Y)
    assert history.stop_reason == "diverged"
    assert 0 < len(history) < 100
    assert all(math.isfinite(c) for c in history.cost)
    assert all(np.isfinite(v).all() for v in net.parameters.values())


def test_early_stopping_restores_the_best_parameters():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 60))
    Y = (rng.random((1, 60)) < 0.5).astype(float)  # pure noise: validation cost goes up
    X_val = rng.standard_normal((5, 60))
    Y_val = (rng.random((1, 60)) < 0.5).astype(float)
    net = DeepNetwork(
        [5, 64, 64, 1],
        optimizer="adam",
        learning_rate=0.01,
        epochs=300,
        early_stopping=5,
        dtype="float64",
    )
    history = net.fit(X, Y, validation_data=(X_val, Y_val))
    assert history.stop_reason == "early stopping"
    assert len(history) == history.best_epoch + 6
    best = min(history.val_cost)
    assert history.val_cost[history.best_epoch] == best
    assert net.evaluate(X_val, Y_val)["cost"] == pytest.approx(best, rel=1e-12)


def test_callback_can_stop_training():
    X, Y = make_xor()
    seen = []

    def stop_at_three(epoch, record, parameters):
        seen.append(record["cost"])
        return epoch == 2

    history = DeepNetwork([2, 3, 1], epochs=50).fit(X, Y, callbacks=[stop_at_three])
    assert len(history) == 3 and history.stop_reason == "callback" and seen == history.cost


def test_print_cost_every_n_epochs(capsys):
    X, Y = make_xor()
    DeepNetwork([2, 3, 1], epochs=250).fit(X, Y, verbose=100)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Cost after epoch 0",
        "Cost after epoch 100",
        "Cost after epoch 200",
        "Cost after epoch 249",
    ]


def test_print_cost_in_the_courses_words(capsys):
    X, Y = make_xor()
    lines = []
    history = DeepNetwork([2, 3, 1], epochs=7).fit(
        X, Y, callbacks=[PrintCost(every=3, total=7, print_fn=lines.append, course=True)]
    )
    assert lines == [f"Cost after iteration {i}: {history.cost[i]}" for i in (0, 3, 6)]


def test_integer_sample_weights_equal_repeated_examples():
    X, Y = make_spirals(30, seed=4)
    w = np.arange(30) % 3  # 0, 1 or 2 copies of each example
    repeat = np.repeat(np.arange(30), w)
    kwargs = dict(epochs=20, learning_rate=0.3, dtype="float64", seed=0)
    weighted = DeepNetwork([2, 4, 1], **kwargs)
    weighted.fit(X, Y, sample_weight=w)
    copied = DeepNetwork([2, 4, 1], **kwargs)
    copied.fit(X[:, repeat], Y[:, repeat])
    for key in weighted.parameters:
        assert_allclose(weighted.parameters[key], copied.parameters[key], rtol=1e-10)
    assert_allclose(weighted.history.cost, copied.history.cost, rtol=1e-10)


def test_warm_start_continues():
    X, Y = make_spirals(100, seed=0)
    net = DeepNetwork([2, 8, 1], optimizer="adam", learning_rate=0.01, epochs=30)
    first = net.fit(X, Y)
    t = net.optimizer.t
    second = net.fit(X, Y, warm_start=True, epochs=10)
    assert len(second) == 10 and net.optimizer.t == t + 10
    assert second.cost[0] < first.cost[0]


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam", "lbfgs"])
def test_every_optimizer_learns_xor(optimizer):
    X, Y = make_xor()
    lr = {"gd": 1.0, "momentum": 1.0, "rmsprop": 0.01, "adam": 0.05, "lbfgs": 1.0}[optimizer]
    net = DeepNetwork(
        [2, 8, 1],
        activations="tanh",
        optimizer=optimizer,
        learning_rate=lr,
        epochs=800,
        dtype="float64",
        seed=0,
    )
    net.fit(X, Y)
    assert np.array_equal(net.predict(X), Y.astype(int)), optimizer


def test_multiclass_with_integer_labels_and_multilabel():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 300))
    labels = (X[0] > 0).astype(int) + (X[1] > 0).astype(int)  # 0, 1 or 2
    net = DeepNetwork([2, 16, 3], optimizer="adam", learning_rate=0.02, epochs=200, seed=0)
    assert net.hyperparameters.activations[-1] == "softmax"
    net.fit(X, labels)
    assert net.predict(X).shape == (1, 300)
    assert net.evaluate(X, labels)["accuracy"] > 0.95
    assert_allclose(net.predict_proba(X).sum(axis=0), 1, rtol=1e-5)
    Y = np.stack([X[0] > 0, X[1] > 0]).astype(float)
    multi = DeepNetwork(
        [2, 16, 2], output="sigmoid", optimizer="adam", learning_rate=0.02, epochs=200, seed=0
    )
    assert multi.hyperparameters.loss == "binary_crossentropy"
    multi.fit(X, Y)
    assert multi.predict(X).shape == (2, 300)
    assert multi.evaluate(X, Y)["accuracy"] > 0.95


def test_regression():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (1, 200))
    Y = np.sin(3 * X)
    net = DeepNetwork(
        [1, 32, 32, 1],
        activations="tanh",
        output="linear",
        optimizer="adam",
        learning_rate=0.01,
        epochs=300,
        batch_size=32,
        seed=0,
    )
    assert net.hyperparameters.loss == "mean_squared_error"
    net.fit(X, Y)
    assert net.evaluate(X, Y)["mse"] < 0.01


def test_summary_table(capsys):
    text = DeepNetwork([4, 5, 3, 1]).summary(m=64)
    assert "(5, 4)" in text and "(5, 1)" in text and "(5, 64)" in text
    assert "total parameters: 47" in text  # (5*4 + 5) + (3*5 + 3) + (1*3 + 1)
    assert capsys.readouterr().out.strip() == text


def test_warm_starts_add_up_to_one_long_fit_bit_for_bit():
    # 4 + 6 warm-started epochs draw the same shuffles and masks, keep Adam's state and
    # continue the learning-rate schedule: the same numbers as 10 epochs in one fit.
    X, Y = make_spirals(90, seed=2)
    kwargs = dict(
        optimizer="adam",
        learning_rate=0.01,
        lr_schedule="inverse_time",
        decay_rate=0.5,
        batch_size=16,
        keep_prob=0.9,
        seed=3,
    )
    once = DeepNetwork([2, 6, 6, 1], epochs=10, **kwargs)
    once.fit(X, Y)
    twice = DeepNetwork([2, 6, 6, 1], epochs=4, **kwargs)
    first = twice.fit(X, Y)
    second = twice.fit(X, Y, warm_start=True, epochs=6)
    assert second.epoch == list(range(4, 10)) and twice.epochs_trained == 10
    assert first.cost + second.cost == once.history.cost
    assert first.learning_rate + second.learning_rate == once.history.learning_rate
    assert all(np.array_equal(once.parameters[k], twice.parameters[k]) for k in once.parameters)


def test_callbacks_see_the_network_learning():
    # A callback may score the network itself: its parameters are the ones being trained.
    X, Y = make_spirals(100, seed=0)
    net = DeepNetwork([2, 8, 1], optimizer="adam", learning_rate=0.01, epochs=5)
    seen = []
    net.fit(
        X,
        Y,
        callbacks=[
            lambda epoch, record, parameters: seen.append(
                (net.parameters is parameters, net.evaluate(X, Y)["cost"])
            )
        ],
    )
    assert all(same for same, _ in seen)
    assert len({cost for _, cost in seen}) == 5


def test_divergence_in_the_first_step_keeps_the_initial_parameters():
    # Inputs at the edge of float32 overflow Z[1] = W[1] X at once: the very first cost
    # is infinite, so the last finite parameters are the initial ones.
    X = np.full((2, 20), 3e38, dtype=np.float32)
    net = DeepNetwork([2, 8, 1], output="linear", epochs=3, dtype="float32")
    net.initialize()
    start = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.warns(DivergenceWarning) as caught:
        history = net.fit(X, np.ones((1, 20)), warm_start=True)
    (message,) = [str(w.message) for w in caught]
    # Not even the initial parameters give finite outputs on such X: fit says so plainly
    # (and keeps them).
    assert "epoch 0 (step 0)" in message and "not even the initial ones" in message
    assert len(history) == 0 and history.stop_reason == "diverged"
    assert all(np.array_equal(net.parameters[k], start[k]) for k in start)


def test_lbfgs_stopped_by_a_callback_keeps_its_last_iterate():
    X, Y = make_spirals(100, seed=0)
    net = DeepNetwork([2, 8, 1], optimizer="lbfgs", epochs=100, dtype="float64")
    history = net.fit(X, Y, callbacks=[lambda epoch, record, parameters: epoch == 4])
    assert len(history) == 5 and history.stop_reason == "callback"
    assert net.evaluate(X, Y)["cost"] == pytest.approx(history.cost[-1], rel=1e-12)


@pytest.mark.parametrize(
    "settings",
    [
        dict(batch_size=32, validation_split=0.25, early_stopping=2, epochs=30),
        dict(batch_size=None, epochs=5),
        dict(optimizer="lbfgs", epochs=5),
    ],
    ids=["minibatches+validation", "full batch", "lbfgs"],
)
def test_class_labels_train_exactly_like_their_one_hot(settings):
    # Labels are kept as labels and each batch's one-hot is made when needed; the
    # numbers must be those of training on the whole set's one-hot.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 200))
    labels = (X[0] > 0).astype(int) + (X[1] > 0.5).astype(int)
    one_hot = np.eye(3)[:, labels]
    nets = []
    for Y in (labels, one_hot):
        net = DeepNetwork([3, 6, 3], learning_rate=0.3, seed=2, dtype="float64", **settings)
        history = net.fit(X, Y)
        nets.append((net, history))
    (a, ha), (b, hb) = nets
    for key in a.parameters:
        assert np.array_equal(a.parameters[key], b.parameters[key]), key
    assert ha.cost == hb.cost and ha.val_cost == hb.val_cost


def test_training_on_labels_never_holds_the_whole_one_hot():
    import tracemalloc

    m, classes = 40_000, 10
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((4, m), dtype=np.float32))
    labels = rng.integers(0, classes, m)
    net = DeepNetwork([4, 8, classes], epochs=1, batch_size=100, dtype="float32", seed=0)
    tracemalloc.start()
    try:
        net.fit(X, labels)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_hot_bytes = classes * m * 4  # 1.6 MB
    # What remains: the shuffle (m int32 = 160 kB) and arrays of one batch.
    assert peak < one_hot_bytes / 4, peak


def test_a_training_step_allocates_nothing_of_the_parameters_size():
    # With L2, dropout and Adam: after the first epoch every step writes into reused
    # arrays, so the transient memory of later epochs stays far below one layer's
    # weights (200 x 300 float64 = 480 kB); one temporary of W's size per step exceeds it.
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 64))
    Y = (X[0] > 0).astype(float).reshape(1, -1)
    net = DeepNetwork(
        [300, 200, 1],
        lambd=0.1,
        keep_prob=0.8,
        optimizer="adam",
        epochs=4,
        batch_size=8,
        dtype="float64",
        seed=0,
    )
    seen = {}

    def watch(epoch, record, parameters):
        if epoch == 0:
            seen["base"] = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        elif epoch == 3:
            seen["peak"] = tracemalloc.get_traced_memory()[1] - seen["base"]

    tracemalloc.start()
    try:
        net.fit(X, Y, callbacks=[watch])
    finally:
        tracemalloc.stop()
    W_bytes = net.parameters["W1"].nbytes
    assert seen["peak"] < W_bytes / 4, (seen["peak"], W_bytes)


def test_predictions_reuse_arrays_safely_across_threads_copies_and_pickles():
    import copy
    import pickle
    import threading

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 2500))  # more than one block of 1,024 columns
    net = DeepNetwork([3, 5, 2], epochs=2, seed=0)
    net.fit(X, (X[0] > 0).astype(int))
    expected = net.predict_proba(X)
    # A smaller m next reuses the arrays of the larger one: the same as a fresh network's
    # (the same computation; a 7-column product and 7 columns of a 1,024-column one may
    # differ in their last bits, by the BLAS kernels' blocking).
    fresh = copy.deepcopy(net).predict_proba(X[:, :7])
    assert np.array_equal(net.predict_proba(X[:, :7]), fresh)
    np.testing.assert_allclose(fresh, expected[:, :7], rtol=1e-6, atol=1e-7)
    results = {}

    def predict(i):
        results[i] = net.predict_proba(X)

    threads = [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(r, expected) for r in results.values())
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert np.array_equal(twin.predict_proba(X), expected)
