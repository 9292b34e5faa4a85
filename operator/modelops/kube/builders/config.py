"""ConfigMaps: the TF Serving model/monitoring config per track (and where a stage's worker config is mounted).

Serving config text comes from modelops.serving.config (built from the TF Serving protos), so the
tensorflow/serving image and `modelops serve` read identical files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.contract.layout import deployment_dir
from modelops.kube.builders.common import (
    CONFIG_HASH_ANNOTATION,
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
