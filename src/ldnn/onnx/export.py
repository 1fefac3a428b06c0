"""``to_onnx``: a trained model as one ONNX graph, inputs to outputs; and the files."""

from __future__ import annotations

import json
import os

from .._version import __version__
from ..errors import ConfigurationError, NotFittedError, OnnxExportError
from ..io import atomic_write, check_output
from ..model.network import DeepNetwork
from ..runs.folders import run_folder_of
from .graph import ML_DOMAIN, ML_OPSET, Graph, import_onnx
from .layers import class_outputs, layer_nodes
from .preparation import check_names, feature_inputs, target_units

#: The opset written by default; 13 is the oldest with Softmax over one axis.
DEFAULT_OPSET = 17
MIN_OPSET = 13


def _unwrap(model) -> tuple[DeepNetwork, str, list | None, dict]:
    """(network, task, class labels, what it remembers of its data) for a DeepNetwork or
    a fitted ldnn.sklearn estimator.

    task is "binary", "multiclass", "multilabel" (sklearn classifiers), "network" (a bare
    DeepNetwork) or "regression".
    """
    if isinstance(model, DeepNetwork):
        info = model.metadata.get("data") or {}
        output, n_out = model.hyperparameters.activations[-1], model.layer_dims[-1]
        if info.get("task") == "classification" and (output, n_out > 1) in (
            ("sigmoid", False),
            ("softmax", True),
        ):  # a model of the CLI: class names and (batch, classes) like the estimators'
            return model, "binary" if n_out == 1 else "multiclass", info.get("classes"), info
        if info.get("task") == "regression":
            return model, "regression", None, info
        classes = model.metadata.get("classes")
        return model, "network", classes, info
    network = getattr(model, "network_", None)
    if isinstance(network, DeepNetwork):
        # The estimator's task shows in its output layer (see ldnn.model.build).
        output, n_out = network.hyperparameters.activations[-1], network.layer_dims[-1]
        if not hasattr(model, "classes_"):  # its target's mean and std, if it standardised it
            return network, "regression", None, network.metadata.get("data") or {}
        if output == "sigmoid" and n_out > 1:
            return network, "multilabel", None, {}
        return network, "binary" if n_out == 1 else "multiclass", model.classes_, {}
    if hasattr(model, "steps") and hasattr(model, "named_steps"):
        raise ConfigurationError(
            "to_onnx() exports an ldnn model, not a scikit-learn Pipeline: export its last "
            "step, to_onnx(pipeline[-1]), and serve it what the steps before make of the data "
            "(or train with `ldnn train` on the table: its export holds the preparation)"
        )
    if type(model).__module__.startswith("ldnn.sklearn"):
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit() before to_onnx()"
        )
    raise ConfigurationError(
        "to_onnx() takes a DeepNetwork or a fitted ldnn.sklearn estimator, got "
        f"{type(model).__name__}"
    )


def to_onnx(model, *, dtype: str = "float32", opset: int = DEFAULT_OPSET, name: str = "ldnn"):
    """Build the ONNX model of a trained network, with the preparation it remembers.

    Parameters
    ----------
    model : DeepNetwork or fitted DNNClassifier / DNNRegressor
    dtype : {"float32", "float64"}, default "float32"
        Element type of the float inputs, the weights and the outputs.
    opset : int, default 17
        ONNX operator set, at least 13.
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        Inputs, with batch dynamic: ``X`` of shape (batch, n[0]), or for a model trained
        on a table one input per column, (batch, 1), named as the column (see
        :mod:`ldnn.onnx.preparation`). Outputs:

        - classifier: ``probabilities`` (batch, n_classes) and ``label``. For an sklearn
          classifier these match ``predict_proba`` and ``predict`` (labels as int64,
          double or string tensors); for a model trained by ``ldnn train`` they match
          ``ldnn predict``'s (the class names). For a bare softmax DeepNetwork ``label``
          is the class index (batch,), for a sigmoid one the 0/1 matrix (batch, n[L]), as
          in ``DeepNetwork.predict`` transposed; a DeepNetwork whose
          ``metadata["classes"]`` lists the class names gets those instead of indices.
        - otherwise: ``Y`` of shape (batch, n[L]), in the target's units.

    Raises
    ------
    OnnxExportError
        For an activation with no ONNX operator (user-registered ones), a preparation
        that cannot be exported, or a bad opset.
    NotFittedError
        For a model without parameters.
    """
    onnx = import_onnx()
    if dtype not in ("float32", "float64"):
        raise OnnxExportError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < MIN_OPSET:
        raise OnnxExportError(f"opset must be an integer >= {MIN_OPSET}, got {opset!r}")
    network, task, classes, info = _unwrap(model)
    parameters = network.fitted_parameters()
    hp = network.hyperparameters
    g = Graph(dtype)
    X = feature_inputs(g, info, hp.layer_dims[0])
    A = layer_nodes(g, parameters, hp.activations, X)
    if hp.activations[-1] in ("sigmoid", "softmax") and task != "regression":
        outputs = class_outputs(g, task, hp.activations[-1], A, hp.layer_dims[-1], classes)
    else:
        g.node("Identity", [target_units(g, info, A)], ["Y"], name="output")
        outputs = [g.helper.make_tensor_value_info("Y", g.elem, ["batch", hp.layer_dims[-1]])]
    check_names(g)
    graph = g.helper.make_graph(g.nodes, name, g.inputs, outputs, initializer=g.initializers)
    opsets = [g.helper.make_opsetid("", opset)]
    if g.uses_ml:
        opsets.append(g.helper.make_opsetid(ML_DOMAIN, ML_OPSET))
    onnx_model = g.helper.make_model(
        graph, opset_imports=opsets, producer_name="ldnn", producer_version=__version__
    )
    # The oldest IR version that can hold these opsets, so older runtimes load it too.
    onnx_model.ir_version = g.helper.find_min_ir_version_for(opsets)
    props = {
        "layer_dims": json.dumps(list(hp.layer_dims)),
        "activations": json.dumps(list(hp.activations)),
    }
    if classes is not None:
        props["classes"] = json.dumps([str(c) for c in classes])
    g.helper.set_model_props(onnx_model, props)
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


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
    overwrite: bool = True,
) -> None:
    """Read an ldnn model file (:meth:`DeepNetwork.save`) and write it as ONNX.

    Parameters
    ----------
    model_path : path of the ``.npz`` model file
    out_path : path of the ``.onnx`` file to write; never the model file or a file of the
        run folder it is in (:func:`ldnn.io.check_output`)
    dtype, opset : see :func:`to_onnx`
    overwrite : bool, default True
        Whether an existing ``out_path`` may be replaced (its permission bits are kept).

    Raises
    ------
    ConfigurationError
        If ``out_path`` is the model file, is inside its run folder, or exists and
        ``overwrite`` is False.
    """
    reading = {run_folder_of(model_path): "the model's run folder", model_path: "the model"}
    check_output(out_path, reading=reading, overwrite=overwrite, flag="out_path")
    save_onnx(DeepNetwork.load(model_path), out_path, dtype=dtype, opset=opset)
