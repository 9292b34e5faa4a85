"""Reading one mapping of a stage config strictly: every problem names the key's full path.

Shared by the config loaders of every stage (config.py, tuning_config.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.workloads.errors import INVALID_CONFIG, WorkloadError


class Reader:
    """Reads one mapping, remembering its path for messages and which keys were consumed."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise invalid(path, f"expected a mapping, got {kind(data)}")
        self.data, self.path, self.used = data, path, set()

    def _get(self, key: str, required: bool) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise invalid(f"{self.path}.{key}", "required key is missing")
            return None
        return self.data[key]

    def child(self, key: str, required: bool = False) -> Reader | None:
        value = self._get(key, required)
        return None if value is None else Reader(value, f"{self.path}.{key}")

    def string(self, key: str, default: str | None = None, *, choices: tuple[str, ...] | None = None,
               required: bool = False) -> Any:
        value = self._get(key, required)
        if value is None:
            return default
        where = f"{self.path}.{key}"
        if not isinstance(value, str) or not value:
            raise invalid(where, f"expected a non-empty string, got {kind(value)}")
        if choices is not None and value not in choices:
            raise invalid(where, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def integer(self, key: str, default: int | None = None, *, minimum: int | None = None,
                required: bool = False) -> Any:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            bound = f" >= {minimum}" if minimum is not None else ""
            raise invalid(f"{self.path}.{key}", f"expected integer{bound}, got {value!r}")
        return value

    def number(self, key: str, default: float, *, minimum: float | None = None, maximum: float | None = None,
               exclusive_minimum: bool = False, exclusive_maximum: bool = False) -> float:
        value = self._get(key, False)
        if value is None:
            return default
        where = f"{self.path}.{key}"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise invalid(where, f"expected a number, got {value!r}")
        low_ok = minimum is None or (value > minimum if exclusive_minimum else value >= minimum)
        high_ok = maximum is None or (value < maximum if exclusive_maximum else value <= maximum)
        if not (low_ok and high_ok):
            low = "" if minimum is None else f"{'>' if exclusive_minimum else '>='} {minimum}"
            high = "" if maximum is None else f"{'<' if exclusive_maximum else '<='} {maximum}"
            raise invalid(where, f"expected a number {' and '.join(p for p in (low, high) if p)}, got {value!r}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise invalid(f"{self.path}.{key}", f"expected true or false, got {value!r}")
        return value

    def raw(self, key: str) -> Any:
        return self._get(key, False)

    def finish(self) -> None:
        """Unknown keys are errors: a misspelt key must not silently become a default."""
        unknown = sorted(str(k) for k in self.data if k not in self.used)
        if unknown:
            raise invalid(f"{self.path}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(self.used))})")


def kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def invalid(where: str, message: str) -> WorkloadError:
    return WorkloadError(INVALID_CONFIG, f"{where}: {message}")
