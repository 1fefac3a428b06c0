"""ldnn.onnx: the exported graph passes onnx's checker and onnxruntime reproduces ldnn's
forward pass within 1e-5 (float32), for every activation and every kind of output."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from ldnn import ConfigurationError, DeepNetwork, NotFittedError  # noqa: E402
from ldnn.cli import main  # noqa: E402
from ldnn.core.activations import register_activation, unregister_activation  # noqa: E402
from ldnn.onnx import OnnxExportError, export_file, to_onnx  # noqa: E402

ATOL = 1e-5


def assert_same_labels(got, expected, probabilities, multilabel=False):
    """onnxruntime's labels are ldnn's wherever a change of ATOL in the probabilities
    (how far the two agree: another library's kernels) cannot flip them, which is
    nearly everywhere; an example that ties within it may go either way."""
    p = np.asarray(probabilities).reshape(len(got), -1)
    if multilabel or p.shape[1] == 1:
        margin = np.abs(p - 0.5).min(axis=1)
    else:
        top = np.sort(p, axis=1)
        margin = top[:, -1] - top[:, -2]
    decided = margin > 2 * ATOL
    assert decided.mean() > 0.9
    np.testing.assert_array_equal(np.asarray(got)[decided], np.asarray(expected)[decided])


def run(model_proto, X):
    """onnxruntime's outputs by name for X of shape (batch, n[0])."""
    session = ort.InferenceSession(
        model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X}), strict=True))


def random_network(layer_dims, activations, output=None, loss=None, seed=0, **settings):
    """A network with random parameters large enough that every activation bends."""
    net = DeepNetwork(layer_dims, activations=activations, output=output, loss=loss, **settings)
    rng = np.random.default_rng(seed)
    net.initialize(rng)
    for key, value in net.parameters.items():
        net.parameters[key] = rng.normal(size=value.shape).astype(value.dtype)
    return net


def inputs(n0, batch=64, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, n0)).astype(np.float32)


# -- the graph's structure -----------------------------------------------------------------
def test_each_layer_is_one_gemm_with_transposed_w_and_flat_b_then_its_activation():
    net = random_network([3, 5, 4, 2], ["relu", "tanh"], output="softmax")
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    ops = [n.op_type for n in model.graph.node]
    assert ops[:6] == ["Gemm", "Relu", "Gemm", "Tanh", "Gemm", "Softmax"]
    gemms = [n for n in model.graph.node if n.op_type == "Gemm"]
    for l, gemm in enumerate(gemms, 1):
        assert {a.name: a.i for a in gemm.attribute} == {"transB": 1}
        assert list(gemm.input[1:]) == [f"W{l}", f"b{l}"]
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    assert weights["W2"].shape == (4, 5)  # the notes' (n[l], n[l-1]), as stored
    assert weights["b2"].shape == (4,)  # flattened for Gemm's broadcast over rows
    softmax = next(n for n in model.graph.node if n.op_type == "Softmax")
    assert softmax.attribute[0].name == "axis" and softmax.attribute[0].i == 1
    assert model.opset_import[0].version >= 13


def test_input_has_a_dynamic_batch_dimension():
    net = random_network([3, 4, 1], "relu")
    model = to_onnx(net)
    (x,) = model.graph.input
    dims = x.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and not dims[0].HasField("dim_value")
    assert dims[1].dim_value == 3
    for batch in (1, 7):
        out = run(model, inputs(3, batch=batch))
        assert out["probabilities"].shape == (batch, 1)


# -- onnxruntime against ldnn's forward ---------------------------------------------------------
@pytest.mark.parametrize(
    "activation", ["relu", "leaky_relu", "leaky_relu:0.2", "tanh", "sigmoid", "linear"]
)
@pytest.mark.parametrize(
    "kind, n_out, output, loss",
    [
        ("binary", 1, "sigmoid", None),
        ("multiclass", 4, "softmax", None),
        ("regression", 2, "linear", "mse"),
    ],
)
def test_onnxruntime_matches_ldnn_forward(activation, kind, n_out, output, loss):
    net = random_network([5, 8, 6, n_out], activation, output=output, loss=loss)
    X = inputs(5)
    expected = net.predict_proba(X.T).T  # A[L], (batch, n[L])
    got = run(to_onnx(net), X)
    if kind == "regression":
        np.testing.assert_allclose(got["Y"], expected, atol=ATOL, rtol=0)
        return
    np.testing.assert_allclose(got["probabilities"], expected, atol=ATOL, rtol=0)
    labels = net.predict(X.T).T.reshape(got["label"].shape)
    assert_same_labels(got["label"], labels, expected, multilabel=kind == "multilabel")


def test_leaky_relu_slope_is_exported_as_alpha():
    net = random_network([2, 3, 1], "leaky_relu:0.2")
    node = next(n for n in to_onnx(net).graph.node if n.op_type == "LeakyRelu")
    assert node.attribute[0].f == pytest.approx(0.2)


