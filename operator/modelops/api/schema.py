"""A small schema language: one tree gives the CRD's OpenAPI v3 schema AND the local validator.

Keeping a single source means `kubectl explain`, the API server's defaulting and `modelops run` can
never disagree about a field's type, bounds, default or meaning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_MISSING: Any = object()


@dataclass(frozen=True)
class Node:
    description: str
    default: Any = _MISSING
    nullable: bool = False

    def openapi(self) -> dict[str, Any]:
        out = {"description": self.explained(), **self._openapi()}
        if self.default is not _MISSING:
            out["default"] = self.default
        if self.nullable:
            out["nullable"] = True
        return out

    def explained(self) -> str:
        """The description as `kubectl explain` shows it: kubectl prints no defaults, patterns or formats,
        so the text states what the field accepts and ends with its default ("Default: 20.")."""
        parts = [self.description]
        if (note := self._format_note()) and note not in self.description:
            parts.append(note)
        if self.default is not _MISSING and "Default:" not in self.description:
            parts.append(f"Default: {default_text(self.default)}")
        return " ".join(parts)

    def _format_note(self) -> str:
        return ""

    def _openapi(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        raise NotImplementedError


def default_text(value: Any) -> str:
    """`20.`, `true.`, `5m.`, `[64, 32].`; an empty object says its fields take their own defaults."""
    if isinstance(value, bool):
        return f"{str(value).lower()}."
    if isinstance(value, str):
        return f"{value}." if value else '"" (empty).'
    if value == {}:
        return "{} (each field below takes its own default)."
    return f"{json.dumps(value)}."


def type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Str(Node):
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    pattern_hint: str = ""
    min_length: int | None = None
    max_length: int | None = None
    noun: str = "value"  # what an enum member is called in errors: 'unknown metric "acuracy"'

    def _format_note(self) -> str:
        if self.pattern_hint:
            return f"Format: {self.pattern_hint}."
        return f"Format: matches the regular expression {self.pattern}." if self.pattern else ""

    def _openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.enum:
            out["enum"] = list(self.enum)
        if self.pattern:
            out["pattern"] = self.pattern
        if self.min_length is not None:
            out["minLength"] = self.min_length
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        return out

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {type_name(value)} {value!r}")
            return value
        if self.enum and value not in self.enum:
            errors.append(f'{path}: unknown {self.noun} "{value}" (expected one of {", ".join(self.enum)})')
        if self.pattern and not re.fullmatch(self.pattern, value):
            errors.append(f'{path}: "{value}" is not {self.pattern_hint or "valid"}')
        if self.min_length is not None and len(value) < self.min_length:
            errors.append(f"{path}: must not be empty" if self.min_length == 1
                          else f"{path}: shorter than {self.min_length} characters")
        if self.max_length is not None and len(value) > self.max_length:
            errors.append(f"{path}: longer than {self.max_length} characters")
        return value


@dataclass(frozen=True)
class _Number(Node):
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    def _bounds(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.minimum is not None:
            out["minimum"] = self.minimum
            if self.exclusive_minimum:
                out["exclusiveMinimum"] = True
        if self.maximum is not None:
            out["maximum"] = self.maximum
            if self.exclusive_maximum:
                out["exclusiveMaximum"] = True
        return out

    def _check_bounds(self, value: float, path: str, errors: list[str]) -> None:
        lo, hi = self.minimum, self.maximum
        if lo is not None and (value < lo or (self.exclusive_minimum and value == lo)):
            errors.append(f"{path}: {value!r} must be {'>' if self.exclusive_minimum else '>='} {lo:g}")
        if hi is not None and (value > hi or (self.exclusive_maximum and value == hi)):
            errors.append(f"{path}: {value!r} must be {'<' if self.exclusive_maximum else '<='} {hi:g}")


@dataclass(frozen=True)
class Int(_Number):
    def _openapi(self) -> dict[str, Any]:
        return {"type": "integer", **self._bounds()}

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected an integer, got {type_name(value)} {value!r}")
            return value
        self._check_bounds(value, path, errors)
        return value


@dataclass(frozen=True)
class Num(_Number):
    def _openapi(self) -> dict[str, Any]:
        return {"type": "number", **self._bounds()}

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{path}: expected a number, got {type_name(value)} {value!r}")
            return value
        self._check_bounds(float(value), path, errors)
        return float(value)


@dataclass(frozen=True)
class Bool(Node):
    def _openapi(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, bool):
            errors.append(f"{path}: expected true or false, got {type_name(value)} {value!r}")
        return value


@dataclass(frozen=True)
class IntOrString(Node):
    """`x-kubernetes-int-or-string` (e.g. an autoscaling target `500m` or `2`): the API server admits
    integers and strings only, so a fractional number is refused and the error says to quote it. Container
    resources take numbers too: resources_schema.Quantity."""

    max_length: int | None = None  # bounds the cost estimate of CEL rules on the value

    def _format_note(self) -> str:
        return ("Format: a Kubernetes quantity, an integer or a string such as 500m (CPU), 1.5, 2Gi or 512Mi "
                "(memory).")

    def _openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        return out

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, float):  # even 1.0: the API server's CEL rules then fail on the non-integer
            whole = f"write {int(value)}" if value.is_integer() else f"write {round(value * 1000)}m"
            errors.append(f"{path}: {value!r} is a decimal number; a quantity here is an integer or a string (the "
                          f'API server refuses the number): quote it ("{value!r}") or {whole}')
        elif isinstance(value, bool) or not isinstance(value, int | str):
            errors.append(f"{path}: expected an integer or a string quantity, got {type_name(value)} {value!r}")
        elif self.max_length is not None and isinstance(value, str) and len(value) > self.max_length:
            errors.append(f"{path}: longer than {self.max_length} characters")
        return value


@dataclass(frozen=True)
class KubeObject(Node):
    """A Kubernetes API type kept in its own shape (e.g. a Pod's `affinity`): the API server checks it field
    by field when the operator creates the pod's owner; here only its being an object is checked."""

    kube_type: str = ""  # e.g. "core/v1 Affinity", named in the description

    def _format_note(self) -> str:
        return f"Format: a Kubernetes {self.kube_type}, exactly as in a Pod spec." if self.kube_type else ""

    def _openapi(self) -> dict[str, Any]:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, Mapping):
            errors.append(f"{path}: expected a mapping, got {type_name(value)} {value!r}")
        return value


