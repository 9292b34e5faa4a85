"""Where and as whom pods run (spec.podTemplate, spec.serving.podTemplate): the builders lay the user's Pod
fields onto stage Jobs and serving pods, GPUs flow through as resources, and the real API server accepts
the result (server-side dry run: its own validation of every Pod field, no object stored)."""

from __future__ import annotations

import copy

import pytest
import yaml
from kube.test_builders import SAMPLES, STAGE_CONFIG

from modelops.api import parse_model_deployment
from modelops.api.document import SpecError
from modelops.kube.builders.common import Owner
from modelops.kube.builders.jobs import build_stage_job
from modelops.kube.builders.pods import apply_pod_template
from modelops.kube.builders.serving import build_serving_deployment

OWNER = Owner(name="churn", namespace="ml", uid="1234-uid")
GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
POD_TEMPLATE = {
    "nodeSelector": {"pool": "cpu"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
    "imagePullSecrets": [{"name": "registry"}],
    "serviceAccountName": "data-reader",
    "priorityClassName": "batch-low",
    "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}}]}},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                   "whenUnsatisfiable": "ScheduleAnyway",
                                   "labelSelector": {"matchLabels": {"app": "x"}}}],
    "env": [{"name": "DATA_BUCKET", "value": "gs://b"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
    "envFrom": [{"configMapRef": {"name": "settings"}}],
    "volumes": [{"name": "creds", "secret": {"secretName": "creds"}}],
    "volumeMounts": [{"name": "creds", "mountPath": "/var/run/creds", "readOnly": True}],
    "stages": {"train": {"nodeSelector": {"pool": "gpu"}, "tolerations": [GPU_TAINT]}},
}


def _spec(**spec_fields: object) -> dict:
    doc = yaml.safe_load((SAMPLES / "binary-classification.yaml").read_text())
    doc["spec"].update(copy.deepcopy(spec_fields))
    return parse_model_deployment(doc).spec


def _pod(job: dict) -> tuple[dict, dict]:
    pod = job["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def test_stage_pods_carry_the_users_pod_fields_and_a_stage_override_replaces_one() -> None:
    spec = _spec(podTemplate=POD_TEMPLATE)
    validate, container = _pod(build_stage_job(OWNER, spec, "validate", 1, "validate-v1", config=STAGE_CONFIG))
    assert validate["nodeSelector"] == {"pool": "cpu"}
    assert validate["tolerations"] == POD_TEMPLATE["tolerations"]
    assert validate["imagePullSecrets"] == [{"name": "registry"}]
    assert (validate["serviceAccountName"], validate["priorityClassName"]) == ("data-reader", "batch-low")
    assert validate["automountServiceAccountToken"] is False  # unless the template turns it on
    assert validate["affinity"] == POD_TEMPLATE["affinity"]
    names = [v["name"] for v in container["env"]]
    assert names[-2:] == ["DATA_BUCKET", "TOKEN"] and "PYTHONUNBUFFERED" in names
    assert container["envFrom"] == [{"configMapRef": {"name": "settings"}}]
    assert [v["name"] for v in validate["volumes"]][-1] == "creds"
    assert container["volumeMounts"][-1]["mountPath"] == "/var/run/creds"
    train, _ = _pod(build_stage_job(OWNER, spec, "train", 1, "train-v1", config=STAGE_CONFIG))
    assert train["nodeSelector"] == {"pool": "gpu"} and train["tolerations"] == [GPU_TAINT]
    assert train["imagePullSecrets"] == [{"name": "registry"}]  # not overridden: shared


def test_gpu_requests_flow_to_stage_and_serving_pods() -> None:
    gpu = {"limits": {"nvidia.com/gpu": 1, "memory": "8Gi"}, "requests": {"cpu": "2"}}
    spec = _spec(podTemplate={"tolerations": [GPU_TAINT]})
    spec["training"]["resources"] = gpu
    spec["serving"]["resources"] = gpu
    _, container = _pod(build_stage_job(OWNER, spec, "train", 1, "train-v1", config=STAGE_CONFIG))
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    deployment = build_serving_deployment(OWNER, spec, "stable", 1)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_serving_pods_keep_the_operators_spread_and_add_the_users() -> None:
    spec = _spec()
    deployment = build_serving_deployment(OWNER, spec, "stable", 1)
    pod = deployment["spec"]["template"]["spec"]
    ours = list(pod.get("topologySpreadConstraints", []))
    zone = {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "x"}}}
    apply_pod_template(pod, pod["containers"][0], {"topologySpreadConstraints": [zone]})
    assert pod["topologySpreadConstraints"] == [*ours, zone]  # added beside the operator's own
    # one with the same topologyKey and whenUnsatisfiable as the operator's replaces it: the API server
    # refuses duplicates (found by the dry run below)
    same = [c for c in ours if c["topologyKey"] == "kubernetes.io/hostname"]
    assert same, "the serving builder spreads over hostnames"
    mine = {**same[0], "maxSkew": 3}
    apply_pod_template(pod, pod["containers"][0], {"topologySpreadConstraints": [mine]})
    assert mine in pod["topologySpreadConstraints"] and same[0] not in pod["topologySpreadConstraints"]
    apply_pod_template(pod, pod["containers"][0], {k: v for k, v in POD_TEMPLATE.items() if k != "stages"})
    assert pod["nodeSelector"] == {"pool": "cpu"} and pod["imagePullSecrets"] == [{"name": "registry"}]


