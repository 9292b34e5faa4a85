"""Admission refuses what the API server would refuse later, and only that: for each resources / mount-path
case the Job or Deployment the operator would build from the spec is refused by the real API server too,
and a spec that uses what Kubernetes accepts (a dotted claim name, quantities as numbers or strings, a GPU
with its limit, hugepages, a mount of the user's own) is admitted and its children are created."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.admission_cases import CASES, base_document
from support.cluster_plugin import wait_for_policy
from support.controlplane import ControlPlane
from support.kuberest import MERGE, ApiError
from support.kubetest import new_namespace
from support.processes import wait_until

from modelops.api import parse_model_deployment
from modelops.api.admission_policy import DENIED, POLICY_NAME
from modelops.api.document import normalize_spec
from modelops.api.mount_rules import MOUNT_RULES
from modelops.api.resources_schema import RESOURCE_RULES
from modelops.kube.builders.common import Owner
from modelops.kube.builders.jobs import build_prune_job, build_stage_job
from modelops.kube.builders.pods import apply_pod_template
from modelops.kube.builders.serving import build_serving_deployment

pytestmark = pytest.mark.cluster
MDEP = "/apis/modelops.dev/v1alpha1/namespaces/{ns}/modeldeployments"
JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{ns}/deployments"
STAGE_CONFIG = {"stage": "train", "version": 1}

# Collisions the API server lets through (a mount inside a read-only config volume fails when the container
# starts; a trailing slash names the same directory twice): admission is stricter than the Job's validation.
ONLY_AT_START = {"train-pods-volume-mounts-free", "validate-pods-volume-mounts-free", "prune-pods-volume-mounts-free"}
CHILD_CASES = [case for case in CASES if case.rule in {rule.name for rule in (*RESOURCE_RULES, *MOUNT_RULES)}]


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> str:
    return new_namespace(control_plane.rest, "admission-children")


def _child(rule: str, spec: dict[str, Any], owner: Owner) -> tuple[str, dict[str, Any]]:
    """(collection path, object) the operator builds for the pods a rule is about."""
    if rule.startswith("serving"):
        return DEPLOYMENTS, _serving(owner, spec)
    if rule.startswith("prune-"):
        return JOBS, build_prune_job(owner, spec, 1)
    stage = rule.split("-")[0] if rule.split("-")[0] in ("tune", "validate", "evaluate") else "train"
    return JOBS, build_stage_job(owner, spec, stage, 1, f"{stage}-v1", config=STAGE_CONFIG)


def _serving(owner: Owner, spec: dict[str, Any]) -> dict[str, Any]:
    """The serving Deployment as kube/executor.py applies it: spec.serving.podTemplate laid on."""
    deployment = build_serving_deployment(owner, spec, "stable", 1)
    pod = deployment["spec"]["template"]["spec"]
    apply_pod_template(pod, pod["containers"][0], spec["serving"].get("podTemplate"))
    return deployment


@pytest.mark.parametrize("case", CHILD_CASES, ids=lambda c: c.rule)
def test_what_admission_refuses_the_api_server_refuses_in_the_child(case, control_plane: ControlPlane,
                                                                      namespace: str) -> None:
    doc = case.document(f"child-{CHILD_CASES.index(case)}", namespace)
    spec, errors = normalize_spec(doc["spec"])
    assert [e.split(":", 1)[0] for e in errors] == [case.field]
    collection, child = _child(case.rule, spec, Owner(doc["metadata"]["name"], namespace, "0-uid"))
    if case.rule in ONLY_AT_START:
        control_plane.rest.post(collection.format(ns=namespace), child)
        return
    with pytest.raises(ApiError) as refused:
        control_plane.rest.post(collection.format(ns=namespace), child)
    assert refused.value.status in (400, 422), refused.value


def _accepted_document(namespace: str) -> dict[str, Any]:
    doc = copy.deepcopy(base_document())
    doc["metadata"] = {"name": "accepted", "namespace": namespace}
    spec = doc["spec"]
    spec["storage"] = {"persistentVolumeClaim": "models.team-a", "mountPath": "/data/models"}
    spec["training"]["resources"] = {
        "requests": {"cpu": "0.5", "memory": "1.5Gi", "ephemeral-storage": "1Gi", "nvidia.com/gpu": 1},
        "limits": {"cpu": 2, "memory": "2Gi", "hugepages-2Mi": "2Mi", "nvidia.com/gpu": "1"},
    }
    spec["serving"]["resources"] = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1500m"}}
    spec["podTemplate"] = {"volumes": [{"name": "creds", "secret": {"secretName": "cloud"}}],
                           "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds", "readOnly": True}]}
    return doc


def test_what_kubernetes_accepts_is_admitted_and_its_children_created(control_plane: ControlPlane,
                                                                      namespace: str) -> None:
    rest = control_plane.rest
    doc = _accepted_document(namespace)
    parse_model_deployment(doc)  # modelops validate accepts it
    stored = rest.post(MDEP.format(ns=namespace), doc)
    spec = parse_model_deployment(stored).spec
    owner = Owner("accepted", namespace, stored["metadata"]["uid"])
    job = rest.post(JOBS.format(ns=namespace), build_stage_job(owner, spec, "train", 1, "train-v1",
                                                               config=STAGE_CONFIG))
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    rest.post(DEPLOYMENTS.format(ns=namespace), _serving(owner, spec))


@pytest.mark.parametrize(("number", "in_the_job"), [(0.5, "500m"), (1.0, "1"), (2.5, "2500m"), (1.5e9, "1500M")])
def test_a_number_is_a_quantity_as_in_a_pod(number: float, in_the_job: str, control_plane: ControlPlane,
                                            namespace: str) -> None:
    """`cpu: 0.5` unquoted, as a Pod takes it: `modelops validate` and the API server admit it, the
    ModelDeployment keeps the number, and the Job built from it carries the same quantity."""
    rest = control_plane.rest
    doc = _accepted_document(namespace)
    doc["metadata"]["name"] = f"number-{[0.5, 1.0, 2.5, 1.5e9].index(number)}"
    doc["spec"]["training"]["resources"] = {"requests": {"cpu": number}, "limits": {"cpu": 2e9}}
    parse_model_deployment(doc)
    stored = rest.post(MDEP.format(ns=namespace), doc)
    assert stored["spec"]["training"]["resources"]["requests"]["cpu"] == number
    spec = parse_model_deployment(stored).spec
    owner = Owner(doc["metadata"]["name"], namespace, stored["metadata"]["uid"])
    job = rest.post(JOBS.format(ns=namespace), build_stage_job(owner, spec, "train", 1, "train-v1",
                                                               config=STAGE_CONFIG))
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == in_the_job


BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"


def test_a_resource_stored_before_the_policy_can_still_be_handled(control_plane: ControlPlane,
                                                                   namespace: str) -> None:
    """Ratcheting: a ModelDeployment stored while the policy was not bound (an upgrade) keeps taking the
    operator's metadata updates (kopf's annotations, its finalizer); an edit of its spec is judged."""
    rest = control_plane.rest
    binding = rest.get(f"{BINDINGS}/{POLICY_NAME}")
    rest.delete(f"{BINDINGS}/{POLICY_NAME}")
    doc = _accepted_document(namespace)
    doc["metadata"]["name"] = "stored-before"
    doc["spec"]["training"]["resources"] = {"requests": {"cpu": "lots"}}
    try:
        wait_until(lambda: _admitted(rest, doc), 30, 0.2, "the policy unbound")
        rest.post(MDEP.format(ns=namespace), doc)
    finally:
        rest.post(BINDINGS, {key: binding[key] for key in ("apiVersion", "kind", "spec")}
                  | {"metadata": {"name": POLICY_NAME, "labels": binding["metadata"].get("labels", {})}})
        wait_for_policy(control_plane)
    path = f"{MDEP.format(ns=namespace)}/stored-before"
    rest.patch(path, {"metadata": {"annotations": {"modelops.dev/last-handled": "x"},
                                   "finalizers": ["modelops.dev/finalizer"]}}, content_type=MERGE)
    with pytest.raises(ApiError) as refused:
        rest.patch(path, {"spec": {"training": {"hyperparameters": {"epochs": 3}}}}, content_type=MERGE)
    assert f'{DENIED}spec.training.resources.requests[cpu]: "lots" is not a quantity' in refused.value.body["message"]
    rest.patch(path, {"metadata": {"finalizers": None}}, content_type=MERGE)
    rest.delete(path)


def _admitted(rest, doc: dict[str, Any]) -> bool:
    try:
        rest.request("POST", MDEP.format(ns=doc["metadata"]["namespace"]), doc, params={"dryRun": "All"})
    except ApiError:
        return False
    return True
