"""ConfigMaps: the per-stage worker config, and the TF Serving model/monitoring config per track.

Serving config text comes from modelops.serving.config (built from the TF Serving protos), so the
tensorflow/serving image and `modelops serve` read identical files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelops.contract.layout import deployment_dir
from modelops.kube.builders.common import (
    CONFIG_HASH_ANNOTATION,
    STAGE_ID_LABEL,
    TRACK_LABEL,
    Owner,
    child_name,
    content_hash,
    labels,
    metadata,
)
from modelops.serving.config import ServedModel, render_model_config, render_monitoring_config

STAGE_CONFIG_KEY = "config.json"
STAGE_CONFIG_DIR = "/etc/modelops/stage"
SERVING_CONFIG_DIR = "/etc/modelops/serving"
MODELS_CONFIG_KEY = "models.config"
MONITORING_CONFIG_KEY = "monitoring.config"
TRACKS = ("stable", "canary")


def stage_config_map_name(owner: Owner, stage_id: str) -> str:
    """Same name as the stage's Job: one look-up finds both."""
    return child_name(owner.name, stage_id)


def build_stage_config_map(owner: Owner, stage: str, version: int, stage_id: str,
                           config: Mapping[str, Any]) -> dict[str, Any]:
    """The worker's `--config` file for one stage run, as a ConfigMap owned by the ModelDeployment."""
    object_labels = labels(owner, stage, version, **{STAGE_ID_LABEL: stage_id})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, stage_config_map_name(owner, stage_id), object_labels),
        "data": {STAGE_CONFIG_KEY: json.dumps(dict(config), indent=2, sort_keys=True)},
    }


def serving_object_name(owner: Owner, track: str) -> str:
    """`<name>` for the stable track, `<name>-canary` for the canary (Deployment and Service)."""
    if track not in TRACKS:
        raise ValueError(f"track: expected one of {TRACKS}, got {track!r}")
    return owner.name if track == "stable" else child_name(owner.name, "canary")


def serving_config_map_name(owner: Owner, track: str) -> str:
    return child_name(serving_object_name(owner, track), "serving")


def model_base_path(owner: Owner, spec: Mapping[str, Any]) -> str:
    """Where this deployment's numbered versions live inside the pods."""
    return deployment_dir(spec["storage"]["mountPath"], owner.namespace, owner.name)


def serving_config_data(owner: Owner, spec: Mapping[str, Any], track: str, version: int) -> dict[str, str]:
    """models.config pinned to exactly `version`, labelled with the track name, plus monitoring."""
    served = ServedModel(owner.name, model_base_path(owner, spec), (version,), {track: version})
    return {
        MODELS_CONFIG_KEY: render_model_config([served]),
        MONITORING_CONFIG_KEY: render_monitoring_config(),
    }


def build_serving_config_map(owner: Owner, spec: Mapping[str, Any], track: str, version: int) -> dict[str, Any]:
    data = serving_config_data(owner, spec, track, version)
    object_labels = labels(owner, "serve", version, **{TRACK_LABEL: track})
    annotations = {CONFIG_HASH_ANNOTATION: content_hash(data)}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, serving_config_map_name(owner, track), object_labels, annotations),
        "data": data,
    }
