"""JSON values as TF Serving's util/json_tensor.cc writes and names them: tensors to JSON (floats
as `WriteDecimal` prints them, `_bytes` outputs as `{"b64": ...}`), and the short text and type
name its error messages quote.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import numpy as np

from modelops.serving.errors import invalid
from modelops.serving.servable import numpy_dtype_name

_DEBUG_LIMIT = 256  # kMaxJsonDebugStringBytes
# the numeric dtypes json_tensor.cc AddSingleValueAndAdvance writes (not half, uint16, complex, ...)
_JSON_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int16, np.int8, np.uint8,
                                               np.int64, np.bool_, np.uint32, np.uint64))


def debug_string(value: Any) -> str:
    """JsonValueToDebugString: compact JSON, cut after about 256 bytes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= _DEBUG_LIMIT else text[:_DEBUG_LIMIT]


def json_type(value: Any) -> str:
    """JsonTypeString: rapidjson's type names."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def to_json_value(array: np.ndarray, as_bytes: bool = False) -> Any:
    """A tensor as nested lists. Floats carry the value TF Serving's text parses to (WriteDecimal:
    `%g`, or full precision when that does not round-trip), not float32's binary noise, so a
    float32 0.1 arrives as 0.1. Strings are text; for outputs named `*_bytes` (IsNamedTensorBytes)
    `{"b64": ...}`. Deliberate difference: bytes that are not UTF-8 outside `*_bytes` also become
    `{"b64": ...}` where TF Serving would write invalid JSON."""
    if array.dtype == np.object_ or array.dtype.kind == "S":
        return _bytes_to_json(array.tolist(), as_bytes)
    if array.dtype not in _JSON_DTYPES:  # AddSingleValueAndAdvance has no JSON form for it
        raise invalid(f"Failed to write JSON value for tensor type: {numpy_dtype_name(array.dtype)}")
    if array.dtype.kind == "f":
        values = decimal_values(array)
        return values if isinstance(values, list) else values.tolist()
    return array.tolist()


def decimal_values(array: np.ndarray) -> np.ndarray | list[float]:
    """The values WriteDecimal prints for a float32/float64 array: `%g` (six digits) when that reads
    back as the same value, else max_digits10 digits. Small arrays (a prediction's few scores) go
    value by value in Python, larger ones through numpy; both give the same floats."""
    digits = 9 if array.dtype.itemsize <= 4 else 17  # std::numeric_limits<dtype>::max_digits10
    if array.size <= _SMALL:
        same = _same_float32 if array.dtype.itemsize <= 4 else float.__eq__
        values = [_short(value, digits, same) for value in array.ravel().tolist()]
        return np.array(values, dtype=np.float64).reshape(array.shape) if array.ndim != 1 else values
    flat = array.ravel()
    short = np.array([float(format(value, "g")) for value in flat.tolist()], dtype=np.float64)
    for index in np.flatnonzero((short.astype(array.dtype) != flat) & np.isfinite(flat)).tolist():
        short[index] = float(format(flat[index], f".{digits}g"))
    return short.reshape(array.shape)


_SMALL = 64
_FLOAT32 = struct.Struct("<f")


def _short(value: float, digits: int, same) -> float:
    short = float(format(value, "g"))
    return short if same(short, value) or value != value else float(format(value, f".{digits}g"))


def _same_float32(short: float, value: float) -> bool:
    """Does the decimal round to this float32 (value is a float32 widened to a Python float)?"""
    try:
        return _FLOAT32.unpack(_FLOAT32.pack(short))[0] == value
    except OverflowError:
        return False


def decimal(value: float, single: bool = True) -> float:
    """One float (a classification score, a regression value) as WriteDecimal prints it."""
    return _short(value, 9, _same_float32) if single else _short(value, 17, float.__eq__)


def _bytes_to_json(value: Any, as_bytes: bool) -> Any:
    if isinstance(value, list):
        return [_bytes_to_json(item, as_bytes) for item in value]
    if isinstance(value, bytes):
        if not as_bytes:
            try:
                return value.decode()
            except UnicodeDecodeError:
                pass
        return {"b64": base64.b64encode(value).decode()}
    return value
