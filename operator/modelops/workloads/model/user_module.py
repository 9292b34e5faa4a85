"""The user's own model code (spec.training.model.module | path): load it, call it, check what it built.

The user writes one function, `build(inputs, hp)`: `inputs` is a dict of feature name -> Keras tensor AFTER
the platform's preprocessing (the prepared inputs), `hp` a KerasTuner `HyperParameters`. It returns the
model body: a Keras tensor [batch, units] computed from those inputs, or a keras.Model that takes the dict.
The platform adds the task's output layer and keeps everything else (data, preprocessing, fit, tuning,
export, serving). Every way this can go wrong is a `UserModelInvalid` failure whose message names the spec
field and the file or module, with a line number where Python gives one, so the user fixes their code from
the status message without reading the worker's log.

Outside a search, each hp call returns the value a search chose for it (`values`) or its own default
(KerasTuner: `hp.Int` -> min_value, `hp.Choice` -> the first choice, unless `default=` is given).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from modelops.workloads.config.user_model import SPEC_FIELD, UserModelSpec
from modelops.workloads.errors import USER_MODEL_INVALID, WorkloadError
from modelops.workloads.model.keras_model import Body

BodyFunction = Callable[[dict[str, Any], Any], Any]

_loaded: dict[tuple[str | None, str | None, str, str], BodyFunction] = {}


def failure(field: str, message: str) -> WorkloadError:
    return WorkloadError(USER_MODEL_INVALID, f"{field}: {message}")


def describe(spec: UserModelSpec, storage_root: Path) -> str:
    """`module team.models.churn` or `file /models/code/churn.py`: how messages name the user's code."""
    return f"module {spec.module}" if spec.module is not None else f"file {spec.file(storage_root)}"


def load_function(spec: UserModelSpec, storage_root: Path) -> BodyFunction:
    """The user's body-building function, imported once per process (a search builds many models)."""
    key = (spec.module, spec.path, spec.function, str(storage_root))
    if key not in _loaded:
        module = _import_module(spec) if spec.module is not None else _import_file(spec, storage_root)
        _loaded[key] = _function_of(module, spec, storage_root)
    return _loaded[key]


def _import_module(spec: UserModelSpec) -> ModuleType:
    assert spec.module is not None
    try:
        return importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if spec.module == missing or spec.module.startswith(missing + "."):
            raise failure(spec.field, f"no module named {missing!r} in the worker image (install it in "
                                      "training.image, or put a .py file on the storage volume and use path)"
                          ) from exc
        raise failure(spec.field, f"module {spec.module} imports {missing!r}, which is not installed in the "
                                  "worker image") from exc
    except SyntaxError as exc:
        raise failure(spec.field, _syntax_text(exc)) from exc
    except Exception as exc:  # any error in user code at import is the user's to fix
        raise failure(spec.field, f"importing module {spec.module} raised {_error_text(exc)}") from exc


