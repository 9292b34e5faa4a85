"""TF Serving's REST predict encoding (util/json_tensor.cc): `instances` (row) / `inputs`
(columnar) in, `predictions` / `outputs` out, with its checks and its error texts, so a bad request
is the same 400 with the same words as from tensorflow_model_server. Shapes are not checked against
the signature's declaration (TF Serving does not either): the model decides.

Fast path: numpy converts a well-formed body in one call; only a body numpy rejects (or one with a
JSON boolean, which numpy would silently read as a number) is walked value by value, as
FillTensorProto walks it, to accept it or name the first offending value.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelops.serving.errors import ServingError, invalid
from modelops.serving.json_values import debug_string, json_type, to_json_value
from modelops.serving.servable import Signature, TensorSpec, dtype_name

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# AddValueToTensor: which JSON numbers each dtype takes (rapidjson IsInt / IsInt64 / IsUint / IsUint64)
_INTEGER_RANGE = {
    np.dtype(np.int32): _INT32, np.dtype(np.int16): _INT32, np.dtype(np.int8): _INT32,
    np.dtype(np.uint8): _INT32, np.dtype(np.int64): _INT64,
    np.dtype(np.uint32): (0, 2**32 - 1), np.dtype(np.uint64): (0, 2**64 - 1),
}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def parse_json_body(body: bytes) -> dict[str, Any]:
    """json_tensor.cc ParseJson: the document must be a JSON object."""
    if not body or body.isspace():
        raise invalid("JSON Parse error: The document is empty")
    try:
        payload = json.loads(body)
    except UnicodeDecodeError as exc:
        raise invalid(f"JSON Parse error: Invalid encoding in string. at offset: {exc.start}") from exc
    except json.JSONDecodeError as exc:
        reason = "Invalid value." if exc.msg == "Expecting value" else f"{exc.msg}."
        raise invalid(f"JSON Parse error: {reason} at offset: {exc.pos}") from exc
    if not isinstance(payload, dict):
        raise invalid(f"JSON Value: {debug_string(payload)} Is not object")
    return payload


def signature_name_of(payload: Mapping[str, Any]) -> str:
    """json_tensor.cc FillSignature: optional, and a string when given."""
    name = payload.get("signature_name", "")
    if not isinstance(name, str):
        raise invalid(f"JSON Value: {debug_string(payload)} not formatted correctly. "
                      "'signature_name' key must be a string value.")
    return name


def decode_predict_request(payload: Mapping[str, Any], signature: Signature,
                           has_booleans: bool = True) -> tuple[dict[str, np.ndarray], bool]:
    """Named input arrays for the signature, and whether the request used the row format.
    `has_booleans=False` (the body has no `true`/`false` token) lets numpy convert numbers at once."""
    if not signature.inputs:
        raise invalid(f"Failed to get input map for signature: {payload.get('signature_name') or 'DEFAULT'}")
    has_instances, has_inputs = "instances" in payload, "inputs" in payload
    if has_instances and has_inputs:
        raise invalid(f"JSON Value: {debug_string(payload)} Not formatted correctly expecting only one of "
                      "'inputs' or 'instances' keys to exist ")
    if has_instances:
        instances = payload["instances"]
        if not isinstance(instances, list):
            raise invalid(f"JSON Value: {debug_string(payload)} Expecting 'instances' to be an list/array")
        if not instances:
            raise invalid(f"JSON Value: {debug_string(payload)} No values in 'instances' array")
        return _from_instances(instances, signature, has_booleans), True
    if has_inputs:
        return _from_inputs(payload["inputs"], signature, has_booleans), False
    raise invalid("Missing 'inputs' or 'instances' key")


def encode_predict_response(outputs: Mapping[str, np.ndarray], row_format: bool) -> dict[str, Any]:
    """`{"predictions": [...]}` for row requests, `{"outputs": ...}` for columnar ones
    (json_tensor.cc MakeRowFormatJsonFromTensors / MakeColumnarFormatJsonFromTensors)."""
    if not outputs:
        raise invalid("Cannot convert empty tensor map to JSON")
    columns = {name: to_json_value(array, name.endswith("_bytes")) for name, array in outputs.items()}
    if not row_format:
        return {"outputs": next(iter(columns.values())) if len(columns) == 1 else columns}
    batch = -1
    for name in sorted(outputs):
        shape = np.shape(outputs[name])
        if not shape:
            raise invalid(f"Tensor name: {name} has no shape information ")
        if batch >= 0 and shape[0] != batch:
            raise invalid(f"Tensor name: {name} has inconsistent batch size: {shape[0]} expecting: {batch}")
        batch = shape[0]
    if len(columns) == 1:
        return {"predictions": next(iter(columns.values()))}
    return {"predictions": [{name: column[i] for name, column in columns.items()} for i in range(batch)]}


def _from_instances(instances: list[Any], signature: Signature, has_booleans: bool) -> dict[str, np.ndarray]:
    """json_tensor.cc FillTensorMapFromInstancesList: a plain list for one input, else a list of
    objects with exactly the signature's keys; every instance of an input has the same shape."""
    names = sorted(signature.inputs)
    if not isinstance(instances[0], dict) and len(names) > 1:
        raise invalid("instances is a plain list, but expecting list of objects as multiple input tensors "
                      "required as per tensorinfo_map")
    if not _is_named_object(instances[0]):
        for index, item in enumerate(instances):
            if _is_named_object(item):
                raise invalid(f"Expecting value/list but got object at item {index} of input list")
        try:
            return {names[0]: _batch(instances, signature.inputs[names[0]], has_booleans)}
        except _ElementError as exc:
            raise invalid(f"Failed to process element: {exc.index} of 'instances' list. "
                          f"Error: INVALID_ARGUMENT: {exc.message}") from None
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for index, item in enumerate(instances):
        if not _is_named_object(item):
            raise invalid(f"Expecting object but got list at item {index} of input list")
        for key, value in item.items():
            if key not in columns:
                raise invalid(f"Failed to process element: {index} key: {key} of 'instances' list. "
                              f"Error: INVALID_ARGUMENT: JSON object: does not have named input: {key}")
            columns[key].append(value)
        if set(item) != set(names):
            raise invalid(f"Failed to process element: {index} of 'instances' list. JSON object: "
                          f"{debug_string(item)} keys must be equal to: {','.join(names)}")
    arrays = {}
    for name in names:
        try:
            arrays[name] = _batch(columns[name], signature.inputs[name], has_booleans)
        except _ElementError as exc:
            raise invalid(f"Failed to process element: {exc.index} key: {name} of 'instances' list. "
                          f"Error: INVALID_ARGUMENT: {exc.message}") from None
    return arrays


