"""ldnn.model.ensemble.merge: K members as one network whose Z[L] is the mean of theirs.

Every member's Z[L] is computed here by the core's forward pass, member by member, and
compared with the merged network's forward pass, predict_proba, model file and ONNX
graph; members of different hyperparameters (other than the seed), none, mid-fit or with
a learned embedding are refused.
"""

from __future__ import annotations

import numpy as np
import pytest

from ldnn import ConfigurationError, DeepNetwork, NotFittedError, get_activation
from ldnn.core.parameters import count_parameters
from ldnn.core.propagation import forward
from ldnn.data import make_spirals
from ldnn.model.ensemble import merge


def random_members(layer_dims, K, activations="tanh", output=None, **settings):
    """K members of one architecture, seeds 0..K-1, with random parameters large enough
    that every hidden unit bends (N(0, 1) entries)."""
    members = []
    for k in range(K):
        net = DeepNetwork(layer_dims, activations, output=output, seed=k, **settings)
        rng = np.random.default_rng(100 + k)
        net.initialize(rng)
        net.parameters = {
            name: rng.normal(size=P.shape).astype(P.dtype) for name, P in net.parameters.items()
        }
        members.append(net)
    return members


def trained_members(K, layer_dims=(2, 6, 5, 1), **settings):
    """K members trained a few epochs on the spirals (seeds 0..K-1)."""
    X, Y = make_spirals(120, seed=1)
    base = dict(optimizer="adam", learning_rate=0.02, batch_size=16, epochs=3, dtype="float64")
    members = [DeepNetwork(list(layer_dims), seed=k, **(base | settings)) for k in range(K)]
    for net in members:
        net.fit(X, Y)
    return members, X


def z_output(net, X):
    """Z[L] of ``net`` on X (n[0], m) by the core's forward pass (running statistics)."""
    _, caches = forward(X, net.parameters, net.hyperparameters.activations)
    return caches[-1].Z


def ensemble_output(members, X):
    """(the mean of the members' Z[L], g[L] of it)."""
    Z = np.mean([z_output(net, X) for net in members], axis=0)
    g = get_activation(members[0].hyperparameters.activations[-1])
    return Z, g.forward(Z.copy())


ARCHITECTURES = [
    # (layer_dims, output, K): L = 1, 2, 3 and 4; sigmoid, softmax (3 classes), linear.
    ([3, 1], "sigmoid", 3),
    ([3, 3], "softmax", 2),
    ([4, 5, 3], "softmax", 4),
    ([4, 6, 2], "linear", 3),
    ([3, 5, 4, 3], "softmax", 3),
    ([3, 5, 4, 6, 1], "sigmoid", 3),
    ([2, 4, 3, 5, 2], "linear", 5),
]


