"""What a trained model remembers of its data (``metadata["data"]``), completed with
defaults for a model saved from Python, and checked when it comes from a file."""

from __future__ import annotations

import math

from ..errors import InvalidValueError
from .encoding import TableEncoding
from .hash_split import SPLIT_METHODS
from .limits import LIMITS, Limits


def complete_info(info: dict, n_features: int, n_outputs: int, classifier: bool) -> dict:
    """What a model remembers of its data, with neutral defaults for a model saved from
    Python without any: its task, class names "0".."K-1" and feature names x0..x{n-1}."""
    info = dict(info)
    if "task" not in info:
        info["task"] = "classification" if classifier else "regression"
    if info["task"] == "classification" and not info.get("classes"):
        info["classes"] = [str(k) for k in range(2 if n_outputs == 1 else n_outputs)]
    if not info.get("feature_names"):
        info["feature_names"] = [f"x{i}" for i in range(n_features)]
    return info


def check_info(info, n_features: int, n_outputs: int) -> None:
    """Check a model's description of its data (from a file: a claim, not a fact).

    Raises
    ------
    InvalidValueError
        Naming the field that is of the wrong type, length or value.
    DataFileError, ConfigurationError
        For markers, column rules or limits beyond the limits (:mod:`ldnn.data.limits`).
    """

    def need(condition: bool, field: str, expected: str, actual) -> None:
        if not condition:
            raise InvalidValueError(f"data.{field} must be {expected}, got {actual!r}"[:300])

    def numbers(values, length: int) -> bool:
        return (
            isinstance(values, list)
            and len(values) == length
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            and all(math.isfinite(v) for v in values)
        )

    def names(values) -> bool:
        return isinstance(values, list) and all(isinstance(v, str) for v in values)

    need(isinstance(info, dict), "", "a table", type(info).__name__)
    task = info.get("task", "classification")
    need(task in ("classification", "regression"), "task", "classification or regression", task)
    for key in ("source", "name", "target", "sha256", "test_source"):
        need(info.get(key) is None or isinstance(info[key], str), key, "text", info.get(key))
    features = info.get("feature_names")
    if features:
        need(
            names(features) and len(features) == n_features,
            "feature_names",
            f"a list of {n_features} names",
            features,
        )
    classes = info.get("classes")
    if classes is not None:
        K = 2 if n_outputs == 1 else n_outputs
        need(names(classes) and len(classes) == K, "classes", f"a list of {K} names", classes)
    shape = info.get("image_shape")
    if shape is not None:
        need(
            isinstance(shape, list)
            and all(isinstance(n, int) and n > 0 for n in shape)
            and math.prod(shape) == n_features,
            "image_shape",
            f"positive sizes whose product is {n_features}",
            shape,
        )
    for key, length in (
        ("x_mean", n_features),
        ("x_std", n_features),
        ("y_mean", n_outputs),
        ("y_std", n_outputs),
    ):
        if key in info:
            need(numbers(info[key], length), key, f"a list of {length} finite numbers", info[key])
    for key in ("x_std", "y_std"):
        if key in info:
            need(all(v > 0 for v in info[key]), key, "positive", info[key])
    # How the file was read, before the rules: its markers are handed to pyarrow's CSV
    # reader, which crashes on 32,767 of them; the rules are checked within the limits
    # the model was trained with (one from before the limits: its W1 bounds its rules).
    limits = None
    if "read" in info:
        how = info["read"]
        need(
            isinstance(how, dict)
            and isinstance(how.get("delimiter", ""), str)
            and isinstance(how.get("encoding", ""), str)
            and names(how.get("na_values", []))
            and how.get("decimal", ".") in (".", ","),
            "read",
            "a table of delimiter, encoding, na_values and decimal",
            how,
        )
        limits = Limits.of(how, origin="data.read")
        limits.check_na_values(how.get("na_values", []), "data.read.na_values")
        if not any(key in how for key in LIMITS):
            limits = None
    if "columns" in info:
        encoding = TableEncoding.from_metadata(info["columns"], limits)
        need(
            len(encoding.feature_names) == n_features,
            "columns",
            f"rules making {n_features} features",
            len(encoding.feature_names),
        )
    if "split" in info:
        split = info["split"]
        need(
            isinstance(split, dict)
            and isinstance(split.get("test_split"), int | float)
            and isinstance(split.get("split_seed"), int)
            and isinstance(split.get("rows"), int)
            and split.get("method", "shuffle") in SPLIT_METHODS
            and isinstance(split.get("key", ""), str),
            "split",
            "a table of test_split, split_seed and rows (and method shuffle or hash, key a "
            "column's name)",
            split,
        )
