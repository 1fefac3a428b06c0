"""Export a trained network to ONNX, to serve it with onnxruntime or any ONNX runtime.

Each layer l of the notes becomes two ONNX nodes:

    Z[l] = Gemm(A[l-1], W[l], b[l], transB=1)      A[l] = g[l](Z[l])

ONNX puts one example per ROW (input ``X`` of shape (batch, n[0]), batch dynamic), the
notes one per column. Transposing the notes' Z[l] = W[l] A[l-1] + b[l] gives
Z[l]^T = A[l-1]^T W[l]^T + b[l]^T, which is exactly Gemm with B = W[l] and transB = 1,
so W[l] is stored as is, in the notes' shape (n[l], n[l-1]); b[l] is flattened to (n[l],)
because Gemm broadcasts C over the rows. For the same reason softmax runs over axis 1.

Outputs:

- classifiers (sigmoid or softmax output): ``probabilities`` and ``label``;
- everything else: ``Y`` of shape (batch, n[L]).

The module imports ``onnx`` only when it exports, so ``ldnn`` works without the extra;
``import onnx`` here is an absolute import and gets the real package, not this module.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ldnn._version import __version__
from ldnn.activations import get_activation
from ldnn.errors import ConfigurationError, MissingPackageError, NotFittedError, OnnxExportError
from ldnn.io import atomic_write
from ldnn.network import DeepNetwork

__all__ = ["OnnxExportError", "to_onnx", "save_onnx", "export_file"]

#: The opset written by default; 13 is the oldest with Softmax over one axis.
DEFAULT_OPSET = 17
MIN_OPSET = 13
EXPORT_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "softmax", "linear")


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise MissingPackageError(
            "ONNX export needs the onnx package: pip install 'ldnn[onnx]'"
        ) from None
    return onnx


# -- what to export -------------------------------------------------------------------------
def _unwrap(model) -> tuple[DeepNetwork, str, np.ndarray | None]:
    """(network, task, class labels) for a DeepNetwork or a fitted ldnn.sklearn estimator.

    task is "binary", "multiclass", "multilabel" (sklearn classifiers), "network" (a bare
    DeepNetwork) or "regression".
    """
    if isinstance(model, DeepNetwork):
        classes = model.metadata.get("classes")
        return model, "network", None if classes is None else np.asarray(classes)
    network = getattr(model, "network_", None)
    if isinstance(network, DeepNetwork):
        # The estimator's task shows in its output layer (see ldnn.build).
        output, n_out = network.hyperparameters.activations[-1], network.layer_dims[-1]
        if not hasattr(model, "classes_"):
            return network, "regression", None
        if output == "sigmoid" and n_out > 1:
            return network, "multilabel", None
        return network, "binary" if n_out == 1 else "multiclass", model.classes_
    if hasattr(model, "get_params") and hasattr(model, "fit"):
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit() before to_onnx()"
        )
    raise ConfigurationError(
        "to_onnx() takes a DeepNetwork or a fitted ldnn.sklearn estimator, got "
        f"{type(model).__name__}"
    )


def _activation_nodes(helper, name: str, layer: int, Z: str, A: str) -> list:
    """The ONNX node computing A[l] = g[l](Z[l]); none for a linear layer."""
    activation = get_activation(name, layer=layer)
    base, _, parameter = activation.name.partition(":")
    simple = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}
    if base in simple:
        return [helper.make_node(simple[base], [Z], [A], name=f"g{layer}")]
    if base == "leaky_relu":
        # The activation's name carries its slope ("leaky_relu:0.2"); bare means 0.01.
        alpha = float(parameter) if parameter else 0.01
        return [helper.make_node("LeakyRelu", [Z], [A], name=f"g{layer}", alpha=alpha)]
    if base == "softmax":
        # Examples are rows in ONNX, so the classes of one example lie along axis 1.
        return [helper.make_node("Softmax", [Z], [A], name=f"g{layer}", axis=1)]
    if base == "linear":
        return [helper.make_node("Identity", [Z], [A], name=f"g{layer}")]
    raise OnnxExportError(
        f"activation {activation.name!r} of layer {layer} has no ONNX operator; ONNX export "
        f"supports {', '.join(EXPORT_ACTIVATIONS)}. Retrain with one of those, or build the "
        "graph yourself from network.parameters."
    )


def _class_tensor(numpy_helper, classes: np.ndarray):
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        values = classes.astype(np.int64)
    elif classes.dtype.kind == "f":
        values = classes.astype(np.float64)
    else:
        # Strings (and other objects) become an ONNX string tensor.
        values = np.array([str(c) for c in classes], dtype=object)
    return numpy_helper.from_array(values, name="classes")


# -- the graph -------------------------------------------------------------------------------
def to_onnx(model, *, dtype: str = "float32", opset: int = DEFAULT_OPSET, name: str = "ldnn"):
    """Build the ONNX model of a trained network.

    Parameters
    ----------
    model : DeepNetwork or fitted DNNClassifier / DNNRegressor
    dtype : {"float32", "float64"}, default "float32"
        Element type of the input ``X``, the weights and the outputs.
    opset : int, default 17
        ONNX operator set, at least 13.
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` of shape (batch, n[0]). Outputs, with batch dynamic:

        - classifier: ``probabilities`` (batch, n_classes) and ``label``. For an sklearn
          classifier these match ``predict_proba`` and ``predict`` (labels as int64,
          double or string tensors). For a softmax DeepNetwork ``label`` is the class
          index (batch,), for a sigmoid one the 0/1 matrix (batch, n[L]), as in
          ``DeepNetwork.predict`` transposed; a DeepNetwork whose ``metadata["classes"]``
          lists the class names gets those instead of indices.
        - otherwise: ``Y`` of shape (batch, n[L]) = A[L].

    Raises
    ------
    OnnxExportError
        For an activation with no ONNX operator (user-registered ones) or a bad opset.
    NotFittedError
        For a model without parameters.
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    if dtype not in ("float32", "float64"):
        raise OnnxExportError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < MIN_OPSET:
        raise OnnxExportError(f"opset must be an integer >= {MIN_OPSET}, got {opset!r}")
    network, task, classes = _unwrap(model)
    parameters = network.fitted_parameters()
    hp = network.hyperparameters
    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    np_dtype = np.dtype(dtype)

    nodes, initializers = [], []
    A = "X"
    for l in range(1, hp.L + 1):
        W = np.asarray(parameters[f"W{l}"], dtype=np_dtype)
        b = np.asarray(parameters[f"b{l}"], dtype=np_dtype).reshape(-1)
        initializers += [numpy_helper.from_array(W, f"W{l}"), numpy_helper.from_array(b, f"b{l}")]
        Z = f"Z{l}"
        nodes.append(
            helper.make_node("Gemm", [A, f"W{l}", f"b{l}"], [Z], name=f"layer{l}", transB=1)
        )
        nodes += _activation_nodes(helper, hp.activations[l - 1], l, Z, f"A{l}")
        A = f"A{l}"

    n_out = hp.layer_dims[-1]
    output = hp.activations[-1]
    outputs = []
    if output not in ("sigmoid", "softmax"):
        nodes.append(helper.make_node("Identity", [A], ["Y"], name="output"))
        outputs.append(helper.make_tensor_value_info("Y", elem, ["batch", n_out]))
    else:
        label_type, label_shape, label_nodes, extra = _label_graph(
            helper, TensorProto, numpy_helper, task, output, A, n_out, classes, np_dtype
        )
        nodes += label_nodes
        initializers += extra
        n_columns = 2 if task == "binary" else n_out
        outputs += [
            helper.make_tensor_value_info("probabilities", elem, ["batch", n_columns]),
            helper.make_tensor_value_info("label", label_type, label_shape),
        ]

    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", elem, ["batch", hp.layer_dims[0]])],
        outputs,
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    onnx_model = helper.make_model(
        graph, opset_imports=opsets, producer_name="ldnn", producer_version=__version__
    )
    # The oldest IR version that can hold this opset, so older runtimes load the file too.
    onnx_model.ir_version = helper.find_min_ir_version_for(opsets)
    props = {
        "layer_dims": json.dumps(list(hp.layer_dims)),
        "activations": json.dumps(list(hp.activations)),
    }
    if classes is not None:
        props["classes"] = json.dumps([str(c) for c in classes])
    helper.set_model_props(onnx_model, props)
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def _label_graph(helper, TensorProto, numpy_helper, task, output, A, n_out, classes, np_dtype):
    """Nodes for ``probabilities`` and ``label`` from A[L] of shape (batch, n[L])."""
    nodes, initializers = [], []
    if task == "binary":
        # One sigmoid unit p gives the two columns [1 - p, p], as predict_proba does.
        initializers.append(numpy_helper.from_array(np.array(1, dtype=np_dtype), "one"))
        nodes += [
            helper.make_node("Sub", ["one", A], ["p0"], name="one_minus_p"),
            helper.make_node("Concat", ["p0", A], ["probabilities"], name="proba", axis=1),
        ]
    else:
        nodes.append(helper.make_node("Identity", [A], ["probabilities"], name="proba"))

    if output == "softmax":
        # ArgMax keeps the first of equal maxima, as numpy.argmax does.
        nodes.append(helper.make_node("ArgMax", [A], ["index"], name="argmax", axis=1, keepdims=0))
        shape = ["batch"]
    else:
        # Sigmoid units: p > 0.5 per unit, the predict rule (for one unit the same as
        # argmax over [1 - p, p]).
        initializers.append(numpy_helper.from_array(np.array(0.5, dtype=np_dtype), "half"))
        nodes += [
            helper.make_node("Greater", [A, "half"], ["above"], name="threshold"),
            helper.make_node("Cast", ["above"], ["index"], name="to_int", to=TensorProto.INT64),
        ]
        shape = ["batch", n_out]
    if classes is None or task == "multilabel" or (output == "sigmoid" and n_out > 1):
        nodes.append(helper.make_node("Identity", ["index"], ["label"], name="label"))
        return TensorProto.INT64, shape, nodes, initializers
    # Map class indices to the labels: Gather from a constant tensor of classes.
    if shape != ["batch"]:
        initializers.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", ["index", "flat"], ["index_flat"], name="ravel"))
        index = "index_flat"
    else:
        index = "index"
    class_tensor = _class_tensor(numpy_helper, classes)
    initializers.append(class_tensor)
    nodes.append(helper.make_node("Gather", ["classes", index], ["label"], name="to_label", axis=0))
    return class_tensor.data_type, ["batch"], nodes, initializers


# -- files -------------------------------------------------------------
def save_onnx(model, path: str | os.PathLike, **options) -> None:
    """Write :func:`to_onnx` (``model``, ``**options``) to ``path``, atomically."""
    data = to_onnx(model, **options).SerializeToString()
    atomic_write(path, lambda file: file.write(data))


def export_file(
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    dtype: str = "float32",
    opset: int = DEFAULT_OPSET,
) -> None:
    """Read an ldnn model file (:meth:`DeepNetwork.save`) and write it as ONNX.

    Parameters
    ----------
    model_path : path of the ``.npz`` model file
    out_path : path of the ``.onnx`` file to write
    dtype, opset : see :func:`to_onnx`
    """
    save_onnx(DeepNetwork.load(model_path), out_path, dtype=dtype, opset=opset)