def _from_inputs(inputs: Any, signature: Signature, has_booleans: bool) -> dict[str, np.ndarray]:
    """json_tensor.cc FillTensorMapFromInputsMap: one input's value, or an object naming every
    input (keys the signature does not have are ignored, as TF Serving does)."""
    names = sorted(signature.inputs)
    if not _is_named_object(inputs):
        if len(names) > 1:
            raise invalid("inputs is a plain value/list, but expecting an object as multiple input tensors "
                          "required as per tensorinfo_map")
        return {names[0]: _tensor(inputs, signature.inputs[names[0]], has_booleans)}
    arrays = {}
    for name in names:
        if name not in inputs:
            raise invalid(f"Missing named input: {name} in 'inputs' object.")
        arrays[name] = _tensor(inputs[name], signature.inputs[name], has_booleans)
    return arrays


class _ElementError(Exception):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index, self.message = index, message


def _batch(items: list[Any], spec: TensorSpec, has_booleans: bool) -> np.ndarray:
    """Stack instances into one tensor; each must match the first one's shape and size."""
    if not spec.is_string and not has_booleans:
        fast = _numeric_fast(items, spec)
        if fast is not None:
            return fast
    first_shape: list[int] | None = None
    tensors = []
    for index, item in enumerate(items):
        try:
            tensor = _tensor(item, spec, has_booleans=True)
        except ServingError as exc:
            raise _ElementError(index, exc.message) from None
        if first_shape is None:
            first_shape = list(tensor.shape)
        elif tensor.size != int(np.prod(first_shape, dtype=np.int64)):
            raise _ElementError(index, f"Expecting tensor size: {int(np.prod(first_shape))} but got: {tensor.size}")
        elif list(tensor.shape) != first_shape:
            raise _ElementError(index, f"Expecting shape {_shape(first_shape)} but got: {_shape(tensor.shape)}")
        tensors.append(tensor)
    return np.stack(tensors) if tensors else np.zeros((0,), dtype=spec.dtype)


