"""JSON values as TF Serving's util/json_tensor.cc writes and names them: tensors to JSON (floats
as `WriteDecimal` prints them, `_bytes` outputs as `{"b64": ...}`), and the short text and type
name its error messages quote.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

_DEBUG_LIMIT = 256  # kMaxJsonDebugStringBytes


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
    if array.dtype.kind == "f":
        return decimal_values(array).tolist()
    return array.tolist()


def decimal_values(array: np.ndarray) -> np.ndarray:
    """float64 values equal to the decimals WriteDecimal prints for this float32/float64 array."""
    exact = array.astype(np.float64)
    if exact.size == 0:
        return exact
    finite = np.isfinite(exact)
    short = exact.copy()
    short[finite] = np.char.mod("%g", exact[finite]).astype(np.float64)
    round_trips = short.astype(array.dtype) == array
    redo = finite & ~round_trips
    if redo.any():
        digits = 9 if array.dtype.itemsize <= 4 else 17  # max_digits10
        short[redo] = np.char.mod(f"%.{digits}g", exact[redo]).astype(np.float64)
    return short


def decimal(value: float, single: bool = True) -> float:
    """One float (a classification score, a regression value) as WriteDecimal prints it."""
    return float(decimal_values(np.array([value], dtype=np.float32 if single else np.float64))[0])


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
