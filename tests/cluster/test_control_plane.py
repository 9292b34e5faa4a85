"""The control plane built from Go modules behaves like a cluster: CRD validation, RBAC, garbage collection."""

from __future__ import annotations

import copy

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from support.controlplane import REPO_ROOT, ControlPlane
from support.kuberest import ApiError, KubeRest
from support.kubetest import new_namespace, wait_gone
from support.processes import wait_until

pytestmark = pytest.mark.cluster
SAMPLE = REPO_ROOT / "manifests" / "samples" / "regression.yaml"


def test_binaries_report_the_pinned_versions(control_plane: ControlPlane) -> None:
    version = control_plane.rest.get("/version")  # the cache dir is named after the pinned release
    assert version["gitVersion"] == control_plane.bin_dir.name
    assert (int(version["major"]), int(version["minor"])) >= (1, 33)


def test_api_server_rejects_an_invalid_modeldeployment_naming_the_field(control_plane: ControlPlane) -> None:
    namespace = new_namespace(control_plane.rest, "crd")
    body = yaml.safe_load(SAMPLE.read_text())
    body["metadata"] = {"name": "bad-task", "namespace": namespace}
    invalid = copy.deepcopy(body)
    invalid["spec"]["task"] = "clustering"
    custom = client.CustomObjectsApi(control_plane.api_client())
    with pytest.raises(ApiException) as rejected:
        custom.create_namespaced_custom_object("modelops.dev", "v1alpha1", namespace, "modeldeployments", invalid)
    assert rejected.value.status == 422
    assert "spec.task" in rejected.value.body
    assert "clustering" in rejected.value.body
    # The same object with a valid task is accepted: the rejection was about the field, not the rest.
    created = custom.create_namespaced_custom_object("modelops.dev", "v1alpha1", namespace, "modeldeployments", body)
    assert created["spec"]["task"] == "regression"


def test_rbac_applies_to_serviceaccount_tokens_and_impersonation(control_plane: ControlPlane) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "rbac")
    rest.post(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "reader"}})
    kubeconfig = yaml.safe_load(control_plane.serviceaccount_kubeconfig(namespace, "reader").read_text())
    token = kubeconfig["users"][0]["user"]["token"]
    as_reader = KubeRest(control_plane.server, token, str(control_plane.pki.ca_cert))
    impersonating = client.CoreV1Api(control_plane.api_client(as_user=f"system:serviceaccount:{namespace}:reader"))

    with pytest.raises(ApiError) as denied:
        as_reader.get(f"/api/v1/namespaces/{namespace}/configmaps")
    assert denied.value.status == 403
    with pytest.raises(ApiException) as denied_too:
        impersonating.list_namespaced_config_map(namespace)
    assert denied_too.value.status == 403

    control_plane.apply_manifest([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cm-reader"},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "cm-reader"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}]},
    ], namespace=namespace)
    # The RBAC authorizer reads Roles and bindings from its informers: a new grant applies within moments.
    wait_until(lambda: "items" in as_reader.get(f"/api/v1/namespaces/{namespace}/configmaps"), 30, 0.1,
               "the new RoleBinding to apply to the ServiceAccount's token")
    assert impersonating.list_namespaced_config_map(namespace).items is not None
    with pytest.raises(ApiError) as still_denied:  # the Role grants read only
        as_reader.post(f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "x"}})
    assert still_denied.value.status == 403


def test_deleting_an_owner_garbage_collects_its_children(control_plane: ControlPlane) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "gc")
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    owner = rest.post(base, {"metadata": {"name": "owner"}, "data": {"role": "owner"}})
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    rest.post(base, {"metadata": {"name": "child", "ownerReferences": [reference]}})
    rest.post(base, {"metadata": {"name": "bystander"}})
    rest.delete(f"{base}/owner")
    wait_gone(rest, f"{base}/child", 30, "the garbage collector to delete the child ConfigMap")
    assert rest.get(f"{base}/bystander")["metadata"]["name"] == "bystander"
