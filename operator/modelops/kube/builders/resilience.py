"""What keeps serving up under load and through node drains: autoscalers, a disruption budget, spreading
and graceful shutdown.

Traffic share: the Service `<name>` spreads requests over every serving pod, so a canary's share is
canary / (stable + canary) pods. Each track gets its own HorizontalPodAutoscaler with the SAME targets;
every pod sees the same per-pod load, so both autoscalers scale by the same factor and the share holds.
The canary's bounds are the stable bounds scaled by canary.replicas / minReplicas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from modelops.kube.builders.common import TRACK_LABEL, Owner, labels, metadata, serving_selector
from modelops.kube.builders.config import serving_object_name

# The pod keeps serving this long after deletion starts, while endpoints (kube-proxy, ingress, service
# meshes) stop sending it new requests; only then does TF Serving get SIGTERM and drain in-flight ones.
PRESTOP_SLEEP_SECONDS = 10
HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"


def autoscaling_enabled(spec: Mapping[str, Any]) -> bool:
    return bool((spec["serving"].get("autoscaling") or {}).get("enabled"))


def stable_replica_range(spec: Mapping[str, Any]) -> tuple[int, int]:
    """(fewest, most) stable replicas: the autoscaler's bounds, or the fixed replica count twice."""
    serving = spec["serving"]
    if autoscaling_enabled(spec):
        return int(serving["autoscaling"]["minReplicas"]), int(serving["autoscaling"]["maxReplicas"])
    return int(serving["replicas"]), int(serving["replicas"])


def canary_replica_range(spec: Mapping[str, Any]) -> tuple[int, int]:
    """The canary's bounds, proportional to the stable ones so its traffic share stays the same."""
    low, high = stable_replica_range(spec)
    canary = int(spec["serving"]["canary"]["replicas"])
    return canary, max(canary, math.ceil(canary * high / low))


def autoscaler_name(owner: Owner, track: str) -> str:
    return serving_object_name(owner, track)


def build_autoscaler(owner: Owner, spec: Mapping[str, Any], track: str) -> dict[str, Any]:
    """autoscaling/v2 HPA on the track's Deployment: CPU utilization, plus an optional pods metric."""
    scaling = spec["serving"]["autoscaling"]
    low, high = stable_replica_range(spec) if track == "stable" else canary_replica_range(spec)
    metrics: list[dict[str, Any]] = [{
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization",
                                               "averageUtilization": int(scaling["targetCPUUtilizationPercentage"])}},
    }]
    if scaling.get("podsMetric"):
        metrics.append({"type": "Pods", "pods": {
            "metric": {"name": scaling["podsMetric"]["name"]},
            "target": {"type": "AverageValue", "averageValue": str(scaling["podsMetric"]["averageValue"])},
        }})
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(owner, autoscaler_name(owner, track), labels(owner, "serve", **{TRACK_LABEL: track})),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                               "name": serving_object_name(owner, track)},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": metrics,
            # Scale down slowly: a model server's warm-up (loading, first requests) is not free.
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                       "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
        },
    }


def disruption_budget_name(owner: Owner) -> str:
    return serving_object_name(owner, "stable")


def wants_disruption_budget(spec: Mapping[str, Any]) -> bool:
    """Only when the stable track can have more than one replica: a budget on a single pod would
    either block every node drain (minAvailable 1) or protect nothing."""
    return stable_replica_range(spec)[1] > 1


def build_disruption_budget(owner: Owner) -> dict[str, Any]:
    """At most one stable pod voluntarily disrupted at a time; works for any replica count the HPA picks."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(owner, disruption_budget_name(owner), labels(owner, "serve", **{TRACK_LABEL: "stable"})),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": serving_selector(owner, "stable")},
            # Pods that never became ready (a broken version) may still be evicted.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def serving_policies(owner: Owner, spec: Mapping[str, Any], canary: bool) -> tuple[list[dict[str, Any]],
                                                                                    list[tuple[str, str]]]:
    """(objects to apply, (kind, name) to delete) for the autoscalers and the disruption budget."""
    desired: list[dict[str, Any]] = []
    stale: list[tuple[str, str]] = []
    for track, active in (("stable", True), ("canary", canary)):
        if active and autoscaling_enabled(spec):
            desired.append(build_autoscaler(owner, spec, track))
        else:
            stale.append(("HorizontalPodAutoscaler", autoscaler_name(owner, track)))
    if wants_disruption_budget(spec):
        desired.append(build_disruption_budget(owner))
    else:
        stale.append(("PodDisruptionBudget", disruption_budget_name(owner)))
    return desired, stale


def pod_resilience(owner: Owner, spec: Mapping[str, Any], track: str) -> dict[str, Any]:
    """Pod-spec fields: spread over nodes (and zones) by default, and time to drain on shutdown."""
    selector = {"matchLabels": serving_selector(owner, track)}
    return {
        "terminationGracePeriodSeconds": int(spec["serving"]["terminationGracePeriodSeconds"]),
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector,
             "matchLabelKeys": ["pod-template-hash"]}
            for key in (HOSTNAME_KEY, ZONE_KEY)
        ],
    }


def container_lifecycle() -> dict[str, Any]:
    """preStop pause (no shell needed: the kubelet's own sleep action) before SIGTERM reaches TF Serving."""
    return {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}}
