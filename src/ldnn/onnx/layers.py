"""The notes' layers as ONNX nodes, and the outputs read from A[L].

Each layer l becomes two nodes:

    Z[l] = Gemm(A[l-1], W[l], b[l], transB=1)      A[l] = g[l](Z[l])

ONNX puts one example per ROW, the notes one per column. Transposing the notes'
Z[l] = W[l] A[l-1] + b[l] gives Z[l]^T = A[l-1]^T W[l]^T + b[l]^T, which is exactly Gemm
with B = W[l] and transB = 1, so W[l] is stored as is, in the notes' shape
(n[l], n[l-1]); b[l] is flattened to (n[l],) because Gemm broadcasts C over the rows. For
the same reason softmax runs over axis 1.

A model of a table with text columns takes A[0] as its numbers and, per text column, an
index per example (:class:`ldnn.onnx.preparation.TableInputs`): layer 1 is then a Gemm
over the numeric features plus, per text column, a Gather of W[1]'s columns, as
:mod:`ldnn.core.categorical` computes it (W[1] . e_r = W[1][:, r]); the layers above are
as before.
"""

from __future__ import annotations

import numpy as np

from ..core import categorical
from ..core.activations import get_activation
from ..core.batchnorm import folded
from ..errors import OnnxExportError
from .graph import Graph
from .preparation import TableInputs

EXPORT_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "softmax", "linear")


def layer_nodes(g: Graph, parameters: dict, activations, X: str | TableInputs) -> str:
    """Z[l] and A[l] for l = 1..L from the tensor ``X`` (batch, n[0]) or a table's
    :class:`~ldnn.onnx.preparation.TableInputs`; returns A[L].

    A batch-normalised layer is folded into its Gemm, exactly what it computes at
    inference: Z~ = gamma (W A - mean) / sqrt(var + eps) + beta = W' A + b' with
    W' = (gamma / sqrt(var + eps)) * W (row l scaled) and b' = beta - gamma mean /
    sqrt(var + eps).
    """
    if "E1" in parameters and not isinstance(X, TableInputs):
        raise OnnxExportError(
            "the model has a learned embedding E1 but its data description has no text "
            "columns to gather it by"
        )
    A = X
    for l in range(1, len(activations) + 1):
        W, b = folded({k: np.asarray(v, dtype=np.float64) for k, v in parameters.items()}, l)
        if isinstance(A, TableInputs):
            first_layer_of_table(g, W, b, A, parameters.get("E1"))
        else:
            g.constant(f"W{l}", W)
            g.constant(f"b{l}", b.reshape(-1))
            g.node("Gemm", [A, f"W{l}", f"b{l}"], [f"Z{l}"], name=f"layer{l}", transB=1)
        activation_node(g, activations[l - 1], l, f"Z{l}", f"A{l}")
        A = f"A{l}"
    return A


def first_layer_of_table(g: Graph, W, b, inputs: TableInputs, E=None) -> None:
    """Z1 = W[1] . A[0] + b[1] for A[0] with categories (W, b: layer 1's, batch norm
    folded): Gemm(numbers, W[1][:, N], b[1]) plus, per text column, Gather(T, index), T's
    row k holding W[1]'s column of the row of X index k stands for (zeros for none).

    With a learned embedding E1 (:mod:`ldnn.core.categorical`), an embedded column's T
    holds E1's column of that category instead (k wide), and MatMul(Gather(T, index),
    V^T) adds V . E1[:, r], V being W[1]'s k columns for it: the factored block, never
    multiplied out."""
    terms, where = [], None
    if E is not None:
        where = categorical.layout(
            inputs.n0, tuple(inputs.numeric_rows), tuple(inputs.blocks), E.shape[0]
        )
    column_of = (lambda row: row) if where is None else (lambda row: int(where.column[row]))
    g.constant("b1", b.reshape(-1))
    if inputs.numbers is not None:
        g.constant("W1", W[:, [column_of(row) for row in inputs.numeric_rows]])
        g.node("Gemm", [inputs.numbers, "W1", "b1"], ["Z1:numbers"], name="layer1", transB=1)
        terms.append("Z1:numbers")
    else:
        terms.append("b1")
    for c, (index, rows) in enumerate(inputs.texts):
        column = index.removesuffix(":index")
        embedded = where is not None and c in where.embedded
        if embedded:  # T's row k: E1's column of the category, V^T after the gather
            offset, _, v, e = where.embedded[c]
            source, columns = E, lambda row, shift=e - offset: row + shift  # noqa: E731
        else:
            source, columns = W, column_of
        table = np.zeros((len(rows), source.shape[0]))
        for k, row in enumerate(rows):
            if row is not None:
                table[k] = source[:, columns(row)]
        T = f"{column}:T1" if embedded else f"{column}:W1"
        g.constant(T, table)
        gathered = f"{column}:E1" if embedded else f"{column}:Z1"
        g.node("Gather", [T, index], [gathered], name=f"{column}:layer1", axis=0)
        if embedded:
            g.constant(f"{column}:V1", W[:, v : v + E.shape[0]].T)
            g.node("MatMul", [gathered, f"{column}:V1"], [f"{column}:Z1"], name=f"{column}:V")
        terms.append(f"{column}:Z1")
    g.node("Sum", terms, ["Z1"], name="layer1_sum")


