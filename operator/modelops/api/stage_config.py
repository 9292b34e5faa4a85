"""The worker config both runtimes hand to `modelops worker <stage> --config FILE`.

One builder, so a stage behaves the same in a Job and in a local process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.lifecycle.model import StartStage

DEFAULT_RESULT_PATH = "/dev/termination-log"


def build_stage_config(spec: Mapping[str, Any], namespace: str, name: str, action: StartStage,
                       storage_root: str, *, endpoint: str | None = None, grpc_endpoint: str | None = None,
                       result_path: str = DEFAULT_RESULT_PATH) -> dict[str, Any]:
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
    elif action.stage == "validate":
        config["gates"] = [dict(g) for g in spec["validation"].get("gates", [])]
        config["baselineVersion"] = action.baseline_version
    elif action.stage == "evaluate":
        if not endpoint:
            raise ValueError("an evaluate stage needs the serving endpoint")
        config["endpoint"] = endpoint
        if grpc_endpoint:  # TF Serving's gRPC API (host:port); evaluate prefers it, REST stays the fallback
            config["grpcEndpoint"] = grpc_endpoint
    return config
