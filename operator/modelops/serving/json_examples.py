"""TF Serving's REST classify / regress format (util/json_tensor.cc): tf.Examples written as JSON
objects, an optional `context` example merged into each, and the results as JSON.

    {"signature_name": "classify_x_to_y", "context": {"x2": 1.0}, "examples": [{"x": 2.0}, ...]}
    -> {"results": [[["label", score], ...], ...]}     (classify: per example, per class)
    -> {"results": [value, ...]}                       (regress: per example)
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
from tensorflow.core.example import example_pb2, feature_pb2

from modelops.serving.errors import invalid
from modelops.serving.json_values import debug_string, decimal, json_type
from modelops.serving.tasks import Classifications

_KIND_NAME = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64", None: "UNKNOWN"}


def serialized_examples_from_json(payload: Mapping[str, Any]) -> np.ndarray:
    """json_tensor.cc FillClassifyRegressRequestFromJson, as the 1-D string tensor the signature
    reads (the context's serialised features first, so each example's own value wins the merge)."""
    context = b""
    if "context" in payload:
        context = _example(payload["context"]).SerializeToString()
    if "examples" not in payload:
        raise invalid(f"JSON Value: {debug_string(payload)} When method is classify, key 'examples' is "
                      "expected and was not found")
    examples = payload["examples"]
    if not isinstance(examples, list):
        raise invalid(f"JSON Value: {debug_string(payload)} Expecting 'examples' value to be an list/array")
    if not examples:
        raise invalid(f"JSON Value: {debug_string(payload)} 'examples' value is an empty array")
    return np.array([context + _example(item).SerializeToString() for item in examples], dtype=object)


def classification_json(results: Classifications) -> dict[str, Any]:
    """MakeJsonFromClassificationResult: a missing label is "" and a missing score 0, the proto
    defaults TF Serving prints."""
    if not results:
        raise invalid("Cannot convert empty ClassificationResults to JSON")
    return {"results": [[[label or "", decimal(score or 0.0)] for label, score in row] for row in results]}


def regression_json(values: list[float]) -> dict[str, Any]:
    """MakeJsonFromRegressionResult."""
    if not values:
        raise invalid("Cannot convert empty RegressionResults to JSON")
    return {"results": [decimal(value) for value in values]}


def _example(value: Any) -> example_pb2.Example:
    """MakeExampleFromJsonObject: each key a feature, each value one element or a list of them."""
    if not isinstance(value, dict):
        raise invalid(f"Example must be JSON object but got JSON {json_type(value)}")
    example = example_pb2.Example()
    for name, content in value.items():
        feature = feature_pb2.Feature()
        for item in content if isinstance(content, list) else [content]:
            _add_value(item, name, feature)
        example.features.feature[name].CopyFrom(feature)
    return example


def _add_value(value: Any, name: str, feature: feature_pb2.Feature) -> None:
    """AddValueToFeature: booleans and integers are int64, decimals float, strings and
    {"b64": ...} bytes; every element of one feature must be of the same kind."""
    if value is None or isinstance(value, list) or (isinstance(value, dict) and not _is_b64(value)):
        raise invalid(f"Feature: {name} has element with unexpected JSON type: {json_type(value)}")
    if isinstance(value, bool):
        _kind(feature, "int64_list", name).value.append(int(value))
    elif isinstance(value, dict):
        try:
            decoded = base64.b64decode(value["b64"], validate=True)
        except ValueError:
            raise invalid("Unable to base64 decode") from None
        _kind(feature, "bytes_list", name).value.append(decoded)
    elif isinstance(value, str):
        _kind(feature, "bytes_list", name).value.append(value.encode())
    elif isinstance(value, float):
        _kind(feature, "float_list", name).value.append(value)
    else:
        if value > 2**63 - 1:
            _kind(feature, "int64_list", name)
            raise invalid(f"Feature: {name} has uint64_t element. Only int64_t is supported.")
        _kind(feature, "int64_list", name).value.append(value)


def _kind(feature: feature_pb2.Feature, kind: str, name: str) -> Any:
    current = feature.WhichOneof("kind")
    if current is not None and current != kind:
        raise invalid(f"Unexpected element type in feature: {name} expecting type: {_KIND_NAME[current]}")
    return getattr(feature, kind)


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)