def _import_file(spec: UserModelSpec, storage_root: Path) -> ModuleType:
    file = spec.file(storage_root)
    assert file is not None
    if not file.exists():
        raise failure(spec.field, f"{file}: no such file on the storage volume")
    if not file.is_file():
        raise failure(spec.field, f"{file}: not a file")
    name = file.stem if file.stem.isidentifier() else "modelops_user_model"
    loader_spec = importlib.util.spec_from_file_location(name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise failure(spec.field, f"{file}: Python cannot load it as a module")
    module = importlib.util.module_from_spec(loader_spec)
    if str(file.parent) not in sys.path:  # the file may import its neighbours
        sys.path.insert(0, str(file.parent))
    sys.modules[name] = module  # dataclasses and pickling look their module up by name
    try:
        loader_spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        raise failure(spec.field, _syntax_text(exc)) from exc
    except Exception as exc:
        del sys.modules[name]
        raise failure(spec.field, f"importing {file} raised {_error_text(exc, file)}") from exc
    return module


def _function_of(module: ModuleType, spec: UserModelSpec, storage_root: Path) -> BodyFunction:
    where, field = describe(spec, storage_root), f"{SPEC_FIELD}.function"
    function = getattr(module, spec.function, None)
    if function is None:
        defined = sorted(n for n, v in vars(module).items() if inspect.isfunction(v) and v.__module__ ==
                         module.__name__ and not n.startswith("_"))
        shown = ", ".join(defined) if defined else "none"
        raise failure(field, f"{where} has no function {spec.function!r} (its functions: {shown})")
    if not callable(function):
        raise failure(field, f"{where}: {spec.function} is a {type(function).__name__}, not a function")
    try:
        inspect.signature(function).bind(object(), object())
    except TypeError as exc:
        raise failure(field, f"{where}: {spec.function}{_signature(function)} cannot be called as "
                             f"{spec.function}(inputs, hp)") from exc
    except ValueError:  # builtins without a signature: let the call decide
        pass
    return function


def user_hyperparameters(values: Mapping[str, Any]) -> Any:
    """A KerasTuner HyperParameters whose calls return `values` (a search's choice) or their defaults."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    return hp


def user_body(spec: UserModelSpec | None, storage_root: Path, task: str, num_classes: int | None) -> Body | None:
    """The body the model builder calls with its prepared inputs and `hp`: the user's function, its output
    checked against the task head. A search passes its trial's `hp`; outside a search (hp None) each hp call
    answers what the search chose (`spec.values`) or its default. None: no user module (the built-in body)."""
    if spec is None:
        return None
    function, where = load_function(spec, storage_root), describe(spec, storage_root)
    file = spec.file(storage_root)

    def body(prepared: dict[str, Any], hp: Any) -> Any:
        chosen = hp if hp is not None else user_hyperparameters(spec.values)
        return call_body(function, spec.function, where, file, prepared, chosen, task, num_classes)

    return body


def call_body(function: BodyFunction, name: str, where: str, file: Path | None, prepared: dict[str, Any],
              hp: Any, task: str, num_classes: int | None) -> Any:
    import keras

    field = f"{SPEC_FIELD}.function"
    try:
        output = function(dict(prepared), hp)
    except WorkloadError:
        raise
    except Exception as exc:
        raise failure(field, f"{where}: {name}(inputs, hp) raised {_error_text(exc, file)}") from exc
    if isinstance(output, keras.Model):
        try:
            output = output(dict(prepared))
        except Exception as exc:
            raise failure(field, f"{where}: {name} returned a keras.Model that cannot be called on the prepared "
                                 f"inputs ({', '.join(prepared)}): {_error_text(exc, file)}") from exc
    if not isinstance(output, keras.KerasTensor):
        raise failure(field, f"{where}: {name} returned {type(output).__name__}; expected a Keras tensor of shape "
                             "[batch, units] built from the inputs it was given, or a keras.Model taking them")
    check_head_fit(output, task, num_classes, f"{where}: {name}")
    return output


def head_text(task: str, num_classes: int | None) -> str:
    if task == "binary-classification":
        return "Dense(1, sigmoid) of binary-classification"
    if task == "multiclass-classification":
        return f"Dense({num_classes or 'K'}, softmax) of multiclass-classification"
    return "Dense(1) of regression"


def check_head_fit(output: Any, task: str, num_classes: int | None, who: str) -> None:
    """The platform's head is a Dense layer: it needs [batch, units] floats with a known width."""
    shape = tuple(output.shape)
    if len(shape) != 2 or shape[1] is None:
        raise failure(f"{SPEC_FIELD}.function", f"{who} returned a tensor of shape {shape}; the task's output layer "
                                                f"({head_text(task, num_classes)}) takes [batch, units] with a "
                                                "known width: flatten or pool it")
    if "float" not in str(output.dtype):
        raise failure(f"{SPEC_FIELD}.function", f"{who} returned a {output.dtype} tensor; the task's output layer "
                                                f"({head_text(task, num_classes)}) takes floats")


def _syntax_text(exc: SyntaxError) -> str:
    return f"{exc.filename} line {exc.lineno}: syntax error: {exc.msg}"


def _error_text(exc: BaseException, file: Path | None = None) -> str:
    """`ValueError: bad units (churn.py line 12)`: the user's innermost frame, where Python names one."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if file is not None and Path(f.filename) == file] or \
          [f for f in frames if "site-packages" not in f.filename and "/modelops/" not in f.filename]
    if own:
        text += f" ({Path(own[-1].filename).name} line {own[-1].lineno})"
    return text


def _signature(function: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"
