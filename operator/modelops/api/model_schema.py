"""`spec.training.model`: the built-in model's shape, or the user's own Keras code that builds its body.

Two ways to say what is trained, mutually exclusive so a spec never reads as one model and trains another:
- the built-in model: `hiddenLayers`, `activation`, `dropout` (their defaults are applied by the worker,
  not by the schema, so the API server can tell "left out" from "set" and refuse them beside a module);
- a user module: `module` (importable in the worker image) or `path` (a .py file on the storage volume),
  whose `function(inputs, hp)` builds the body from the prepared inputs and a KerasTuner `hp`.
Either way the platform keeps the inputs, preprocessing, task head, fit, export, tuning and lifecycle.
The rules here are declared like every other cross-field rule (`rules.py`), so `kubectl apply` and
`modelops validate` refuse the same spec with the same words.
"""

from __future__ import annotations

from modelops.api.rules import Ref, Rule
from modelops.api.schema import Arr, Int, Num, Obj, Str
from modelops.api.vocabulary import ACTIVATIONS

BUILTIN_DEFAULTS = {"hiddenLayers": [32, 16], "activation": "relu", "dropout": 0.0}
BUILTIN_FIELDS = tuple(BUILTIN_DEFAULTS)
BUILTIN_KNOBS = ("hiddenLayers", "activation", "dropout")  # searchSpace knobs that shape the built-in model
DEFAULT_FUNCTION = "build"
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"

MODEL = Obj(
    "What model is trained for the task. Built in (the default): a Normalization layer adapted on the training "
    "data, hidden Dense layers, and the task's output layer. Your own: name a Python module (`module` or "
    "`path`) whose function builds the model body from the prepared inputs; the platform still reads the data, "
    "preprocesses it inside the model, adds the task's output layer, trains, tunes, exports and serves it. "
    "hiddenLayers, activation and dropout shape the built-in model only and cannot be set beside a module.",
    default={},
    properties={
        "hiddenLayers": Arr("Units of each hidden Dense layer of the built-in model, input to output. "
                            "Default: [32, 16].",
                            items=Int("Units in one layer.", minimum=1, maximum=4096), max_items=16),
        "activation": Str("Activation of the built-in model's hidden layers. Default: relu.", enum=ACTIVATIONS),
        "dropout": Num("Dropout rate after each hidden layer of the built-in model. Default: 0.", minimum=0.0,
                       maximum=1.0, exclusive_maximum=True),
        "numClasses": Int("Number of classes (multiclass only); inferred from the training labels "
                          "when omitted.", minimum=2, maximum=10000),
        "module": Str("Your model code as a Python module importable in the worker image (training.image), "
                      "e.g. mycompany.models.churn. Its `function` is called as function(inputs, hp): inputs is "
                      "a dict of feature name to Keras tensor after the platform's preprocessing, hp a KerasTuner "
                      "HyperParameters; it returns a Keras tensor of shape [batch, units] (or a keras.Model "
                      "taking that dict), to which the platform adds the task's output layer.",
                      pattern=rf"^{IDENTIFIER}(\.{IDENTIFIER})*$", pattern_hint="a dotted Python module name",
                      max_length=200),
        "path": Str("Your model code as a .py file on the storage volume: relative to storage.mountPath (for "
                    "`modelops run`, to the manifest's directory) or absolute under it. Other modules in its "
                    "directory can be imported by it. Called like `module`.",
                    pattern=r"^.*\.py$", pattern_hint="a path ending in .py", max_length=1024),
        "function": Str("The function of `module` or `path` that builds the model body. Default: build.",
                        pattern=rf"^{IDENTIFIER}$", pattern_hint="a Python identifier", max_length=100),
    },
)

_USER = "(has(self.module) || has(self.path))"
_NO_DOTDOT = "(^|/)[.][.](/|$)"  # no backslashes: the same text is a CEL string


def _user(model: dict) -> bool:
    return model.get("module") is not None or model.get("path") is not None


def _path_on_volume(spec: dict) -> bool:
    import re

    path = ((spec.get("training") or {}).get("model") or {}).get("path")
    if path is None:
        return True
    mount = str((spec.get("storage") or {}).get("mountPath", "/models"))
    inside = not path.startswith("/") or path.startswith(mount.rstrip("/") + "/")
    return inside and re.search(_NO_DOTDOT, path) is None


def _searched_builtin(training: dict) -> list[str]:
    space = ((training.get("tuning") or {}).get("searchSpace")) or {}
    return [knob for knob in BUILTIN_KNOBS if space.get(knob) is not None]


_BUILTIN_SEARCHED_CEL = " || ".join(f"has(self.tuning.searchSpace.{k})" for k in BUILTIN_KNOBS)

USER_MODEL_RULES = (
    # One source of model code: two would leave the reader guessing which one trains.
    Rule("model-module-or-path", at="spec.training.model", field=".path",
         cel="!has(self.module) || !has(self.path)",
         check=lambda model: model.get("module") is None or model.get("path") is None,
         message=("set either module (a module in the worker image) or path (a file on the storage volume), "
                  "not both",)),
    # The built-in model's knobs beside a module would be silently ignored.
    Rule("model-builtin-fields-without-module", at="spec.training.model", field=".module",
         cel=f"!{_USER} || !(has(self.hiddenLayers) || has(self.activation) || has(self.dropout))",
         check=lambda model: not _user(model) or all(model.get(k) is None for k in BUILTIN_FIELDS),
         message=("hiddenLayers, activation and dropout shape the built-in model; remove them when module or "
                  "path names your own",)),
    # A function name alone names no code.
    Rule("model-function-needs-module", at="spec.training.model", field=".function",
         cel=f"!has(self.function) || {_USER}",
         check=lambda model: model.get("function") is None or _user(model),
         message=("names a function of module or path; set one of them",)),
    # Stage pods see only the storage volume; a path elsewhere (or climbing out with ..) is not there.
    Rule("model-path-on-volume", at="spec", field=".training.model.path",
         cel="!has(self.training.model) || !has(self.training.model.path) "
             "|| ((!self.training.model.path.startsWith('/') "
             "|| self.training.model.path.startsWith(self.storage.mountPath + '/')) "
             f"&& !self.training.model.path.matches('{_NO_DOTDOT}'))",
         check=_path_on_volume,
         message=("'", Ref("self.training.model.path", lambda spec: spec["training"]["model"]["path"]),
                  "' is not on the storage volume: give a path relative to storage.mountPath ",
                  Ref("self.storage.mountPath", lambda spec: spec["storage"]["mountPath"]),
                  " (or absolute under it), without '..'")),
    # A custom command trains its own model; a module would never be called.
    Rule("model-module-not-with-command", at="spec.training", field=".command",
         cel="!has(self.command) || !has(self.model) || !(has(self.model.module) || has(self.model.path))",
         check=lambda training: training.get("command") is None or not _user(training.get("model") or {}),
         message=("a custom command trains its own model; remove it to have the platform train "
                  "training.model's module",)),
    # The search of a user module is the module's own hp calls; the built-in model's knobs do not exist there.
    Rule("model-module-searches-own-knobs", at="spec.training", field=".tuning.searchSpace",
         cel=f"!has(self.model) || !(has(self.model.module) || has(self.model.path)) || !has(self.tuning) "
             f"|| !has(self.tuning.searchSpace) || !({_BUILTIN_SEARCHED_CEL})",
         check=lambda training: not _user(training.get("model") or {}) or not _searched_builtin(training),
         message=("hiddenLayers, activation and dropout belong to the built-in model; your module declares its "
                  "own search with hp calls (learningRate, batchSize and optimizer may still be searched)",)),
)
