"""The whole loop on the real control plane, driven by the real operator under its RBAC:

apply → training Job → validation → TF Serving Deployment pinned to v1 + Service → scheduled evaluation →
data shift → Degraded → retraining Job (no retraining dataset: it learns from the training data plus the
monitoring data that showed the problem) → v2 validated and beats v1 on that data → v2 as a canary beside
v1 → the canary's evaluation promotes it → v2's evaluation passes the rule: healed with one retrain. Each
serving child, deleted, comes back. Then a serving-only edit (no retraining) and a pinnedVersion rollback
to v1. Printer columns and Events are checked on the way.

The serving pods run `modelops serve` in place of tensorflow_model_server, enforcing TF Serving's label
rules (a label on a not-yet-loaded version only with --allow_version_labels_for_unavailable_models, a
label never moved to one): every rollout here is one a real TF Serving pod would accept, because each
pinned version gets its own immutable ConfigMap and pods roll onto it.
"""

from __future__ import annotations

import pytest
from kube.harness import (
    events_of,
    jobs_of,
    mdep_path,
    model_deployment,
    printer_row,
    status_of,
    wait_status,
    write_datasets,
)
from support.kubetest import new_namespace
from support.podrunner.volumes import pvc_dir
from support.processes import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
NAME = "churn"


def serving_deployment(rest, namespace: str) -> dict:
    return rest.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{NAME}")


def pinned_version(rest, namespace: str) -> str:
    return serving_deployment(rest, namespace)["spec"]["template"]["metadata"]["labels"]["modelops.dev/version"]


def mounted_config_map(rest, namespace: str, deployment: str = NAME) -> dict:
    """The serving ConfigMap a serving Deployment's pods mount."""
    template = rest.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}")["spec"]["template"]
    (volume,) = [v for v in template["spec"]["volumes"] if v["name"] == "serving-config"]
    return rest.get(f"/api/v1/namespaces/{namespace}/configmaps/{volume['configMap']['name']}")


def serving_config_maps(rest, namespace: str) -> set[str]:
    items = rest.get(f"/api/v1/namespaces/{namespace}/configmaps", labelSelector="modelops.dev/stage=serve")["items"]
    return {c["metadata"]["name"] for c in items}


