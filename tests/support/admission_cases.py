"""One invalid ModelDeployment per rule of api/validation.py, shared by the unit and the API-server tests.

Each case breaks exactly one rule of the binary-classification sample, and names the field the Python
check reports and the field the API server reports (the same, except for rules on list items that need
the task: CEL's fieldPath cannot carry an index, so the server names the list).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from support.controlplane import REPO_ROOT

SAMPLE = REPO_ROOT / "manifests" / "samples" / "binary-classification.yaml"


def base_document() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE.read_text())


@dataclass(frozen=True)
class Case:
    rule: str
    mutate: Callable[[dict[str, Any]], None]
    field: str  # as `modelops validate` names it
    api_field: str  # as the API server names it
    message: str  # the exact message both print after the field

    def document(self, name: str, namespace: str) -> dict[str, Any]:
        doc = copy.deepcopy(base_document())
        doc["metadata"] = {"name": name, "namespace": namespace}
        self.mutate(doc)
        return doc


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, leaf = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = doc
        for key in parents:
            node = node[key]
        node[leaf] = copy.deepcopy(value)
    return mutate


def _tuning(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """Enable tuning over the learning rate, with `fields` replacing or adding to that."""
    def mutate(doc: dict[str, Any]) -> None:
        tuning = {"enabled": True, "searchSpace": {"learningRate": {"min": 0.001, "max": 0.1}}}
        doc["spec"]["training"]["tuning"] = {**tuning, **copy.deepcopy(fields)}
    return mutate


def _tuned_batch_over_workers(doc: dict[str, Any]) -> None:
    _tuning(searchSpace={"batchSize": [32, 45]})(doc)
    doc["spec"]["training"]["workers"] = 2


def _canary_without_monitoring(doc: dict[str, Any]) -> None:
    doc["spec"]["serving"]["canary"]["enabled"] = True
    del doc["spec"]["monitoring"]["dataset"]


def _monitoring_retrain_without_data(doc: dict[str, Any]) -> None:
    doc["spec"]["retraining"]["include"] = ["training", "monitoring"]
    del doc["spec"]["monitoring"]["dataset"]


def _autoscaled_without_cpu(doc: dict[str, Any]) -> None:
    doc["spec"]["serving"]["autoscaling"] = {"enabled": True}
    doc["spec"]["serving"]["resources"] = {"requests": {"memory": "1Gi"}}


GATES = "spec.validation.gates"
RULES = "spec.monitoring.degradation"
EXPECTED_BINARY = "accuracy, precision, recall, f1, auc, loss"

CASES = (
    Case("gate-metric-fits-task", _set(f"{GATES}.0", {"metric": "rmse", "min": 0.1}), f"{GATES}[0].metric", GATES,
         f'metric "rmse" is not computed for task binary-classification (expected one of {EXPECTED_BINARY})'),
    Case("gate-has-bound", _set(f"{GATES}.1", {"metric": "auc"}), f"{GATES}[1]", f"{GATES}[1]",
         "needs at least one of min, max or maxRegression"),
    Case("gate-min-below-max", _set(f"{GATES}.1", {"metric": "auc", "min": 0.9, "max": 0.8}), f"{GATES}[1].min",
         f"{GATES}[1].min", "0.9 is greater than max 0.8"),
    Case("degradation-metric-fits-task", _set(f"{RULES}.1", {"metric": "mae", "maxDrop": 0.1}),
         f"{RULES}[1].metric", RULES,
         f'metric "mae" is not computed for task binary-classification (expected one of {EXPECTED_BINARY})'),
    Case("degradation-one-bound", _set(f"{RULES}.1", {"metric": "accuracy", "min": 0.5, "maxDrop": 0.1}),
         f"{RULES}[1]", f"{RULES}[1]", "needs exactly one of min, max or maxDrop (got 2)"),
    Case("degradation-floor-direction", _set(f"{RULES}.0", {"metric": "loss", "min": 0.5}), f"{RULES}[0].min",
         f"{RULES}[0].min", '"loss" is lower-is-better; a floor never fires, use max'),
    Case("degradation-ceiling-direction", _set(f"{RULES}.0", {"metric": "accuracy", "max": 0.9}),
         f"{RULES}[0].max", f"{RULES}[0].max", '"accuracy" is higher-is-better; a ceiling never fires, use min'),
    Case("num-classes-multiclass-only", _set("spec.training.model.numClasses", 3),
         "spec.training.model.numClasses", "spec.training.model.numClasses",
         "only allowed for task multiclass-classification"),
    Case("val-loss-needs-split", _set("spec.training.hyperparameters.validationSplit", 0),
         "spec.training.hyperparameters.earlyStopping.monitor",
         "spec.training.hyperparameters.earlyStopping.monitor",
         "val_loss needs validationSplit > 0 (or monitor: loss)"),
    Case("command-not-empty", _set("spec.training.command", []), "spec.training.command", "spec.training.command",
         "must not be an empty list (omit it to use the worker image)"),
    Case("canary-needs-monitoring", _canary_without_monitoring, "spec.serving.canary.enabled",
         "spec.serving.canary.enabled", "a canary is promoted by an evaluation; set spec.monitoring.dataset"),
    Case("autoscaling-min-below-max", _set("spec.serving.autoscaling", {"enabled": True, "minReplicas": 4,
                                                                       "maxReplicas": 2}),
         "spec.serving.autoscaling.minReplicas", "spec.serving.autoscaling.minReplicas",
         "4 is greater than maxReplicas 2"),
    Case("autoscaling-needs-cpu-request", _autoscaled_without_cpu,
         "spec.serving.autoscaling.enabled", "spec.serving.autoscaling.enabled",
         "CPU utilization is measured against spec.serving.resources.requests.cpu; set it"),
    Case("retraining-monitoring-needs-data", _monitoring_retrain_without_data, "spec.retraining.include",
         "spec.retraining.include",
         "monitoring needs spec.monitoring.dataset (the labelled data a retrain learns from)"),
    Case("drift-threshold-reachable", _set("spec.monitoring.drift", {"metric": "ks", "threshold": 1.5}),
         "spec.monitoring.drift.threshold", "spec.monitoring.drift.threshold",
         "1.5 is above 1, the largest ks possible; no feature could ever drift"),
    Case("drift-confirm-within-window", _set("spec.monitoring.drift.confirm", {"required": 5, "window": 4}),
         "spec.monitoring.drift.confirm.required", "spec.monitoring.drift.confirm.required",
         "5 drifted evaluations can never be found among the last 4; drift would never act"),
    Case("batch-splits-over-workers", _set("spec.training.workers", 3), "spec.training.hyperparameters.batchSize",
         "spec.training.hyperparameters.batchSize",
         "32 does not split evenly over 3 workers (it is the global batch: each worker takes batchSize / workers "
         "rows per step)"),
    Case("tuning-searches-something", _tuning(searchSpace={}), "spec.training.tuning.searchSpace",
         "spec.training.tuning.searchSpace", "tuning is enabled but searches nothing: give at least one of "
         "hiddenLayers, activation, dropout, learningRate, batchSize, optimizer (or name your own model in "
         "training.model, whose hp calls are the search)"),
    Case("tuning-objective-fits-task", _tuning(objective="mse"), "spec.training.tuning.objective",
         "spec.training.tuning.objective", 'metric "mse" is not computed for task binary-classification '
         "(expected one of accuracy, precision, recall, f1, auc, loss)"),
    Case("tuning-parallelism-within-trials", _tuning(maxTrials=2, parallelism=3), "spec.training.tuning.parallelism",
         "spec.training.tuning.parallelism", "3 is more than maxTrials 2 (workers beyond the trial count would get "
         "none)"),
    Case("tuning-hiddenlayers-layers-range", _tuning(searchSpace={"hiddenLayers": {"layers": {"min": 3, "max": 1}}}),
         "spec.training.tuning.searchSpace.hiddenLayers.layers.min",
         "spec.training.tuning.searchSpace.hiddenLayers.layers.min", "3 is greater than max 1"),
    Case("tuning-hiddenlayers-units-range",
         _tuning(searchSpace={"hiddenLayers": {"units": {"min": 64, "max": 8, "step": 8}}}),
         "spec.training.tuning.searchSpace.hiddenLayers.units.min",
         "spec.training.tuning.searchSpace.hiddenLayers.units.min", "64 is greater than max 8"),
    Case("tuning-dropout-range", _tuning(searchSpace={"dropout": {"min": 0.5, "max": 0.1}}),
         "spec.training.tuning.searchSpace.dropout.min", "spec.training.tuning.searchSpace.dropout.min",
         "0.5 is greater than max 0.1"),
    Case("tuning-learningrate-range", _tuning(searchSpace={"learningRate": {"min": 0.1, "max": 0.001}}),
         "spec.training.tuning.searchSpace.learningRate.min", "spec.training.tuning.searchSpace.learningRate.min",
         "0.1 is greater than max 0.001"),
    Case("tuned-batch-splits-over-workers", _tuned_batch_over_workers, "spec.training.tuning.searchSpace.batchSize",
         "spec.training.tuning.searchSpace.batchSize", "every choice must split evenly over 2 workers (batchSize is "
         "the global batch)"),
    Case("retraining-inputs-once", _set("spec.retraining.include", ["training", "training"]),
         "spec.retraining.include", "spec.retraining.include", "lists an input twice"),
)

USER_MODEL = "spec.training.model"


def _own_model_with(path: str, value: Any, **model: Any) -> Callable[[dict[str, Any]], None]:
    """Name a user module (replacing the built-in model's fields) and set `path` to `value`."""
    def mutate(doc: dict[str, Any]) -> None:
        doc["spec"]["training"]["model"] = {"module": "team.models.churn", **model}
        _set(path, value)(doc)
    return mutate


CASES = (
    *CASES,
    Case("model-module-or-path", _own_model_with(f"{USER_MODEL}.path", "models/churn.py"), f"{USER_MODEL}.path",
         f"{USER_MODEL}.path", "set either module (a module in the worker image) or path (a file on the storage "
         "volume), not both"),
    Case("model-builtin-fields-without-module", _own_model_with(f"{USER_MODEL}.dropout", 0.2),
         f"{USER_MODEL}.module", f"{USER_MODEL}.module", "hiddenLayers, activation and dropout shape the built-in "
         "model; remove them when module or path names your own"),
    Case("model-function-needs-module", _set(USER_MODEL, {"function": "make_model"}), f"{USER_MODEL}.function",
         f"{USER_MODEL}.function", "names a function of module or path; set one of them"),
    Case("model-path-on-volume", _set(USER_MODEL, {"path": "/models/../etc/churn.py"}), f"{USER_MODEL}.path",
         f"{USER_MODEL}.path", "'/models/../etc/churn.py' is not on the storage volume: give a path relative to "
         "storage.mountPath /models (or absolute under it), without '..'"),
    Case("model-module-not-with-command", _own_model_with("spec.training.command", ["python", "-m", "trainer"]),
         "spec.training.command", "spec.training.command", "a custom command trains its own model; remove it to "
         "have the platform train training.model's module"),
    Case("model-module-searches-own-knobs",
         _own_model_with("spec.training.tuning", {"enabled": True, "searchSpace": {"dropout": {"min": 0.1,
                                                                                                "max": 0.3}}}),
         "spec.training.tuning.searchSpace", "spec.training.tuning.searchSpace", "hiddenLayers, activation and "
         "dropout belong to the built-in model; your module declares its own search with hp calls (learningRate, "
         "batchSize and optimizer may still be searched)"),
)

# A name the API server accepts for objects in general (a DNS subdomain) but not for ours.
DOTTED_NAME = "churn.model"
LONG_NAME = "churn-" + "x" * 35

CASES = (
    *CASES,
    Case("name-is-dns-label", _set("metadata.name", DOTTED_NAME), "metadata.name", "metadata.name",
         f"'{DOTTED_NAME}' is not a DNS label (lower-case letters, digits and '-')"),
    Case("name-leaves-room-for-suffixes", _set("metadata.name", LONG_NAME), "metadata.name", "metadata.name",
         f"'{LONG_NAME}' is longer than 40 characters (child Jobs and Services append a suffix)"),
    Case("stage-pods-env-not-reserved", _set("spec.podTemplate", {"env": [{"name": "TF_CONFIG", "value": "{}"}]}),
         "spec.podTemplate.env[0].name", "spec.podTemplate.env[0].name",
         '"TF_CONFIG" is set by the operator and cannot be replaced'),
    Case("serving-pods-env-not-reserved",
         _set("spec.serving.podTemplate", {"env": [{"name": "TMPDIR", "value": "/x"}]}),
         "spec.serving.podTemplate.env[0].name", "spec.serving.podTemplate.env[0].name",
         '"TMPDIR" is set by the operator and cannot be replaced'),
)

ONE_ROLE = ("a column has one role: labelColumn, idColumn and weightColumn differ, none of them is in ignoreColumns "
            "or columnTypes, and an ignored column has no type")


def _dataset_settings(block: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    """Add column settings to spec.<block>.dataset (a retraining block gets one first if it has none)."""
    def mutate(doc: dict[str, Any]) -> None:
        node = doc["spec"].setdefault(block, {})
        node.setdefault("dataset", {"uri": "/models/datasets/churn/recent.csv", "labelColumn": "churned"})
        node["dataset"].update(copy.deepcopy(fields))
    return mutate


def _classes(classes: list[str], **fields: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        doc["spec"]["training"].update({"classes": list(classes), **fields})
    return mutate


def _multiclass_with_positive_class(doc: dict[str, Any]) -> None:
    """A multiclass task (its gates on metrics it computes) that names a positive class."""
    doc["spec"]["task"] = "multiclass-classification"
    doc["spec"]["validation"]["gates"] = [{"metric": "accuracy", "min": 0.8}]
    doc["spec"]["training"]["positiveClass"] = "churned"


CASES = (
    *CASES,
    Case("training-dataset-column-roles", _dataset_settings("training", idColumn="churned"),
         "spec.training.dataset", "spec.training.dataset", ONE_ROLE),
    Case("validation-dataset-column-roles", _dataset_settings("validation", idColumn="id", weightColumn="id"),
         "spec.validation.dataset", "spec.validation.dataset", ONE_ROLE),
    Case("monitoring-dataset-column-roles", _dataset_settings("monitoring", ignoreColumns=["a"],
                                                              columnTypes={"a": "numeric"}),
         "spec.monitoring.dataset", "spec.monitoring.dataset", ONE_ROLE),
    Case("retraining-dataset-column-roles", _dataset_settings("retraining", weightColumn="w", ignoreColumns=["w"]),
         "spec.retraining.dataset", "spec.retraining.dataset", ONE_ROLE),
    Case("classes-fit-task", _set("spec.training.classes", ["no", "maybe", "yes"]), "spec.training.classes",
         "spec.training.classes", "task binary-classification cannot have 3 classes (binary-classification has "
         "exactly 2, regression none)"),
    Case("positive-class-binary-only", _multiclass_with_positive_class,
         "spec.training.positiveClass", "spec.training.positiveClass", "only allowed for task binary-classification"),
    Case("positive-class-listed", _classes(["stays", "leaves"], positiveClass="churns"),
         "spec.training.positiveClass", "spec.training.positiveClass", "'churns' is not one of classes"),
    Case("classes-listed-once", _set("spec.training.classes", ["stays", "stays"]), "spec.training.classes",
         "spec.training.classes", "lists a class twice"),
)

# Fields that must not change once versions exist: (rule, spec path, new value, field, message).
TRANSITIONS = (
    ("task-fixed-once-trained", "spec.task", "regression", "spec.task",
     "cannot change once versions exist (create a new ModelDeployment)"),
    ("storage-fixed-once-trained", "spec.storage.persistentVolumeClaim", "other-claim",
     "spec.storage.persistentVolumeClaim", "cannot change once versions exist: they live on this claim"),
)


# ------------------------------------------------------------------ what the API server refuses only at Job creation
# (resources and mount paths; api/resources_schema.py, api/mount_rules.py). Each message is the API server's
# own wording where it has one (probed by creating the Job on the real API server).

QUANTITY_MESSAGE = ("is not a quantity: quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' and end in a known suffix (Ki, Mi, Gi, Ti, Pi, "
                    "Ei, n, u, m, k, M, G, T, P, E or an exponent such as e3)")
NAME_MESSAGE = ("must be a standard resource type or fully qualified: cpu, memory, ephemeral-storage, "
                "hugepages-<size>, or an extended resource with its domain such as nvidia.com/gpu")
SCRATCH, STAGE_CONFIG = "/tmp (scratch space)", "/etc/modelops/stage (stage configuration)"
SERVING_CONFIG = "/etc/modelops/serving (serving configuration)"
OURS = f"{SCRATCH}, {STAGE_CONFIG}, {SERVING_CONFIG}"
STAGE_OURS = f"{SCRATCH}, {STAGE_CONFIG}"
OURS_BY_LIST = {"serving.podTemplate.volumeMounts": f"{SCRATCH}, {SERVING_CONFIG}",
                "podTemplate.stages.prune.volumeMounts": SCRATCH}


def _resources(where: str, requests: dict[str, Any] | None = None,
               limits: dict[str, Any] | None = None) -> Callable[[dict[str, Any]], None]:
    resources = {key: value for key, value in (("requests", requests), ("limits", limits)) if value is not None}
    return _set(f"spec.{where}.resources", resources)


def _resource_cases(where: str) -> tuple[Case, ...]:
    at = f"spec.{where}.resources"
    return (
        Case(f"{where}-requests-are-quantities", _resources(where, {"cpu": "lots"}), f"{at}.requests[cpu]",
             f"{at}.requests[cpu]", f'"lots" {QUANTITY_MESSAGE}'),
        Case(f"{where}-limits-are-quantities", _resources(where, limits={"memory": "1GB"}), f"{at}.limits[memory]",
             f"{at}.limits[memory]", f'"1GB" {QUANTITY_MESSAGE}'),
        Case(f"{where}-requests-not-negative", _resources(where, {"cpu": "-500m"}), f"{at}.requests[cpu]",
             f"{at}.requests[cpu]", '"-500m" must be greater than or equal to 0'),
        Case(f"{where}-limits-not-negative", _resources(where, limits={"memory": -5}), f"{at}.limits[memory]",
             f"{at}.limits[memory]", '"-5" must be greater than or equal to 0'),
        Case(f"{where}-requests-names", _resources(where, {"cpu": 1, "gpu": 1}), f"{at}.requests", f"{at}.requests",
             f'"gpu" {NAME_MESSAGE}'),
        Case(f"{where}-limits-names", _resources(where, limits={"gpu": 1}), f"{at}.limits", f"{at}.limits",
             f'"gpu" {NAME_MESSAGE}'),
        Case(f"{where}-extended-limits-whole", _resources(where, limits={"nvidia.com/gpu": "500m"}), f"{at}.limits",
             f"{at}.limits", 'nvidia.com/gpu "500m" must be an integer (an extended resource comes in whole units)'),
        Case(f"{where}-requests-within-limits", _resources(where, {"cpu": "2", "memory": "1Gi"}, {"cpu": 1}),
             f"{at}.requests", f"{at}.requests", 'cpu request "2" must be less than or equal to its limit "1"'),
        Case(f"{where}-requests-within-limits", _resources(where, {"cpu": 2.5}, {"cpu": 2}), f"{at}.requests",
             f"{at}.requests", 'cpu request "2.5" must be less than or equal to its limit "2"'),  # numbers, as in a Pod
        Case(f"{where}-extended-requests-equal-limits", _resources(where, {"nvidia.com/gpu": 1}), f"{at}.requests",
             f"{at}.requests", "nvidia.com/gpu is an extended resource: its limit must be set and equal to its "
             "request (it is never overcommitted)"),
    )


def _mount(items: str, path: str) -> Callable[[dict[str, Any]], None]:
    """A user volume mounted at `path` through the pod template list at `items` (under spec)."""
    def mutate(doc: dict[str, Any]) -> None:
        node = doc["spec"]
        *parents, leaf = items.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = [{"name": "creds", "mountPath": path}]
        node["volumes"] = [{"name": "creds", "secret": {"secretName": "x"}}]
    return mutate


_MOUNT_LISTS = (("stage-pods", "podTemplate.volumeMounts", "/tmp"),
                ("serving-pods", "serving.podTemplate.volumeMounts", "/models"),
                *((f"{stage}-pods", f"podTemplate.stages.{stage}.volumeMounts", path) for stage, path in (
                    ("tune", "/etc/modelops/stage"), ("train", "/etc/modelops/stage/extra"), ("validate", "/tmp/"),
                    ("evaluate", "/tmp"), ("prune", "/models/"))))

CASES = (
    *CASES,
    *_resource_cases("training"),
    *_resource_cases("serving"),
    Case("storage-mount-path-free", _set("spec.storage.mountPath", "/tmp"), "spec.storage.mountPath",
         "spec.storage.mountPath", f'"/tmp" is where the operator mounts its own volumes ({OURS}); use another path '
         "such as /models"),
    *(Case(f"{where}-volume-mounts-free", _mount(items, path), f"spec.{items}[0].mountPath", f"spec.{items}",
           f'"{path}" is already mounted by the operator ({OURS_BY_LIST.get(items, STAGE_OURS)}, and the model volume '
           "at spec.storage.mountPath)")
      for where, items, path in _MOUNT_LISTS),
)