def test_float64_export_matches_to_float64_precision():
    net = random_network([4, 6, 3], "tanh", dtype="float64")
    X = inputs(4).astype(np.float64)
    got = run(to_onnx(net, dtype="float64"), X)
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X.T).T, atol=1e-12)


def test_network_metadata_classes_become_labels():
    net = random_network([3, 4, 3], "relu")
    net.metadata["classes"] = ["a", "b", "c"]
    X = inputs(3)
    got = run(to_onnx(net), X)
    expected = np.array(["a", "b", "c"])[net.predict(X.T).ravel()]
    assert_same_labels(got["label"].astype(str), expected, net.predict_proba(X.T).T)


# -- errors -----------------------------------------------------------------------------------
def test_user_activation_without_onnx_operator_is_a_clear_error():
    register_activation("cube", lambda Z: Z**3, lambda Z: 3 * Z**2, overwrite=True)
    try:
        net = random_network([2, 3, 1], "cube")
        with pytest.raises(OnnxExportError, match=r"'cube' of layer 1 has no ONNX operator"):
            to_onnx(net)
    finally:
        unregister_activation("cube")
    assert issubclass(OnnxExportError, ConfigurationError)


def test_unfitted_models_and_bad_options_are_refused():
    with pytest.raises(NotFittedError):
        to_onnx(DeepNetwork([2, 3, 1]))
    net = random_network([2, 3, 1], "relu")
    with pytest.raises(OnnxExportError, match="opset"):
        to_onnx(net, opset=11)
    with pytest.raises(OnnxExportError, match="dtype"):
        to_onnx(net, dtype="float16")
    with pytest.raises(ConfigurationError, match="DeepNetwork"):
        to_onnx(object())


# -- the scikit-learn estimators ----------------------------------------------------------------
@pytest.fixture(scope="module")
def blobs():
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    return X.astype(np.float32), y


@pytest.mark.parametrize("labels", [None, ["ant", "bee", "cow"]])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sklearn_classifier_export_matches_predict_proba_and_predict(blobs, labels, n_classes):
    from ldnn.sklearn import DNNClassifier

    X, y = blobs
    keep = y < n_classes
    X, y = X[keep], y[keep]
    if labels is not None:
        y = np.array(labels)[y]
    clf = DNNClassifier(hidden_layer_sizes=(8,), epochs=30, learning_rate=0.01, random_state=0)
    clf.fit(X, y)
    got = run(to_onnx(clf), X)
    np.testing.assert_allclose(got["probabilities"], clf.predict_proba(X), atol=ATOL, rtol=0)
    assert got["probabilities"].shape == (len(y), n_classes)
    assert_same_labels(got["label"].astype(y.dtype), clf.predict(X), clf.predict_proba(X))


def test_sklearn_multilabel_and_regressor_export(blobs):
    from ldnn.sklearn import DNNClassifier, DNNRegressor

    X, y = blobs
    Y = np.column_stack([y == 0, y == 1, y > 0]).astype(int)
    clf = DNNClassifier(hidden_layer_sizes=(8,), epochs=20, random_state=0).fit(X, Y)
    got = run(to_onnx(clf), X)
    np.testing.assert_allclose(got["probabilities"], clf.predict_proba(X), atol=ATOL, rtol=0)
    assert_same_labels(got["label"], clf.predict(X), clf.predict_proba(X), multilabel=True)
    reg = DNNRegressor(hidden_layer_sizes=(8,), epochs=20, random_state=0).fit(X, X[:, 0] * 2)
    got = run(to_onnx(reg), X)
    np.testing.assert_allclose(got["Y"][:, 0], reg.predict(X), atol=ATOL, rtol=1e-6)


def test_unfitted_sklearn_estimator_is_refused():
    pytest.importorskip("sklearn")
    from ldnn.sklearn import DNNClassifier

    with pytest.raises(NotFittedError, match="not fitted"):
        to_onnx(DNNClassifier())


# -- files and the command line ------------------------------------------------------------------
def test_export_file_and_the_export_command_write_a_servable_model(tmp_path, capsys):
    net = random_network([3, 4, 2], "relu", output="softmax")
    net.save(tmp_path / "model.npz")
    export_file(tmp_path / "model.npz", tmp_path / "a.onnx")
    assert main(["export", str(tmp_path / "model.npz"), "-o", str(tmp_path / "b.onnx")]) == 0
    assert "b.onnx" in capsys.readouterr().out
    X = inputs(3)
    for name in ("a.onnx", "b.onnx"):
        model = onnx.load(tmp_path / name)
        np.testing.assert_allclose(
            run(model, X)["probabilities"], net.predict_proba(X.T).T, atol=ATOL
        )


def test_the_export_command_reports_a_missing_file_in_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ldnn export: error") and err.count("\n") == 1
    assert not (tmp_path / "x.onnx").exists()