def activation_node(g: Graph, name: str, layer: int, Z: str, A: str) -> None:
    """The ONNX node computing A[l] = g[l](Z[l])."""
    activation = get_activation(name, layer=layer)
    base, _, parameter = activation.name.partition(":")
    simple = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Identity"}
    if base in simple:
        g.node(simple[base], [Z], [A], name=f"g{layer}")
    elif base == "leaky_relu":
        # The activation's name carries its slope ("leaky_relu:0.2"); bare means 0.01.
        alpha = float(parameter) if parameter else 0.01
        g.node("LeakyRelu", [Z], [A], name=f"g{layer}", alpha=alpha)
    elif base == "softmax":
        # Examples are rows in ONNX, so the classes of one example lie along axis 1.
        g.node("Softmax", [Z], [A], name=f"g{layer}", axis=1)
    else:
        raise OnnxExportError(
            f"activation {activation.name!r} of layer {layer} has no ONNX operator; ONNX "
            f"export supports {', '.join(EXPORT_ACTIVATIONS)}. Retrain with one of those, or "
            "build the graph yourself from network.parameters."
        )


def class_outputs(g: Graph, task: str, output: str, A: str, n_out: int, classes) -> list:
    """``probabilities`` and ``label`` from A[L] (batch, n[L]); returns their value infos.

    task "binary": one sigmoid unit p gives the columns [1 - p, p]; "multiclass": the
    softmax's columns; "multilabel" and "network" (a bare DeepNetwork): A[L] as it is.
    """
    helper, TensorProto = g.helper, g.TensorProto
    if task == "binary":
        g.constant("one", 1)
        g.node("Sub", ["one", A], ["p0"], name="one_minus_p")
        g.node("Concat", ["p0", A], ["probabilities"], name="proba", axis=1)
    else:
        g.node("Identity", [A], ["probabilities"], name="proba")
    if output == "softmax":
        # ArgMax keeps the first of equal maxima, as numpy.argmax does.
        g.node("ArgMax", [A], ["index"], name="argmax", axis=1, keepdims=0)
        shape = ["batch"]
    else:
        # Sigmoid units: p > 0.5 per unit, the predict rule (for one unit the same as
        # argmax over [1 - p, p]).
        g.constant("half", 0.5)
        g.node("Greater", [A, "half"], ["above"], name="threshold")
        g.node("Cast", ["above"], ["index"], name="to_int", to=TensorProto.INT64)
        shape = ["batch", n_out]
    n_columns = 2 if task == "binary" else n_out
    probabilities = helper.make_tensor_value_info("probabilities", g.elem, ["batch", n_columns])
    if classes is None or task == "multilabel" or (output == "sigmoid" and n_out > 1):
        g.node("Identity", ["index"], ["label"], name="label")
        label = helper.make_tensor_value_info("label", TensorProto.INT64, shape)
        return [probabilities, label]
    index = "index"
    if shape != ["batch"]:
        g.constant("flat", [-1], dtype=np.int64)
        g.node("Reshape", ["index", "flat"], ["index_flat"], name="ravel")
        index = "index_flat"
    # Class indices to the labels: Gather from a constant tensor of the classes.
    tensor = g.array("classes", class_values(classes))
    g.node("Gather", ["classes", index], ["label"], name="to_label", axis=0)
    return [probabilities, helper.make_tensor_value_info("label", tensor.data_type, ["batch"])]


def class_values(classes) -> np.ndarray:
    """The classes as an ONNX-able array: int64, double, or strings."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        return classes.astype(np.float64)
    return np.array([str(c) for c in classes], dtype=object)