def test_the_users_env_never_replaces_the_operators_own() -> None:
    with pytest.raises(SpecError, match="TF_CONFIG"):
        _spec(podTemplate={"env": [{"name": "TF_CONFIG", "value": "{}"}]})
    pod: dict = {}
    container = {"env": [{"name": "TMPDIR", "value": "/tmp"}]}
    user_env = [{"name": "TMPDIR", "value": "/elsewhere"}, {"name": "A", "value": "1"}]
    apply_pod_template(pod, container, {"env": user_env})
    assert container["env"] == [{"name": "TMPDIR", "value": "/tmp"}, {"name": "A", "value": "1"}]


def test_an_invalid_toleration_is_refused_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"spec.podTemplate.tolerations\[0\].operator"):
        _spec(podTemplate={"tolerations": [{"key": "k", "operator": "Maybe"}]})


@pytest.mark.cluster
def test_the_api_server_accepts_the_built_job_and_deployment(control_plane) -> None:
    """Server-side dry run: the API server validates every Pod field we laid on (affinity, spread, env
    valueFrom, volumes) exactly as it will when the operator creates them."""
    from support.kubetest import new_namespace
    namespace = new_namespace(control_plane.rest, "pods")
    owner = Owner(name="churn", namespace=namespace, uid="1234-uid")
    spec = _spec(podTemplate=POD_TEMPLATE)
    spec["serving"]["podTemplate"] = {k: v for k, v in POD_TEMPLATE.items() if k != "stages"}
    job = build_stage_job(owner, spec, "train", 1, "train-v1", config=STAGE_CONFIG)
    deployment = build_serving_deployment(owner, spec, "stable", 1)
    pod = deployment["spec"]["template"]["spec"]
    apply_pod_template(pod, pod["containers"][0], spec["serving"]["podTemplate"])
    for obj in (job, deployment):
        obj["metadata"].pop("ownerReferences", None)  # the owner does not exist in this namespace
    created = control_plane.rest.request(
        "POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job, params={"dryRun": "All"})
    assert created["spec"]["template"]["spec"]["tolerations"][-1] == GPU_TAINT
    served = control_plane.rest.request(
        "POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment, params={"dryRun": "All"})
    assert served["spec"]["template"]["spec"]["serviceAccountName"] == "data-reader"


def test_the_gpu_example_in_install_md_is_a_valid_modeldeployment_that_lands_on_the_gpu_pool() -> None:
    from kube.test_builders import SAMPLES as _samples
    text = (_samples.parents[1] / "docs" / "install.md").read_text()
    block = text.split("### A GPU deployment, end to end")[1].split("```yaml")[1].split("```")[0]
    spec = parse_model_deployment(yaml.safe_load(block)).spec
    for stage in ("train", "validate", "evaluate"):
        pod, container = _pod(build_stage_job(OWNER, spec, stage, 1, f"{stage}-v1", config=STAGE_CONFIG))
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert GPU_TAINT["key"] in {t["key"] for t in pod["tolerations"]} and pod["nodeSelector"]
    serving = build_serving_deployment(OWNER, spec, "stable", 1)
    assert serving["spec"]["template"]["spec"]["containers"][0]["image"].endswith("-gpu")