@pytest.mark.parametrize("layer_dims, output, K", ARCHITECTURES)
def test_merged_z_is_the_mean_of_the_members_z(layer_dims, output, K):
    members = random_members(layer_dims, K, output=output, dtype="float64")
    merged = merge(members)
    X = np.random.default_rng(7).normal(size=(layer_dims[0], 50))
    Z_mean, A_mean = ensemble_output(members, X)
    L = len(layer_dims) - 1
    wide = [layer_dims[0], *(K * n for n in layer_dims[1:-1]), layer_dims[-1]]
    assert list(merged.layer_dims) == wide
    assert merged.hyperparameters.activations == members[0].hyperparameters.activations
    assert merged.hyperparameters.seed == 0 and merged.dtype == np.float64
    assert merged.history is None and merged.epochs_trained == 0
    A, caches = forward(X, merged.parameters, merged.hyperparameters.activations)
    np.testing.assert_allclose(caches[-1].Z, Z_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(A, A_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged.predict_proba(X), A_mean, rtol=0, atol=1e-12)
    # The members' blocks and nothing else in the middle layers: K (K - 1) zero blocks.
    for l in range(2, L):
        W, (r, c) = merged.parameters[f"W{l}"], members[0].parameters[f"W{l}"].shape
        assert W.shape == (K * r, K * c)
        assert np.count_nonzero(W) == np.count_nonzero([m.parameters[f"W{l}"] for m in members])
        np.testing.assert_array_equal(W[-r:, -c:], members[-1].parameters[f"W{l}"])
    assert sum(P.size for P in merged.parameters.values()) == count_parameters(wide)


def test_float32_members_give_a_float32_network():
    members = random_members([3, 4, 4, 2], 3, output="softmax", dtype="float32")
    merged = merge(members)
    assert merged.dtype == np.float32
    assert all(P.dtype == np.float32 for P in merged.parameters.values())
    X = np.random.default_rng(3).normal(size=(3, 20)).astype(np.float32)
    _, A_mean = ensemble_output(members, X)
    np.testing.assert_allclose(merged.predict_proba(X), A_mean, rtol=0, atol=1e-5)


@pytest.mark.parametrize("batch_norm", [True, (False, True)])
def test_batch_normalised_members_merge_with_their_running_statistics(batch_norm):
    members, X = trained_members(3, batch_norm=batch_norm)
    for net in members:  # trained: the running statistics moved from (0, 1)
        assert not np.allclose(net.parameters["mean2"], 0)
        assert not np.allclose(net.parameters["var2"], 1)
    merged = merge(members)
    assert merged.hyperparameters.batch_norm == members[0].hyperparameters.batch_norm
    hidden = [l for l in (1, 2) if f"gamma{l}" in members[0].parameters]
    for l in hidden:
        for name in (f"gamma{l}", f"beta{l}", f"mean{l}", f"var{l}"):
            expected = np.concatenate([m.parameters[name] for m in members])
            np.testing.assert_array_equal(merged.parameters[name], expected)
    Z_mean, A_mean = ensemble_output(members, X)
    _, caches = forward(X, merged.parameters, merged.hyperparameters.activations)
    np.testing.assert_allclose(caches[-1].Z, Z_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged.predict_proba(X), A_mean, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(merged.predict(X), (A_mean > 0.5).astype(int))


def test_one_member_is_a_copy_of_the_member_bit_for_bit():
    (member,), X = trained_members(1, batch_norm=(True, False))
    member.metadata["classes"] = ["inner", "outer"]
    merged = merge([member])
    assert merged is not member and merged.hyperparameters == member.hyperparameters
    assert list(merged.parameters) == list(member.parameters)
    for name, P in member.parameters.items():
        assert merged.parameters[name] is not P and merged.parameters[name].dtype == P.dtype
        np.testing.assert_array_equal(merged.parameters[name], P, err_msg=name)
    np.testing.assert_array_equal(merged.predict_proba(X), member.predict_proba(X))
    assert merged.metadata == member.metadata and merged.metadata is not member.metadata


def test_save_and_load_give_the_same_predictions(tmp_path):
    members, X = trained_members(3, batch_norm=True)
    for net in members:
        net.metadata["classes"] = ["inner", "outer"]
    merged = merge(members)
    merged.save(tmp_path / "ensemble.npz")
    loaded = DeepNetwork.load(tmp_path / "ensemble.npz")
    assert loaded.hyperparameters == merged.hyperparameters
    assert loaded.metadata == {"classes": ["inner", "outer"]}
    np.testing.assert_array_equal(loaded.predict_proba(X), merged.predict_proba(X))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_onnx_export_of_a_merged_network_matches_predict_proba(batch_norm):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from ldnn.onnx import to_onnx

    if batch_norm:
        members, X = trained_members(3, batch_norm=True)
    else:
        members = random_members([4, 5, 4, 3], 3, output="softmax", dtype="float64")
        X = np.random.default_rng(5).normal(size=(4, 40))
    merged = merge(members)
    session = ort.InferenceSession(
        to_onnx(merged, dtype="float64").SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {"X": np.ascontiguousarray(X.T)}), strict=True))
    expected = merged.predict_proba(X).T  # (batch, n[L])
    np.testing.assert_allclose(got["probabilities"], expected, rtol=0, atol=1e-6)


# -- refusals ----------------------------------------------------------------------------------
def test_members_of_different_layer_dims_are_refused():
    members = random_members([3, 4, 1], 2) + random_members([3, 5, 1], 1)
    with pytest.raises(ConfigurationError, match=r"members 0 and 2 differ in layer_dims") as e:
        merge(members)
    assert "\n" not in str(e.value) and e.value.field == "layer_dims"


def test_members_of_different_activations_are_refused():
    members = random_members([3, 4, 1], 1, "tanh") + random_members([3, 4, 1], 1, "relu")
    with pytest.raises(ConfigurationError, match=r"differ in activations .*except the seed"):
        merge(members)


def test_no_member_is_refused():
    with pytest.raises(ConfigurationError, match="at least one network"):
        merge([])


def test_members_with_a_learned_embedding_are_refused():
    settings = dict(embedding_width=2, embedding=(5,), dtype="float64")
    members = random_members([8, 4, 1], 2, **settings)
    assert "E1" in members[0].parameters
    with pytest.raises(ConfigurationError, match="learned embedding") as e:
        merge(members)
    assert "\n" not in str(e.value)


def test_members_mid_fit_or_unfitted_are_refused():
    X, Y = make_spirals(60, seed=2)
    stopped = DeepNetwork([2, 4, 1], batch_size=8, epochs=3, seed=1)
    stopped.fit(X, Y, stop=lambda: True)
    assert stopped.unfinished is not None
    (done,), _ = trained_members(1, layer_dims=(2, 4, 1), dtype="float32")
    with pytest.raises(ConfigurationError, match="member 1 stopped in the middle of a fit"):
        merge([done, stopped])
    with pytest.raises(NotFittedError, match="member 0 has no parameters"):
        merge([DeepNetwork([2, 4, 1])])


def test_members_that_saw_differently_prepared_data_are_refused():
    members = random_members([3, 4, 1], 2)
    members[0].metadata["data"] = {"task": "classification", "x_mean": [0.0, 1.0, 2.0]}
    members[1].metadata["data"] = {"task": "classification", "x_mean": [0.0, 1.0, 2.5]}
    with pytest.raises(ConfigurationError, match=r"metadata\['data'\]"):
        merge(members)
