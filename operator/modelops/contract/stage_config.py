"""The worker config both runtimes hand to `<command> <stage> --config FILE`, and that command.

One builder, so a stage behaves the same in a Job and in a local process; the worker's typed loader
(`modelops.workloads.config`) reads exactly these keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

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


def stage_command(spec: Mapping[str, Any], stage: str, config_path: str,
                  default: Sequence[str] = DEFAULT_COMMAND) -> list[str]:
    """The worker's argv: `spec.training.command` (user code following this contract) or `default`,
    with the stage name and `--config` appended, identically in a Job and a local process."""
    base = list(spec["training"].get("command") or default)
    return [*base, stage, "--config", config_path]


def training_workers(spec: Mapping[str, Any]) -> int:
    """How many processes run a train stage (`spec.training.workers`, default 1)."""
    return int(spec["training"].get("workers") or 1)


def stage_workers(spec: Mapping[str, Any], stage: str) -> int:
    """Members of a stage's gang: only training runs wider than one process."""
    return training_workers(spec) if stage == "train" else 1


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
    if action.stage == "train":
        config["model"] = dict(spec["training"]["model"])
        config["hyperparameters"] = dict(spec["training"]["hyperparameters"])
        if action.extra_datasets:
            config["extraDatasets"] = [dict(d) for d in action.extra_datasets]
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
    return config
