"""A small builder of ONNX graphs: the nodes, constants and inputs of one graph, with the
element type (float32 or float64) every float tensor of it has."""

from __future__ import annotations

import numpy as np

from ..errors import MissingPackageError

#: The ONNX-ML operator set of the preparation's LabelEncoder (its version 1 maps strings to
#: their indices).
ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 1


def import_onnx():
    """``onnx``, or a clear error naming the extra that brings it."""
    try:
        import onnx
    except ImportError:
        raise MissingPackageError(
            "ONNX export needs the onnx package: pip install 'ldnn[onnx]'"
        ) from None
    return onnx


class Graph:
    """Nodes, initializers (constants) and inputs of one ONNX graph, in order."""

    def __init__(self, dtype: str):
        onnx = import_onnx()
        self.helper, self.numpy_helper, self.TensorProto = (
            onnx.helper,
            onnx.numpy_helper,
            onnx.TensorProto,
        )
        self.dtype = np.dtype(dtype)
        self.elem = self.TensorProto.FLOAT if dtype == "float32" else self.TensorProto.DOUBLE
        self.nodes, self.initializers, self.inputs = [], [], []
        self.uses_ml = False

    def node(self, op: str, inputs, outputs, name: str, domain: str = "", **attributes) -> None:
        if domain:  # (the default domain is left unset, as onnx writes it)
            attributes["domain"] = domain
        self.nodes.append(
            self.helper.make_node(op, list(inputs), list(outputs), name=name, **attributes)
        )
        self.uses_ml |= domain == ML_DOMAIN

    def constant(self, name: str, value, dtype=None):
        """A constant tensor of the graph's float type (or ``dtype``); returns it."""
        return self.array(name, np.asarray(value, dtype=self.dtype if dtype is None else dtype))

    def array(self, name: str, array: np.ndarray):
        """A constant tensor holding ``array`` as it is (ints, strings); returns it."""
        tensor = self.numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return tensor

    def input(self, name: str, elem, shape) -> str:
        self.inputs.append(self.helper.make_tensor_value_info(name, elem, shape))
        return name

    def names(self) -> set[str]:
        """Every tensor name the graph defines besides its inputs."""
        made = {out for node in self.nodes for out in node.output}
        return made | {t.name for t in self.initializers}