def test_an_interrupted_export_leaves_no_file(tmp_path, monkeypatch):
    net = random_network([3, 4, 2], "relu", output="softmax")
    net.save(tmp_path / "model.npz")

    def crash(fd):  # the bytes are written, then the process is interrupted
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        export_file(tmp_path / "model.npz", tmp_path / "x.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_binary_network_with_class_names_labels_by_threshold():
    net = random_network([3, 4, 1], "tanh")
    net.metadata["classes"] = ["no", "yes"]
    X = inputs(3)
    got = run(to_onnx(net), X)
    assert got["probabilities"].shape == (64, 1)
    expected = np.array(["no", "yes"])[net.predict(X.T).ravel()]
    assert_same_labels(got["label"].astype(str), expected, net.predict_proba(X.T).T)


def test_ldnn_export_command(tmp_path, capsys):
    net = random_network([4, 6, 3], ["tanh"], output="softmax")
    net.save(tmp_path / "model.npz")
    out = tmp_path / "model.onnx"
    assert main(["export", str(tmp_path / "model.npz"), "-o", str(out)]) == 0
    X = inputs(4)
    probabilities = run(onnx.load(str(out)), X)["probabilities"]
    np.testing.assert_allclose(probabilities, net.predict_proba(X.T).T, rtol=1e-5, atol=1e-6)
    assert main(["export", str(tmp_path / "missing.npz"), "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


# -- a table's categories: layer 1 gathers W[1]'s columns --------------------------------------
def high_cardinality_csv(path, m, seed, categories=1500, unseen=0):
    """Rows of a table with a text column of many categories (a few rare), a second text
    column, and numbers with missing values; ``unseen`` rows hold cities training never saw."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, categories, m)
    x = rng.normal(size=m)
    lines = ["city,x,port,fare,y"]
    for i in range(m):
        name = f"new{i}" if i < unseen else f"c{city[i]}"
        cell = "" if i % 17 == 3 else f"{x[i]:.5f}"
        port = "" if i % 23 == 5 else "CQS"[i % 3]
        y = int((city[i] % 5 < 2) ^ (x[i] > 0.3))
        lines.append(f"{name},{cell},{port},{abs(x[i]) * 30:.3f},{y}")
    Path(path).write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("width", [None, 8])
def test_a_table_of_many_categories_exports_gathers_that_match_ldnn_predict(tmp_path, width):
    """1,500 categories (the rare ones pooled into "(other)"), batch norm on layer 1, and
    a later file with categories training never saw and missing values: onnxruntime's
    probabilities are ldnn's to 1e-6. With a learned embedding of width 8 the city's
    gather takes E1's columns (8 wide) and a MatMul by V^T, the port (3 categories) stays
    one-hot."""
    import copy

    from ldnn.data import TableEncoding
    from ldnn.data.sources import load_for_model
    from ldnn.runs.config import DEFAULTS, data_and_network
    from ldnn.runs.predictions import model_info

    high_cardinality_csv(tmp_path / "t.csv", 6000, seed=0)
    config = copy.deepcopy(DEFAULTS)
    config["data"].update(
        source=str(tmp_path / "t.csv"), target="y", max_categories=2000, min_category_count=3
    )
    config["model"].update(layers=[16], batch_norm=True, embedding_width=width or 0)
    _, dataset, info, net = data_and_network(config)
    rule = TableEncoding.from_metadata(info["columns"]).rules[0]
    assert rule.pooled > 0 and "(other)" in rule.categories
    net.fit(dataset.X_train, dataset.Y_train, epochs=2)
    net.metadata = {"data": info}
    model = to_onnx(net)
    ops = [n.op_type for n in model.graph.node]
    assert "Gather" in ops and "LabelEncoder" in ops and "OneHotEncoder" not in ops
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    # One row per category, per missing-value marker, and one for a city not seen.
    table = weights["city:W1" if width is None else "city:T1"]
    assert table.shape[1] == (width or 16) and table.shape[0] > len(rule.categories)
    assert weights["W1"].shape == (16, 2)  # the numbers' columns of W[1] only
    if width:
        assert net.parameters["E1"].shape == (8, len(rule.categories))
        assert weights["city:V1"].shape == (8, 16) and weights["port:W1"].shape[1] == 16
        assert "MatMul" in ops

    later = tmp_path / "later.csv"
    high_cardinality_csv(later, 500, seed=1, unseen=40)
    rows = [line.split(",") for line in later.read_text().split("\n")[1:] if line]
    data = load_for_model(str(later), model_info(net), {}, need_target=False)
    unseen = sum(row[0] not in rule.categories for row in rows)
    assert data.unexpected["unseen"]["city"] == unseen >= 40
    expected = net.predict_proba(data.X).ravel()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {}
    for spec in session.get_inputs():
        cells = [row[["city", "x", "port", "fare"].index(spec.name)] for row in rows]
        if spec.type == "tensor(string)":
            feed[spec.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            numbers = [float(c) if c else np.nan for c in cells]
            feed[spec.name] = np.array(numbers, dtype=np.float32).reshape(-1, 1)
    probabilities = session.run(["probabilities"], feed)[0]
    np.testing.assert_allclose(probabilities[:, 1], expected, atol=1e-6, rtol=0)
