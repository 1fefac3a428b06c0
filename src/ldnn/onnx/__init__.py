"""Export a trained model to ONNX, to serve it with onnxruntime or any ONNX runtime.

One graph from the data a user has to what ``ldnn predict`` says:

- the preparation the model remembers (:mod:`.preparation`): a table's raw columns as
  inputs, missing values filled, numbers standardised, text as each string's index;
- the notes' layers (:mod:`.layers`): one Gemm and one activation op per layer (a
  table's text columns: layer 1 gathers W[1]'s columns of their categories);
- the outputs: ``probabilities`` and ``label`` for classifiers, ``Y`` (in the target's
  units) otherwise.

:func:`to_onnx` builds it (:mod:`.export`); :func:`save_onnx` and :func:`export_file`
write it. The package imports ``onnx`` only when it exports, so ``ldnn`` works without
the extra; ``import onnx`` inside it is an absolute import and gets the real package.
"""

from ..errors import OnnxExportError
from .export import DEFAULT_OPSET, MIN_OPSET, export_file, save_onnx, to_onnx
from .layers import EXPORT_ACTIVATIONS

__all__ = [
    "DEFAULT_OPSET",
    "EXPORT_ACTIVATIONS",
    "MIN_OPSET",
    "OnnxExportError",
    "export_file",
    "save_onnx",
    "to_onnx",
]
