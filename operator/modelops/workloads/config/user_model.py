"""The `model` block of a stage config when it names a user module (spec.training.model.module | path).

Read strictly like the rest of the config: the module or the file, the function, and `values` (what a
search chose for the module's own hp calls). The built-in model's keys beside them are an error, as they
are at admission: a config that names two models would train one and report the other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops.api.model_schema import BUILTIN_FIELDS, DEFAULT_FUNCTION, IDENTIFIER
from modelops.workloads.config.reader import Reader, invalid, kind

SPEC_FIELD = "spec.training.model"  # where a user sets what this block carries, named in the loader's errors


@dataclass(frozen=True)
class UserModelSpec:
    """Where the user's body-building function lives, and the hp values a search fixed for it."""

    module: str | None = None  # importable in the worker image
    path: str | None = None  # a .py file; relative paths are under the storage root
    function: str = DEFAULT_FUNCTION
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def field(self) -> str:
        """The spec field that names the code: errors about finding or importing it point there."""
        return f"{SPEC_FIELD}.{'module' if self.module is not None else 'path'}"

    def file(self, storage_root: Path) -> Path | None:
        """The module file for `path` (relative paths resolved under the storage root); None for `module`."""
        if self.path is None:
            return None
        path = Path(self.path)
        return path if path.is_absolute() else storage_root / path

    def to_json(self) -> dict[str, Any]:
        """For the version's report: what built the model."""
        where = {"module": self.module} if self.module is not None else {"path": self.path}
        return {**where, "function": self.function, "values": dict(self.values)}


def names_user_model(reader: Reader) -> bool:
    return reader.data.get("module") is not None or reader.data.get("path") is not None


def parse_user_model(reader: Reader) -> UserModelSpec:
    """The user-module keys of `config.model` (the caller reads numClasses and finishes the reader)."""
    present = [key for key in BUILTIN_FIELDS if reader.data.get(key) is not None]
    if present:
        raise invalid(f"{reader.path}.{present[0]}", "shapes the built-in model; it cannot be set beside module "
                                                     "or path, which name your own")
    module, path = reader.string("module"), reader.string("path")
    if module is not None and path is not None:
        raise invalid(f"{reader.path}.path", "set either module or path, not both")
    if module is not None and not re.fullmatch(rf"{IDENTIFIER}(\.{IDENTIFIER})*", module):
        raise invalid(f"{reader.path}.module", f"{module!r} is not a dotted Python module name")
    if path is not None and not path.endswith(".py"):
        raise invalid(f"{reader.path}.path", f"{path!r} is not a .py file")
    function = reader.string("function", DEFAULT_FUNCTION)
    if not re.fullmatch(IDENTIFIER, function):
        raise invalid(f"{reader.path}.function", f"{function!r} is not a Python identifier")
    values = reader.raw("values")
    if values is None:
        values = {}
    if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
        raise invalid(f"{reader.path}.values", f"expected a mapping of hp names to values, got {kind(values)}")
    for name, value in values.items():
        if isinstance(value, (list, dict)) or value is None:
            raise invalid(f"{reader.path}.values.{name}", f"expected a number, string or boolean, got {kind(value)}")
    return UserModelSpec(module, path, function, dict(values))