def _tensor(value: Any, spec: TensorSpec, has_booleans: bool) -> np.ndarray:
    """One dense tensor from nested lists (json_tensor.cc GetDenseTensorShape + FillTensorProto)."""
    if not spec.is_string and not has_booleans:
        fast = _numeric_fast(value, spec)
        if fast is not None:
            return fast
    shape = _dense_shape(value)
    leaves: list[Any] = []
    _fill(value, 0, shape, spec, leaves)
    if spec.is_string:
        return np.array(leaves, dtype=object).reshape(shape)
    return np.array(leaves, dtype=spec.dtype).reshape(shape)


def _numeric_fast(value: Any, spec: TensorSpec) -> np.ndarray | None:
    """numpy's conversion when it is exactly what TF Serving would accept, else None."""
    if spec.dtype not in _FLOATS and spec.dtype not in _INTEGER_RANGE:
        return None
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError, OverflowError):  # ragged lists, too-large integers
        return None
    if spec.dtype in _FLOATS:
        return raw.astype(spec.dtype, copy=False) if raw.dtype.kind in "if" else None
    if raw.dtype.kind not in "iu":
        return None
    low, high = _INTEGER_RANGE[spec.dtype]
    if raw.size and (raw.min() < low or raw.max() > high):
        return None
    return raw.astype(spec.dtype, copy=False)


def _dense_shape(value: Any) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _fill(value: Any, level: int, shape: list[int], spec: TensorSpec, leaves: list[Any]) -> None:
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise invalid(f"JSON Value: {debug_string(value)} found at incorrect level: {level + 1} in the "
                          f"JSON DOM. Expected at level: {rank}")
        leaves.append(_leaf(value, spec))
        return
    if level >= rank:
        raise invalid(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise invalid(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                      f"expected size: {shape[level]}")
    for item in value:
        _fill(item, level + 1, shape, spec, leaves)


def _leaf(value: Any, spec: TensorSpec) -> Any:
    """json_tensor.cc AddValueToTensor: the JSON types each dtype takes."""
    if isinstance(value, dict):
        if not spec.is_string:
            raise _type_error(value, spec)
        if not _is_b64(value):
            raise invalid(f"JSON Value: {debug_string(value)} not formatted correctly for base64 data")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError:
            raise invalid("Unable to base64 decode") from None
    if spec.is_string:
        if not isinstance(value, str):
            raise _type_error(value, spec)
        return value.encode()
    if spec.dtype == np.bool_:
        if not isinstance(value, bool):
            raise _type_error(value, spec)
        return value
    if spec.dtype in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _type_error(value, spec)
        return value
    if spec.dtype in _INTEGER_RANGE:
        low, high = _INTEGER_RANGE[spec.dtype]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _type_error(value, spec)
        return value
    raise ServingError("UNIMPLEMENTED",
                       f"Conversion of JSON Value: {debug_string(value)} to type: {dtype_name(spec.dtype_enum)}")


def _type_error(value: Any, spec: TensorSpec) -> ServingError:
    return invalid(f"JSON Value: {debug_string(value)} Type: {json_type(value)} is not of expected type: "
                   f"{dtype_name(spec.dtype_enum)}")


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_named_object(value: Any) -> bool:
    return isinstance(value, dict) and not _is_b64(value)


def _shape(shape: Any) -> str:
    return "[" + ",".join(str(size) for size in shape) + "]"
