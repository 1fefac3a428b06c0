"""What a model does to its data before its first layer, and after its last, as ONNX nodes.

A model trained on a table (:mod:`ldnn.data.encoding`) takes the table's raw columns: one
input per column it reads, named as the column, of shape (batch, 1):

- numbers: float (the graph's type), NaN where a value is missing. The missing value is
  filled as in training: ``Where(IsNaN(x), fill, x)``;
- text: string, "" (or another missing-value marker, such as "NA" or the run's
  ``--na-values``) where a value is missing, trimmed of spaces as ``ldnn predict`` reads
  it. ONNX-ML's ``LabelEncoder`` gives each string its index among the column's
  categories and markers (one past them for a category training did not see); layer 1
  gathers W[1]'s column of that category (:func:`ldnn.onnx.layers.first_layer_of_table`),
  as ``ldnn predict`` does (:mod:`ldnn.core.categorical`): a missing value the column of
  the category it becomes, an unseen category zeros, or "(other)"'s column where rare
  categories were pooled. The one-hot features are never built.

The numeric features, in the model's order, are concatenated to (batch, n_num) and
standardised, (x - mean) / std, with the training part's statistics. A model trained on
a table of numbers alone takes them as the (batch, n[0]) features of layer 1's Gemm; a
model trained on arrays takes that input ``X`` directly. A regression model's outputs go
back to the target's units, y = a * std + mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.encoding import OTHER, ColumnRule, TableEncoding
from ..data.tables import missing_markers
from ..errors import DataFileError, OnnxExportError
from .graph import ML_DOMAIN, Graph


@dataclass
class TableInputs:
    """Layer 1's input of a table with text columns, A[0] as a CompactX holds it.

    Attributes
    ----------
    numbers : str or None
        The tensor (batch, n_num) of the numeric features, filled and standardised.
    numeric_rows : list of int
        The row of X (column of W[1]) of each numeric feature.
    texts : list of (str, list)
        Per text column, the tensor (batch,) of each string's index, and the row of X
        each index stands for (None: no row, all zeros).
    blocks : list of (int, int)
        Per text column, its first row of X and its number of rows K.
    n0 : int
        X's rows, n[0].
    """

    numbers: str | None = None
    numeric_rows: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    n0: int = 0


def _encoding(info: dict) -> TableEncoding | None:
    if "columns" not in info:
        return None
    try:
        return TableEncoding.from_metadata(info["columns"])
    except DataFileError as error:
        raise OnnxExportError(f"the model's preparation cannot be exported: {error}") from None


def feature_inputs(g: Graph, info: dict, n0: int) -> str | TableInputs:
    """Add the graph's inputs; returns the tensor of prepared features (batch, n[0]), or
    for a table with text columns, its :class:`TableInputs`."""
    encoding = _encoding(info)
    markers = missing_markers(info.get("read", {}).get("na_values", []))
    if encoding is not None and any(rule.kind == "text" for rule in encoding.rules):
        return _table_inputs(g, encoding, markers, info)
    if encoding is not None:
        X = _concatenated(g, [_numbers(g, r) for r in encoding.rules if r.kind == "numbers"])
    else:
        X = g.input("X", g.elem, ["batch", n0])
    return _standardized(g, X, info.get("x_mean"), info.get("x_std"))


def _concatenated(g: Graph, parts: list[str]) -> str:
    g.node("Concat", parts, ["X"], name="features", axis=1)
    return "X"


def _standardized(g: Graph, X: str, mean, std) -> str:
    """(X - mean) / std, with the training part's statistics (none: X as it is)."""
    if mean is None:
        return X
    g.constant("x_mean", mean)
    g.constant("x_std", std)
    g.node("Sub", [X, "x_mean"], ["X_centered"], name="center")
    g.node("Div", ["X_centered", "x_std"], ["X_standardized"], name="scale")
    return "X_standardized"


def _table_inputs(g: Graph, encoding: TableEncoding, markers, info: dict) -> TableInputs:
    inputs, parts, start = TableInputs(), [], 0
    for rule in encoding.rules:
        if rule.kind == "numbers":
            parts.append(_numbers(g, rule))
            inputs.numeric_rows.append(start)
        elif rule.kind == "text":
            inputs.texts.append(_text(g, rule, markers, start))
            inputs.blocks.append((start, len(rule.features)))
        start += len(rule.features)
    inputs.n0 = start
    mean = std = None
    if "x_mean" in info:
        mean, std = np.asarray(info["x_mean"]), np.asarray(info["x_std"])
        one_hot = np.ones(len(mean), dtype=bool)
        one_hot[inputs.numeric_rows] = False
        if not ((mean[one_hot] == 0).all() and (std[one_hot] == 1).all()):
            raise OnnxExportError(
                "the model's preparation cannot be exported: it standardises one-hot features"
            )
        mean, std = mean[inputs.numeric_rows], std[inputs.numeric_rows]
    if parts:
        inputs.numbers = _standardized(g, _concatenated(g, parts), mean, std)
    return inputs


def _numbers(g: Graph, rule: ColumnRule) -> str:
    x = g.input(rule.name, g.elem, ["batch", 1])
    g.constant(f"{x}:fill", [rule.fill])
    g.node("IsNaN", [x], [f"{x}:missing"], name=f"{x}:is_missing")
    g.node("Where", [f"{x}:missing", f"{x}:fill", x], [f"{x}:filled"], name=f"{x}:impute")
    return f"{x}:filled"


def _text(g: Graph, rule: ColumnRule, markers: list[str], start: int) -> tuple[str, list]:
    """The tensor (batch,) of each string's index among the column's categories and
    markers (one past them: a category training did not see), and the row of X each index
    stands for: its category's, the category a missing value becomes, "(other)" or none."""
    x = g.input(rule.name, g.TensorProto.STRING, ["batch", 1])
    K = len(rule.categories)
    extra = [m for m in markers if m not in rule.categories]
    at = {c: start + k for k, c in enumerate(rule.categories)}
    filled = at.get(rule.fill_category)  # None: training saw none missing, zeros
    rows = [*at.values(), *([filled] * len(extra)), at[OTHER] if rule.pooled else None]
    g.constant(f"{x}:shape", [-1], dtype=np.int64)
    g.node("Reshape", [x, f"{x}:shape"], [f"{x}:flat"], name=f"{x}:flatten")
    g.node(
        "LabelEncoder",
        [f"{x}:flat"],
        [f"{x}:index"],
        name=f"{x}:to_index",
        domain=ML_DOMAIN,
        classes_strings=[*rule.categories, *extra],
        default_int64=K + len(extra),
    )
    return f"{x}:index", rows


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