@dataclass(frozen=True)
class Arr(Node):
    items: Node = field(default_factory=lambda: Str("item"))
    min_items: int | None = None
    max_items: int | None = None

    def _openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.items.openapi()}
        if self.min_items is not None:
            out["minItems"] = self.min_items
        if self.max_items is not None:
            out["maxItems"] = self.max_items
        return out

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type_name(value)} {value!r}")
            return value
        if self.min_items is not None and len(value) < self.min_items:
            errors.append(f"{path}: needs at least {self.min_items} item(s)")
        if self.max_items is not None and len(value) > self.max_items:
            errors.append(f"{path}: at most {self.max_items} item(s) allowed")
        return [normalize(self.items, item, f"{path}[{i}]", errors) for i, item in enumerate(value)]


@dataclass(frozen=True)
class Map(Node):
    values: Node = field(default_factory=lambda: Str("value"))
    max_properties: int | None = None

    def _openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object", "additionalProperties": self.values.openapi()}
        if self.max_properties is not None:
            out["maxProperties"] = self.max_properties
        return out

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, Mapping):
            errors.append(f"{path}: expected a mapping, got {type_name(value)} {value!r}")
            return value
        if self.max_properties is not None and len(value) > self.max_properties:
            errors.append(f"{path}: at most {self.max_properties} entries allowed")
        return {k: normalize(self.values, v, f"{path}.{k}", errors) for k, v in value.items()}


@dataclass(frozen=True)
class Obj(Node):
    properties: Mapping[str, Node] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def _openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {name: node.openapi() for name, node in self.properties.items()},
        }
        if self.required:
            out["required"] = list(self.required)
        return out

    def check(self, value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, Mapping):
            errors.append(f"{path}: expected a mapping, got {type_name(value)} {value!r}")
            return value
        for name in value:
            if name not in self.properties:
                known = ", ".join(self.properties)
                errors.append(f"{path}.{name}: unknown field (known fields: {known})")
        for name in self.required:
            if value.get(name) is None:
                errors.append(f"{path}.{name}: required field is missing")
        out: dict[str, Any] = {}
        for name, node in self.properties.items():
            if name in value:
                out[name] = normalize(node, value[name], f"{path}.{name}", errors)
            elif node.default is not _MISSING:
                out[name] = normalize(node, _copy(node.default), f"{path}.{name}", errors)
        return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def normalize(node: Node, value: Any, path: str, errors: list[str]) -> Any:
    """Type-check `value` against `node`, apply defaults below it, append `path: problem` errors."""
    if value is None:
        if not node.nullable:
            errors.append(f"{path}: must not be null")
        return None
    return node.check(value, path, errors)
