"""The operator on the real control plane: RBAC, restart without duplicates, rejected candidates,
garbage collection, and an invalid spec refused at admission (or, stored under an older CRD, reported on
the resource)."""

from __future__ import annotations

import json

import pytest
from kube.harness import (
    OPERATOR_USER,
    events_of,
    jobs_of,
    mdep_path,
    model_deployment,
    wait_status,
    write_datasets,
)
from support.controlplane import REPO_ROOT
from support.job_recorder import JobRecorder
from support.kuberest import ApiError
from support.kubetest import new_namespace, wait_gone
from support.podrunner.volumes import pvc_dir
from support.processes import wait_until

from modelops.api.crd import crd_document

pytestmark = pytest.mark.cluster


def can_i(control_plane, verb: str, resource: str, group: str = "", namespace: str = "default") -> bool:
    """SubjectAccessReview for the operator's ServiceAccount (what `kubectl auth can-i --as` asks)."""
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": OPERATOR_USER, "groups": ["system:serviceaccounts",
                                                         "system:serviceaccounts:modelops-system"],
                       "resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                              "namespace": namespace}}}
    answer = control_plane.rest.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
    return bool(answer["status"].get("allowed"))


def test_operator_service_account_has_what_it_needs_and_nothing_more(control_plane, operator_kubeconfig) -> None:
    assert can_i(control_plane, "create", "jobs", "batch")
    assert can_i(control_plane, "patch", "modeldeployments/status", "modelops.dev")
    assert can_i(control_plane, "create", "events")
    assert can_i(control_plane, "patch", "horizontalpodautoscalers", "autoscaling")
    assert can_i(control_plane, "delete", "poddisruptionbudgets", "policy")
    assert not can_i(control_plane, "get", "secrets")
    assert not can_i(control_plane, "create", "pods")
    assert not can_i(control_plane, "delete", "modeldeployments", "modelops.dev")
    assert not can_i(control_plane, "update", "modeldeployments", "modelops.dev")
    # and through impersonation, a real request is refused
    api = control_plane.api_client(as_user=OPERATOR_USER)
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(api).list_namespaced_secret("default")
    assert refused.value.status == 403


def _without_cel_rules(node: object) -> object:
    """The CRD as a release without admission rules had it."""
    if isinstance(node, dict):
        return {k: _without_cel_rules(v) for k, v in node.items() if k != "x-kubernetes-validations"}
    if isinstance(node, list):
        return [_without_cel_rules(v) for v in node]
    return node


def test_invalid_spec_is_refused_at_admission_and_reported_if_stored_anyway(control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "invalid")
    start_operator(namespace)
    doc = model_deployment("bad", namespace)
    # a gate on a metric the task lacks: valid types, inconsistent spec
    doc["spec"]["validation"]["gates"] = [{"metric": "rmse", "max": 1.0}]
    with pytest.raises(ApiError) as refused:
        rest.post(mdep_path(namespace), doc)
    assert refused.value.status == 422 and "spec.validation.gates" in str(refused.value)

    # A resource stored under an older CRD (no CEL rules) still gets InvalidSpec from the operator.
    control_plane.apply_manifest([_without_cel_rules(crd_document())])
    try:
        rest.post(mdep_path(namespace), doc)
    finally:
        control_plane.apply_manifest(REPO_ROOT / "manifests" / "crd.yaml")
    status = wait_status(rest, namespace, "bad", lambda s: s.get("phase") == "Failed", 60, "phase Failed")
    assert "spec.validation.gates[0].metric" in status["message"]
    assert "InvalidSpec" in {e["reason"] for e in events_of(rest, namespace, "bad")}
    assert jobs_of(rest, namespace, "bad") == []


@pytest.mark.slow
def test_restart_resumes_without_duplicates_rejects_bad_candidate_and_gc_deletes_children(
        control_plane, pod_runner, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "restart")
    data = pvc_dir(pod_runner.root, namespace, "models") / "datasets"
    write_datasets(data)
    write_datasets(data, names=("noisy",), noise=0.5, seed=99)
    recorder = JobRecorder(rest, namespace)
    first = start_operator(namespace)
    rest.post(mdep_path(namespace), model_deployment("churn", namespace))

    # killed while training, restarted: it adopts the Job instead of creating another. Counted by UID from
    # a watch: a same-named Job deleted and made again (the name is deterministic, a second create of it
    # would get 409) is a second UID.
    wait_until(lambda: jobs_of(rest, namespace, "churn"), 60, 0.1, "the training Job")
    first.process.stop(grace_seconds=0)
    start_operator(namespace)
    try:
        status = wait_status(rest, namespace, "churn", lambda s: s.get("servingVersion") == 1, 300, "v1 serving")
        wait_until(lambda: "validate-v1" in recorder.uids, 10, 0.1, "the watch to see the validation Job")
    finally:
        recorder.stop()
    assert {"train-v1", "validate-v1"} <= set(recorder.uids)
    assert {stage_id: uids for stage_id, uids in recorder.uids.items() if len(uids) > 1} == {}
    assert status["versions"][0]["state"] == "Serving"

    # a candidate trained on noise fails its gate: it is Rejected and v1 keeps serving
    rest.patch(mdep_path(namespace, "churn"),
               {"spec": {"training": {"dataset": {"uri": "/models/datasets/noisy.csv"}}}},
               content_type="application/merge-patch+json")
    status = wait_status(rest, namespace, "churn", lambda s: any(
        r["version"] == 2 and r["state"] == "Rejected" for r in s.get("versions", [])), 300, "v2 rejected")
    assert status["servingVersion"] == 1
    deployment = rest.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/churn")
    assert deployment["metadata"]["labels"]["modelops.dev/version"] == "1"
    rejected = [e for e in events_of(rest, namespace, "churn") if e["reason"] == "CandidateRejected"]
    assert rejected and rejected[0]["type"] == "Warning"
    gates = next(r for r in status["versions"] if r["version"] == 2).get("gates") or []
    assert any(not g.get("passed") for g in gates), json.dumps(gates)

    # deleting the ModelDeployment garbage-collects every child
    rest.delete(mdep_path(namespace, "churn"))
    wait_gone(rest, mdep_path(namespace, "churn"), 30, "the ModelDeployment")

    def no_children() -> bool:
        selector = "modelops.dev/deployment=churn"
        paths = (f"/apis/batch/v1/namespaces/{namespace}/jobs", f"/apis/apps/v1/namespaces/{namespace}/deployments",
                 f"/api/v1/namespaces/{namespace}/services", f"/api/v1/namespaces/{namespace}/configmaps")
        return all(not rest.get(path, labelSelector=selector)["items"] for path in paths)

    wait_until(no_children, 90, 0.5, "garbage collection of every child")
