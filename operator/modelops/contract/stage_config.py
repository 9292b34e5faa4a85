"""The worker config both runtimes hand to `<command> <stage> --config FILE`, and that command.

One builder, so a stage behaves the same in a Job and in a local process; the worker's typed loader
(`modelops.workloads.config.stage`) reads exactly these keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from modelops.api.spec_view import view
from modelops.contract.layout import deployment_dir

DEFAULT_RESULT_PATH = "/dev/termination-log"
DEFAULT_COMMAND = ("modelops", "worker")


class StageRequest(Protocol):
    """What the lifecycle core asks to run (its StartStage action has these attributes)."""

    @property
    def stage(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def dataset(self) -> Mapping[str, Any]: ...
    @property
    def baseline_version(self) -> int | None: ...
    @property
    def challenge_dataset(self) -> Mapping[str, Any] | None: ...
    @property
    def extra_datasets(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def fingerprint(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def hyperparameters(self) -> Mapping[str, Any] | None: ...
    @property
    def tuned_by(self) -> int | None: ...


# The stages a custom trainer (`spec.training.command`) runs: it makes models, so it trains them and, when
# tuning is on, searches them. Validate, evaluate and prune judge or remove whatever SavedModel it published
# and always run our worker, so a custom trainer implements training and nothing else.
USER_COMMAND_STAGES = frozenset({"train", "tune"})


def stage_command(spec: Mapping[str, Any], stage: str, config_path: str,
                  default: Sequence[str] = DEFAULT_COMMAND) -> list[str]:
    """The worker's argv: `spec.training.command` for the stages a custom trainer owns, else `default`,
    with the stage name and `--config` appended, identically in a Job and a local process."""
    user = spec["training"].get("command") if stage in USER_COMMAND_STAGES else None
    return [*(user or default), stage, "--config", config_path]


def training_workers(spec: Mapping[str, Any]) -> int:
    """How many processes run a train stage (`spec.training.workers`, default 1)."""
    return view(spec).training.workers


def tuning_members(spec: Mapping[str, Any]) -> int:
    """Processes of a tune stage: one that searches alone, or KerasTuner's chief plus `parallelism` workers."""
    parallelism = view(spec).tuning.parallelism
    return 1 if parallelism <= 1 else parallelism + 1


def stage_workers(spec: Mapping[str, Any], stage: str) -> int:
    """Members of a stage's gang: training and tuning may run wider than one process."""
    if stage == "train":
        return training_workers(spec)
    return tuning_members(spec) if stage == "tune" else 1


def gang_port(spec: Mapping[str, Any], stage: str) -> int:
    """The port gang members listen on: TensorFlow's collectives for train, KerasTuner's oracle for tune."""
    v = view(spec)
    return v.tuning.port if stage == "tune" else v.training.distribution_port


# The spec's names of the knobs a search chooses, and where in the worker config each one goes.
TUNED_MODEL_KEYS = ("hiddenLayers", "activation", "dropout")
TUNED_HYPERPARAMETER_KEYS = ("learningRate", "batchSize", "optimizer")
# A classifier's class order and positive class (spec.training): train and tune encode labels with them;
# later stages read them from the version.
CLASS_KEYS = ("classes", "positiveClass")
TUNED_MODULE_KEY = "moduleValues"  # what a user module's search chose (spec.training.model.module | path)


def selection_metric(spec: Mapping[str, Any]) -> str:
    """What picks a degradation retrain's data recipe: the first quality rule's metric, else the task's."""
    from modelops.api.metrics import PRIMARY_METRIC

    rules = view(spec).monitoring.degradation
    return str(rules[0]["metric"]) if rules else PRIMARY_METRIC[spec["task"]]


def build_stage_config(spec: Mapping[str, Any], namespace: str, name: str, action: StageRequest,
                       storage_root: str, *, endpoint: str | None = None, grpc_endpoint: str | None = None,
                       result_path: str = DEFAULT_RESULT_PATH) -> dict[str, Any]:
    deployment_dir(storage_root, namespace, name)  # refuses names that must not become paths
    config: dict[str, Any] = {
        "stage": action.stage,
        "task": spec["task"],
        "deployment": {"namespace": namespace, "name": name},
        "version": action.version,
        "storageRoot": storage_root,
        "dataset": dict(action.dataset),
        "resultPath": result_path,
    }
    if action.stage in ("train", "validate", "evaluate"):  # the data is checked against a version's schema
        config["schemaRules"] = dict(spec.get("schemaRules") or {})
    if action.stage in ("train", "tune"):
        chosen = dict(action.hyperparameters or {}) if action.stage == "train" else {}
        config["model"] = {**dict(spec["training"]["model"]),
                           **{k: v for k, v in chosen.items() if k in TUNED_MODEL_KEYS}}
        if chosen.get(TUNED_MODULE_KEY):  # a user module's own hp values, by the names its hp calls gave them
            config["model"]["values"] = dict(chosen[TUNED_MODULE_KEY])
        config["hyperparameters"] = {**dict(spec["training"]["hyperparameters"]),
                                     **{k: v for k, v in chosen.items() if k in TUNED_HYPERPARAMETER_KEYS}}
        config.update({k: spec["training"][k] for k in CLASS_KEYS if spec["training"].get(k) is not None})
        if action.extra_datasets:
            config["extraDatasets"] = [dict(d) for d in action.extra_datasets]
        recipes = view(spec).retraining.max_recipes
        if action.stage == "train" and recipes > 1 and any(d.get("holdout") for d in action.extra_datasets):
            config["recipes"] = {"count": recipes, "metric": selection_metric(spec)}
    if action.stage == "tune":
        config["tuning"] = {k: v for k, v in dict(spec["training"]["tuning"]).items() if k != "enabled"}
        config["tuning"]["members"] = tuning_members(spec)
    elif action.stage == "train":
        if chosen:
            config["tunedBy"] = action.tuned_by if action.tuned_by is not None else action.version
        if training_workers(spec) > 1:
            config["distribution"] = {**dict(spec["training"].get("distribution") or {}),
                                      "workers": training_workers(spec)}
    elif action.stage == "validate":
        config["baselineVersion"] = action.baseline_version
        if action.challenge_dataset:
            config["challengeDataset"] = dict(action.challenge_dataset)
    elif action.stage == "evaluate":
        if not endpoint:
            raise ValueError("an evaluate stage needs the serving endpoint")
        config["endpoint"] = endpoint
        if grpc_endpoint:  # TF Serving's gRPC API (host:port); evaluate prefers it, REST stays the fallback
            config["grpcEndpoint"] = grpc_endpoint
        if action.fingerprint:
            config["fingerprintDatasets"] = [dict(d) for d in action.fingerprint]
        drift = view(spec).monitoring.drift
        config["driftFloor"] = {"metric": drift.metric, "threshold": drift.threshold}
    return config