def test_full_loop_train_validate_serve_evaluate_degrade_retrain_switch_then_edit_and_pin(
        control_plane, pod_runner, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "e2e")
    data = pvc_dir(pod_runner.root, namespace, "models") / "datasets"
    write_datasets(data)
    operator = start_operator(namespace)
    doc = model_deployment(NAME, namespace, **{
        "monitoring": {"interval": "5s", "dataset": {"uri": "/models/datasets/live.csv"},
                       "degradation": [{"metric": "accuracy", "min": 0.7}],
                       "drift": {"metric": "psi", "threshold": 0.25}, "onDegradation": "Retrain"},
        "retraining": {"maxAttempts": 2, "cooldown": "1s"},
        "serving": {"replicas": 1, "canary": {"enabled": True, "replicas": 1}},
    })
    rest.post(mdep_path(namespace), doc)

    # 1. training Job, then validation, then serving pinned to v1
    wait_status(rest, namespace, NAME, lambda s: s.get("phase") == "Training", 60, "phase Training")
    wait_until(lambda: jobs_of(rest, namespace, NAME), 60, 0.25, "the training Job")  # created after the status
    assert [j["metadata"]["name"] for j in jobs_of(rest, namespace, NAME)] == [f"{NAME}-train-v1"]
    assert printer_row(rest, namespace, NAME)["Phase"] == "Training"
    status = wait_status(rest, namespace, NAME, lambda s: s.get("servingVersion") == 1, 300, "v1 serving")
    assert status["versions"][0]["state"] == "Serving" and status["versions"][0]["gates"]
    assert pinned_version(rest, namespace) == "1"
    service = rest.get(f"/api/v1/namespaces/{namespace}/services/{NAME}")
    assert {p["port"] for p in service["spec"]["ports"]} == {8500, 8501}
    v1_config = mounted_config_map(rest, namespace)
    assert v1_config["immutable"] is True
    assert "versions: 1" in v1_config["data"]["models.config"] and "stable" in v1_config["data"]["models.config"]
    row = printer_row(rest, namespace, NAME)
    assert row["Serving"] == 1 and str(row["Metric"]).startswith("accuracy=")
    reasons = {e["reason"] for e in events_of(rest, namespace, NAME)}
    assert {"Trained", "Validated", "VersionServing"} <= reasons, reasons

    # 2. a scheduled evaluation of v1 on unshifted live data: healthy
    wait_status(rest, namespace, NAME, lambda s: (s.get("lastEvaluation") or {}).get("version") == 1
                and not (s.get("lastEvaluation") or {}).get("degraded"), 180, "a healthy evaluation of v1")
    assert any(j["metadata"]["name"].startswith(f"{NAME}-evaluate-v1-") for j in jobs_of(rest, namespace, NAME))

    # 3. the world shifts: live data drifts, retraining/validation data follow the new distribution
    write_datasets(data, shift=2.0, names=("live", "recent", "validation"), seed=50)
    wait_status(rest, namespace, NAME, lambda s: any(r.get("trigger") == "Degradation"
                                                     for r in s.get("versions", [])), 180, "degradation retrain")
    # the operator persists its decision before it creates the Job: wait for the Job, do not race it
    wait_until(lambda: f"{NAME}-train-v2" in {j["metadata"]["name"] for j in jobs_of(rest, namespace, NAME)},
               60, 0.25, "the retraining Job")
    assert "ModelDegraded" in {e["reason"] for e in events_of(rest, namespace, NAME)}
    # 3a. v2 first serves as a canary in its own pods (label "canary" on a version those pods load fresh)
    #     while v1 keeps its pods and its unchanged ConfigMap; the canary's evaluation promotes it
    wait_status(rest, namespace, NAME, lambda s: (s.get("rollout") or {}).get("canary") == 2, 300, "v2 canary")
    # the decision is persisted before the objects are made: wait for the canary's Deployment, not race it
    wait_until(lambda: rest.get_or_none(f"/apis/apps/v1/namespaces/{namespace}/deployments/{NAME}-canary"),
               60, 0.1, "the canary Deployment")
    canary_config = mounted_config_map(rest, namespace, f"{NAME}-canary")
    assert "canary" in canary_config["data"]["models.config"] and canary_config["immutable"] is True
    assert pinned_version(rest, namespace) == "1"
    assert rest.get(f"/api/v1/namespaces/{namespace}/configmaps/{v1_config['metadata']['name']}")["data"] \
        == v1_config["data"]
    status = wait_status(rest, namespace, NAME, lambda s: s.get("servingVersion") == 2, 300, "v2 serving")
    assert pinned_version(rest, namespace) == "2"
    # promoted: the stable pods rolled onto v2's own ConfigMap; v1's and the canary's are gone once rolled out
    v2_config = mounted_config_map(rest, namespace)
    assert v2_config["metadata"]["name"] != v1_config["metadata"]["name"]
    wait_until(lambda: serving_config_maps(rest, namespace) == {v2_config["metadata"]["name"]}, 120, 0.5,
               "only v2's serving ConfigMap left")
    assert rest.get_or_none(f"/apis/apps/v1/namespaces/{namespace}/deployments/{NAME}-canary") is None
    records = {r["version"]: r["state"] for r in status["versions"]}
    assert records[1] == "Retired" and records[2] == "Serving"
    v2 = status["versions"][1]
    assert [d["role"] for d in v2["lineage"]["data"]] == ["training", "monitoring"]
    assert v2["challenge"]["passed"] and v2["challenge"]["candidate"] > v2["challenge"]["serving"]
    assert 'modelops_deployment_phase{name="churn"' in operator.metrics()
    # the canary's healthy evaluation promoted v2; the next one, of v2 as the stable version, closes the episode
    healed = wait_status(rest, namespace, NAME, lambda s: (s.get("lastEvaluation") or {}).get("version") == 2
                         and not s["lastEvaluation"].get("degraded") and s.get("retrain") == {"attempts": 0},
                         180, "a healthy evaluation of v2 closing the retrain episode")
    assert len(healed["versions"]) == 2  # one retrain, not maxAttempts

    # 3b. level-triggered serving: each serving child someone deletes is re-created
    for path in (f"/api/v1/namespaces/{namespace}/services/{NAME}",
                 f"/api/v1/namespaces/{namespace}/configmaps/{v2_config['metadata']['name']}",
                 f"/apis/apps/v1/namespaces/{namespace}/deployments/{NAME}"):
        uid = rest.get(path)["metadata"]["uid"]
        rest.delete(path)
        wait_until(lambda p=path, u=uid: (rest.get_or_none(p) or {}).get("metadata", {}).get("uid") not in (None, u),
                   90, 0.25, f"{path} re-created")
    assert pinned_version(rest, namespace) == "2"
    wait_status(rest, namespace, NAME, lambda s: s.get("servingReady") and s.get("phase") == "Serving", 180,
                "serving ready again")
    assert "ServingRepaired" in {e["reason"] for e in events_of(rest, namespace, NAME)}

    # 4. serving-only edit: slower evaluations and 2 replicas re-apply serving, never retrain
    jobs_before = {j["metadata"]["name"] for j in jobs_of(rest, namespace, NAME) if "-train-" in j["metadata"]["name"]}
    rest.patch(mdep_path(namespace, NAME), {"spec": {"serving": {"replicas": 2}, "monitoring": {"interval": "1h"}}},
               content_type="application/merge-patch+json")
    wait_status(rest, namespace, NAME, lambda s: s.get("observedGeneration") == 2, 60, "generation 2 observed")
    wait_until(lambda: serving_deployment(rest, namespace)["spec"]["replicas"] == 2, 60, 0.25, "2 replicas")
    jobs_after = {j["metadata"]["name"] for j in jobs_of(rest, namespace, NAME) if "-train-" in j["metadata"]["name"]}
    assert jobs_after == jobs_before
    assert status_of(rest, namespace, NAME)["servingVersion"] == 2

    # 5. pinnedVersion rolls back to v1
    rest.patch(mdep_path(namespace, NAME), {"spec": {"serving": {"pinnedVersion": 1}}},
               content_type="application/merge-patch+json")
    wait_status(rest, namespace, NAME, lambda s: s.get("servingVersion") == 1, 180, "rollback to v1")
    assert pinned_version(rest, namespace) == "1"
    assert not [j for j in jobs_of(rest, namespace, NAME) if j["metadata"]["name"] == f"{NAME}-train-v3"]
