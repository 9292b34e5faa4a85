"""Pure tests of the serving resilience objects: autoscalers, the disruption budget, spread, shutdown."""

from __future__ import annotations

import copy

import pytest
from test_builders import OWNER, assert_child_contract, sample_spec

from modelops.api.spec_schema import SERVING
from modelops.kube.builders.resilience import PRESTOP_SLEEP_SECONDS, canary_replica_range, serving_policies
from modelops.kube.builders.serving import build_serving_deployment


def autoscaled(min_replicas: int = 2, max_replicas: int = 6, **extra: object) -> dict:
    spec = copy.deepcopy(sample_spec())
    spec["serving"]["autoscaling"].update(enabled=True, minReplicas=min_replicas, maxReplicas=max_replicas, **extra)
    return spec


def by_kind(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_fixed_single_replica_gets_neither_autoscaler_nor_budget() -> None:
    spec = copy.deepcopy(sample_spec())
    spec["serving"]["replicas"] = 1
    desired, stale = serving_policies(OWNER, spec, canary=True)
    assert desired == []
    assert set(stale) == {("HorizontalPodAutoscaler", "churn"), ("HorizontalPodAutoscaler", "churn-canary"),
                          ("PodDisruptionBudget", "churn")}
    assert build_serving_deployment(OWNER, spec, "stable", 1)["spec"]["replicas"] == 1


def test_more_than_one_stable_replica_gets_a_budget_on_the_stable_pods_only() -> None:
    spec = sample_spec()  # replicas: 2
    desired, _ = serving_policies(OWNER, spec, canary=False)
    (budget,) = desired
    assert_child_contract(budget, "serve")
    assert budget["kind"] == "PodDisruptionBudget" and budget["spec"]["maxUnavailable"] == 1
    pod_labels = build_serving_deployment(OWNER, spec, "stable", 3)["spec"]["template"]["metadata"]["labels"]
    canary_labels = build_serving_deployment(OWNER, spec, "canary", 4)["spec"]["template"]["metadata"]["labels"]
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items() and not selector.items() <= canary_labels.items()


def test_autoscaled_stable_track_leaves_replicas_to_the_hpa() -> None:
    spec = autoscaled(podsMetric={"name": "requests_in_flight", "averageValue": "8"})
    objects = by_kind(serving_policies(OWNER, spec, canary=False)[0])
    hpa = objects[("HorizontalPodAutoscaler", "churn")]
    assert_child_contract(hpa, "serve")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "churn"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    cpu, pods = hpa["spec"]["metrics"]
    assert cpu["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert pods["pods"] == {"metric": {"name": "requests_in_flight"},
                            "target": {"type": "AverageValue", "averageValue": "8"}}
    assert ("PodDisruptionBudget", "churn") in objects
    assert "replicas" not in build_serving_deployment(OWNER, spec, "stable", 1)["spec"]


@pytest.mark.parametrize(("low", "high", "canary", "expected"), [(2, 6, 1, (1, 3)), (4, 10, 1, (1, 3)),
                                                                 (1, 1, 2, (2, 2)), (3, 9, 2, (2, 6))])
def test_canary_bounds_keep_its_traffic_share(low: int, high: int, canary: int, expected: tuple[int, int]) -> None:
    spec = autoscaled(low, high)
    spec["serving"]["canary"]["replicas"] = canary
    assert canary_replica_range(spec) == expected
    # Scaling both tracks by the same factor keeps canary / (stable + canary) within a rounding step.
    share_low, share_high = canary / (canary + low), expected[1] / (expected[1] + high)
    assert share_high >= share_low - 1 / (high + expected[1])
    hpa = by_kind(serving_policies(OWNER, spec, canary=True)[0])[("HorizontalPodAutoscaler", "churn-canary")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "churn-canary"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == expected


def test_serving_pods_spread_over_nodes_and_drain_before_they_stop() -> None:
    spec = sample_spec()
    pod = build_serving_deployment(OWNER, spec, "stable", 1)["spec"]["template"]
    constraints = {c["topologyKey"]: c for c in pod["spec"]["topologySpreadConstraints"]}
    node = constraints["kubernetes.io/hostname"]
    assert node["whenUnsatisfiable"] == "ScheduleAnyway"  # a one-node cluster still schedules
    assert node["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["lifecycle"]["preStop"] == {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace == spec["serving"]["terminationGracePeriodSeconds"] == 45
    # Whatever a user sets, TF Serving keeps time to drain after the preStop pause.
    assert SERVING.properties["terminationGracePeriodSeconds"].minimum >= PRESTOP_SLEEP_SECONDS + 5
