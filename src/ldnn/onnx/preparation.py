"""What a model does to its data before its first layer, and after its last, as ONNX nodes.

A model trained on a table (:mod:`ldnn.data.encoding`) takes the table's raw columns: one
input per column it reads, named as the column, of shape (batch, 1):

- numbers: float (the graph's type), NaN where a value is missing. The missing value is
  filled as in training: ``Where(IsNaN(x), fill, x)``;
- text: string, "" (or another missing-value marker, such as "NA" or the run's
  ``--na-values``) where a value is missing, trimmed of spaces as ``ldnn predict`` reads
  it. ONNX-ML's ``OneHotEncoder`` gives one 0/1 column per category seen in training and
  per marker (a category it has not seen gives zeros, as in ldnn); a MatMul then adds the
  markers' columns to the category a missing value becomes.

The features, in the model's order, are concatenated to (batch, n[0]) and standardised,
(x - mean) / std, with the training part's statistics; a model trained on arrays takes
that (batch, n[0]) input ``X`` directly. A regression model's outputs go back to the
target's units, y = a * std + mean.
"""

from __future__ import annotations

import numpy as np

from ..data.encoding import ColumnRule, TableEncoding
from ..data.tables import missing_markers
from ..errors import DataFileError, OnnxExportError
from .graph import ML_DOMAIN, Graph


def feature_inputs(g: Graph, info: dict, n0: int) -> str:
    """Add the graph's inputs; returns the tensor of prepared features (batch, n[0])."""
    if "columns" in info:
        try:
            encoding = TableEncoding.from_metadata(info["columns"])
        except DataFileError as error:
            raise OnnxExportError(f"the model's preparation cannot be exported: {error}") from None
        markers = missing_markers(info.get("read", {}).get("na_values", []))
        X = _columns(g, encoding, markers)
    else:
        X = g.input("X", g.elem, ["batch", n0])
    if "x_mean" in info:
        g.constant("x_mean", info["x_mean"])
        g.constant("x_std", info["x_std"])
        g.node("Sub", [X, "x_mean"], ["X_centered"], name="center")
        g.node("Div", ["X_centered", "x_std"], ["X_standardized"], name="scale")
        X = "X_standardized"
    return X


def _columns(g: Graph, encoding: TableEncoding, markers: list[str]) -> str:
    parts = []
    for rule in encoding.rules:
        if rule.kind == "numbers":
            parts.append(_numbers(g, rule))
        elif rule.kind == "text":
            parts.append(_text(g, rule, markers))
    g.node("Concat", parts, ["X"], name="features", axis=1)
    return "X"


def _numbers(g: Graph, rule: ColumnRule) -> str:
    x = g.input(rule.name, g.elem, ["batch", 1])
    g.constant(f"{x}:fill", [rule.fill])
    g.node("IsNaN", [x], [f"{x}:missing"], name=f"{x}:is_missing")
    g.node("Where", [f"{x}:missing", f"{x}:fill", x], [f"{x}:filled"], name=f"{x}:impute")
    return f"{x}:filled"


def _text(g: Graph, rule: ColumnRule, markers: list[str]) -> str:
    x = g.input(rule.name, g.TensorProto.STRING, ["batch", 1])
    K = len(rule.categories)
    extra = [m for m in markers if m not in rule.categories]
    strings = [*rule.categories, *extra]
    # The markers' columns add to the column of the category a missing value becomes.
    M = np.zeros((len(strings), K))
    M[np.arange(K), np.arange(K)] = 1.0
    if rule.fill_category is not None:
        M[K:, rule.categories.index(rule.fill_category)] = 1.0
    g.node(
        "OneHotEncoder",
        [x],
        [f"{x}:hot"],
        name=f"{x}:one_hot",
        domain=ML_DOMAIN,
        cats_strings=strings,
        zeros=1,
    )
    g.constant(f"{x}:shape", [-1, len(strings)], dtype=np.int64)
    g.node("Reshape", [f"{x}:hot", f"{x}:shape"], [f"{x}:rows"], name=f"{x}:flatten")
    rows = f"{x}:rows"
    if g.dtype != np.float32:  # OneHotEncoder writes float32
        g.node("Cast", [rows], [f"{x}:cast"], name=f"{x}:cast", to=g.elem)
        rows = f"{x}:cast"
    g.constant(f"{x}:categories", M)
    g.node("MatMul", [rows, f"{x}:categories"], [f"{x}:features"], name=f"{x}:to_categories")
    return f"{x}:features"


def target_units(g: Graph, info: dict, A: str) -> str:
    """A regression's outputs in the target's units: A * y_std + y_mean."""
    if "y_mean" not in info:
        return A
    g.constant("y_std", info["y_std"])
    g.constant("y_mean", info["y_mean"])
    g.node("Mul", [A, "y_std"], ["Y_scaled"], name="unscale")
    g.node("Add", ["Y_scaled", "y_mean"], ["Y_units"], name="uncenter")
    return "Y_units"


def check_names(g: Graph) -> None:
    """A column must not take the name of a tensor of the graph's own."""
    taken = g.names() | {"probabilities", "label", "Y"}
    for value in g.inputs:
        if value.name in taken:
            raise OnnxExportError(
                f"column {value.name!r} has the name of a tensor of the exported graph; "
                "rename the column (and retrain) to export this model"
            )
