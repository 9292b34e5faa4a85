"""ConfigMaps: the TF Serving model/monitoring config, one immutable object per track and pinned version.

Serving config text comes from modelops.serving.config (built from the TF Serving protos), so the
tensorflow/serving image and `modelops serve` read identical files.

Why one ConfigMap per version, never edited: TF Serving assigns version labels BEFORE it loads models
and refuses a label whose version is not AVAILABLE; with `--allow_version_labels_for_unavailable_models`
it accepts a NEW label on a loading version but still never MOVES an existing label to one
(`ServerCore::UpdateModelVersionLabelMap`, tensorflow_serving/model_servers/server_core.cc). A running
server polling an edited file would be asked exactly that on every rollout. So each pinned version gets
its own ConfigMap (name = track, version and content hash; `immutable: true`), the Deployment's pod
template points at it, and pods roll onto the new object: no running server ever sees its label move.
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
CONFIG_HASH_CHARS = 8
SERVING_CONFIG_VOLUME = "serving-config"


def serving_object_name(owner: Owner, track: str) -> str:
    """`<name>` for the stable track, `<name>-canary` for the canary (Deployment and Service)."""
    if track not in TRACKS:
        raise ValueError(f"track: expected one of {TRACKS}, got {track!r}")
    return owner.name if track == "stable" else child_name(owner.name, "canary")


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


def serving_config_map_name(owner: Owner, track: str, version: int, data: Mapping[str, str]) -> str:
    """`<name>[-canary]-serving-v<N>-<hash>`: a new version or a new text (e.g. another mount path) is a
    new object, so an immutable ConfigMap is never asked to change."""
    digest = content_hash(dict(data))[:CONFIG_HASH_CHARS]
    return child_name(serving_object_name(owner, track), f"serving-v{version}-{digest}")


def build_serving_config_map(owner: Owner, spec: Mapping[str, Any], track: str, version: int) -> dict[str, Any]:
    data = serving_config_data(owner, spec, track, version)
    object_labels = labels(owner, "serve", version, **{TRACK_LABEL: track})
    annotations = {CONFIG_HASH_ANNOTATION: content_hash(data)}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, serving_config_map_name(owner, track, version, data), object_labels,
                             annotations),
        "immutable": True,
        "data": data,
    }


def referenced_config_map(deployment: Mapping[str, Any]) -> str | None:
    """The serving ConfigMap a serving Deployment's pod template mounts (None when it mounts none)."""
    volumes = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or []
    for volume in volumes:
        if volume.get("name") == SERVING_CONFIG_VOLUME:
            return (volume.get("configMap") or {}).get("name")
    return None

