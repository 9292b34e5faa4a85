"""TF Serving's REST predict encoding: `instances` (row) / `inputs` (columnar) in, `predictions` /
`outputs` out, with the key and dtype checks that make a bad request a 400, never a crash. Shapes
are not checked against the signature's declaration (TF Serving does not either): the model decides.

Row format: each instance is the value of the single input, or an object of named inputs; the
answer lists one entry per instance (a plain value for a single output, an object otherwise).
Columnar: `inputs` is the single input's value or an object of named inputs; `outputs` mirrors it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelops.serving.errors import ServingError, invalid
from modelops.serving.servable import Signature, TensorSpec


def parse_json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid(f"JSON Parse error: {exc}") from exc
    if not isinstance(payload, dict):
        raise invalid("JSON Value: request body must be a JSON object")
    return payload


def decode_predict_request(payload: Mapping[str, Any], signature: Signature) -> tuple[dict[str, np.ndarray], bool]:
    """Named input arrays for the signature, and whether the request used the row format."""
    has_instances, has_inputs = "instances" in payload, "inputs" in payload
    if has_instances == has_inputs:
        raise invalid("Missing 'inputs' or 'instances' key" if not has_instances else
                      "Not allowed to specify both 'inputs' and 'instances'")
    if has_instances:
        columns = _rows_to_columns(payload["instances"], signature)
    else:
        columns = _columnar_inputs(payload["inputs"], signature)
    arrays = {name: _to_array(value, signature.inputs[name]) for name, value in columns.items()}
    return arrays, has_instances


def encode_predict_response(outputs: Mapping[str, np.ndarray], row_format: bool) -> dict[str, Any]:
    """`{"predictions": [...]}` for row requests, `{"outputs": ...}` for columnar ones."""
    if not row_format:
        if len(outputs) == 1:
            return {"outputs": _to_json(next(iter(outputs.values())))}
        return {"outputs": {name: _to_json(value) for name, value in outputs.items()}}
    batch_sizes = {np.shape(value)[0] if np.ndim(value) else None for value in outputs.values()}
    if len(batch_sizes) != 1 or None in batch_sizes:
        raise ServingError(
            "INVALID_ARGUMENT",
            "Tensors in a row-format response must share the same batch (0th) dimension; "
            "use the columnar 'inputs' format for this signature",
        )
    if len(outputs) == 1:
        return {"predictions": _to_json(next(iter(outputs.values())))}
    columns = {name: _to_json(value) for name, value in outputs.items()}
    (rows,) = batch_sizes
    return {"predictions": [{name: column[i] for name, column in columns.items()} for i in range(rows)]}


def _rows_to_columns(instances: Any, signature: Signature) -> dict[str, list[Any]]:
    if not isinstance(instances, list) or not instances:
        raise invalid("'instances' must be a non-empty JSON list")
    names = list(signature.inputs)
    if len(names) == 1:
        (name,) = names
        return {name: [_unwrap_single(instance, name) for instance in instances]}
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict) or _is_b64(instance):
            raise invalid(f"instances[{index}]: expected an object with keys {names} (multi-input signature)")
        if set(instance) != set(names):
            raise invalid(f"instances[{index}]: has keys {sorted(instance)}, signature expects {names}")
        for name in names:
            columns[name].append(instance[name])
    return columns


def _unwrap_single(instance: Any, name: str) -> Any:
    if isinstance(instance, dict) and not _is_b64(instance):
        if set(instance) != {name}:
            raise invalid(f"instance has keys {sorted(instance)}, signature expects input {name!r}")
        return instance[name]
    return instance


def _columnar_inputs(inputs: Any, signature: Signature) -> dict[str, Any]:
    names = list(signature.inputs)
    if isinstance(inputs, dict) and not _is_b64(inputs):
        if set(inputs) != set(names):
            raise invalid(f"'inputs' has keys {sorted(inputs)}, signature expects {names}")
        return dict(inputs)
    if len(names) != 1:
        raise invalid(f"'inputs' must be an object with keys {names} (multi-input signature)")
    return {names[0]: inputs}


def _to_array(value: Any, spec: TensorSpec) -> np.ndarray:
    try:
        array = np.array(_decode_strings(value), dtype=object) if spec.is_string else _numeric_array(value, spec)
    except ServingError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise invalid(f"input {spec.name!r}: cannot convert to {spec.dtype.name} tensor: {exc}") from exc
    # no check against the declared shape: TF Serving hands the tensor to the model, whose ops decide
    return array


def _numeric_array(value: Any, spec: TensorSpec) -> np.ndarray:
    """Convert without letting numpy parse strings ("1.5") or None into numbers, as TF Serving does."""
    raw = np.asarray(value)
    allowed = "b" if spec.dtype == np.bool_ else "biuf"
    if raw.dtype.kind not in allowed:
        raise invalid(
            f"input {spec.name!r}: expected {spec.dtype.name} values, got JSON values numpy reads as "
            f"{raw.dtype.name} (strings, nulls, objects or booleans are not numbers)"
        )
    return raw.astype(spec.dtype, copy=False)


def _decode_strings(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_strings(item) for item in value]
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError) as exc:
            raise invalid(f"invalid base64 in {{'b64': ...}} value: {exc}") from exc
    if isinstance(value, str):
        return value.encode()
    raise invalid(f"expected a string or {{'b64': ...}} value, got {type(value).__name__} {value!r}")


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _to_json(array: np.ndarray) -> Any:
    if array.dtype == np.object_ or array.dtype.kind == "S":
        return _bytes_to_json(array.tolist())
    return array.tolist()


def _bytes_to_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_bytes_to_json(item) for item in value]
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode()}
    return value
