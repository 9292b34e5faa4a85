"""Packaging checks without a cluster: chart vs manifests, RBAC least privilege, Dockerfile entrypoints,
and (when the helm CLI has been built by scripts/build-helm.sh) `helm lint` + `helm template`."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from modelops.api import parse_model_deployment
from modelops.api.admission_policy import render_policy_yaml
from modelops.cli import SUBCOMMANDS
from modelops.kube.builders.common import Owner
from modelops.kube.builders.config import build_serving_config_map
from modelops.kube.builders.serving import build_serving_deployment
from modelops.serving.config import parse_monitoring_config

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "modelops"
MANIFESTS = ROOT / "manifests"
# helm built from source assumes Kubernetes v1.20 for `template`; render for the control plane we test on.
KUBE_VERSION = "1.34.0"


def load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def rules_of(documents: list[dict], kind: str) -> list[dict]:
    (role,) = [d for d in documents if d["kind"] == kind]
    return role["rules"]


def test_chart_crd_is_an_exact_copy_of_the_generated_crd() -> None:
    (copy,) = list((CHART / "crds").glob("*.yaml"))
    assert copy.read_bytes() == (MANIFESTS / "crd.yaml").read_bytes(), \
        "charts/modelops/crds/ drifted: cp manifests/crd.yaml charts/modelops/crds/modeldeployments.modelops.dev.yaml"


def test_chart_policy_is_an_exact_copy_of_the_generated_policy() -> None:
    generated = MANIFESTS / "admission-policy.yaml"
    assert generated.read_text() == render_policy_yaml(), \
        "manifests/admission-policy.yaml drifted: run `modelops manifests policy -o manifests/admission-policy.yaml`"
    assert (CHART / "policies" / "admission-policy.yaml").read_bytes() == generated.read_bytes(), \
        "charts/modelops/policies/ drifted: cp manifests/admission-policy.yaml charts/modelops/policies/"


@pytest.mark.parametrize("name", ["rbac.yaml", "rbac-namespaced.yaml"])
def test_rbac_is_least_privilege(name: str) -> None:
    documents = load_all(MANIFESTS / name)
    kind = "ClusterRole" if name == "rbac.yaml" else "Role"
    for rule in rules_of(documents, kind):
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        assert "secrets" not in rule["resources"]
        if rule["resources"] == ["pods"]:
            assert set(rule["verbs"]) <= {"get", "list"}


def test_chart_rbac_rules_match_the_plain_manifests() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    block = re.search(r'define "modelops.rules" -}}\n(.*?)\{\{- end -}}', helpers, re.S)
    assert block, "modelops.rules helper not found"
    chart_rules = yaml.safe_load(block.group(1))
    manifest_rules = rules_of(load_all(MANIFESTS / "rbac.yaml"), "ClusterRole")
    assert chart_rules == manifest_rules[: len(chart_rules)]
    namespaced = rules_of(load_all(MANIFESTS / "rbac-namespaced.yaml"), "Role")
    assert chart_rules == namespaced[: len(chart_rules)]


def test_operator_manifest_meets_restricted_pod_security() -> None:
    (deployment,) = [d for d in load_all(MANIFESTS / "operator.yaml") if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["command"] == ["modelops", "operator"]
    service_account = pod["serviceAccountName"]
    (bound,) = [d for d in load_all(MANIFESTS / "rbac.yaml") if d["kind"] == "ClusterRoleBinding"]
    assert bound["subjects"][0]["name"] == service_account
    assert bound["subjects"][0]["namespace"] == deployment["metadata"]["namespace"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [(m.group(1).upper(), m.group(2).strip()) for line in text.splitlines()
            if (m := re.match(r"^\s*([A-Za-z]+)\s+(.*)$", line)) and not line.lstrip().startswith("#")]


def test_dockerfile_copies_existing_files_and_calls_real_entrypoints() -> None:
    instructions = dockerfile_instructions()
    targets = [args.split()[-1] for op, args in instructions if op == "FROM" and " AS " in args.upper()]
    assert {"operator", "worker"} <= set(targets)
    for op, args in instructions:
        if op != "COPY" or "--from" in args:
            continue
        *sources, _destination = shlex.split(args)
        for source in sources:
            matches = list(ROOT.glob(source.rstrip("/")))
            if "*" in source:
                continue  # optional glob (e.g. README.md*): may match nothing
            assert matches, f"Dockerfile COPY source {source!r} does not exist"
    assert any(op == "USER" and not args.startswith("0") and "root" not in args for op, args in instructions)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["modelops"] == "modelops.cli:main"
    for op, args in instructions:
        if op in ("ENTRYPOINT", "CMD"):
            words = yaml.safe_load(args)
            if op == "ENTRYPOINT":
                assert words == ["modelops"]
            else:
                assert words[0] in SUBCOMMANDS
        if op == "RUN":
            for command in re.findall(r"modelops (\w+)", args):
                assert command in SUBCOMMANDS, f"Dockerfile runs unknown subcommand modelops {command}"
            extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
            for wanted in re.findall(r'pip install "?\.\[([\w,]+)\]', args):
                assert set(wanted.split(",")) <= set(extras), f"Dockerfile installs unknown extra {wanted}"


def helm_binary() -> str | None:
    cache = Path(os.environ.get("MODELOPS_CACHE_DIR", Path.home() / ".cache" / "modelops")) / "helm"
    found = sorted(cache.glob("*/helm"))
    return str(found[-1]) if found else None


def helm(*args: str) -> str:
    binary = helm_binary()
    if binary is None:
        pytest.skip("helm CLI not built; run scripts/build-helm.sh (cached outside git)")
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_helm_lint_passes() -> None:
    helm("lint", "--strict", str(CHART))


def test_helm_template_cluster_wide_renders_restricted_operator_with_metrics() -> None:
    documents = [d for d in yaml.safe_load_all(helm(
        "template", "mops", str(CHART), "--kube-version", KUBE_VERSION, "--namespace", "modelops-system",
        "--include-crds",
        "--set", "metrics.serviceMonitor.enabled=true", "--set", "networkPolicy.enabled=true")) if d]
    kinds = sorted(d["kind"] for d in documents)
    assert kinds == sorted(["CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                            "Deployment", "Service", "ServiceMonitor", "PodMonitor", "NetworkPolicy",
                            "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"])
    policies = [d for d in documents if d["kind"].startswith("ValidatingAdmissionPolicy")]
    assert policies == list(yaml.safe_load_all((MANIFESTS / "admission-policy.yaml").read_text()))
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--all-namespaces" in container["args"] and "--metrics-port=9090" in container["args"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    (crd,) = [d for d in documents if d["kind"] == "CustomResourceDefinition"]
    assert crd == yaml.safe_load((MANIFESTS / "crd.yaml").read_text())


def test_helm_template_ships_the_dashboard_for_the_grafana_sidecar() -> None:
    documents = [d for d in yaml.safe_load_all(helm(
        "template", "mops", str(CHART), "--kube-version", KUBE_VERSION, "--namespace", "modelops-system",
        "--set", "dashboard.enabled=true", "--set", "dashboard.namespace=monitoring",
        "--set", "dashboard.folder=ML")) if d]
    (config_map,) = [d for d in documents if d["kind"] == "ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == "monitoring"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "ML"}
    shipped = json.loads(config_map["data"]["modelops.json"])
    assert shipped == json.loads((CHART / "dashboards" / "modelops.json").read_text())
    assert shipped["panels"] and shipped["uid"] == "modelops"


def test_helm_template_listed_namespaces_gets_roles_per_namespace() -> None:
    documents = [d for d in yaml.safe_load_all(helm(
        "template", "mops", str(CHART), "--kube-version", KUBE_VERSION, "--namespace", "ops",
        "--set", "clusterWide=false",
        "--set", "watchNamespaces={team-a,team-b}")) if d]
    roles = [d for d in documents if d["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert not [d for d in documents if d["kind"].startswith("Cluster")]
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=team-a" in args and "--namespace=team-b" in args


def test_helm_refuses_two_replicas_without_peering() -> None:
    binary = helm_binary()
    if binary is None:
        pytest.skip("helm CLI not built; run scripts/build-helm.sh")
    result = subprocess.run([binary, "template", "mops", str(CHART), "--kube-version", KUBE_VERSION,
                             "--set", "replicaCount=2"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0 and "peering" in result.stderr


def test_resource_reference_is_generated_from_the_current_crd() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-resource-docs.py"), "--check"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_helm_template_scrapes_the_serving_pods_the_operator_builds() -> None:
    """The PodMonitor selects the TF Serving pods `build_serving_deployment` makes, on their REST port,
    at the path of the monitoring config the operator mounts; the operator's own series keep their
    `namespace` label (honorLabels)."""
    def render(*values: str) -> list[dict]:
        sets = [arg for value in values for arg in ("--set", value)]
        return [d for d in yaml.safe_load_all(helm(
            "template", "mops", str(CHART), "--kube-version", KUBE_VERSION, "--namespace", "modelops-system",
            "--set", "metrics.serviceMonitor.enabled=true", *sets)) if d]

    documents = render()
    (service_monitor,) = [d for d in documents if d["kind"] == "ServiceMonitor"]
    assert service_monitor["spec"]["endpoints"][0]["honorLabels"] is True
    (pod_monitor,) = [d for d in documents if d["kind"] == "PodMonitor"]
    assert pod_monitor["spec"]["namespaceSelector"] == {"any": True}

    sample = yaml.safe_load((MANIFESTS / "samples" / "binary-classification.yaml").read_text())
    spec = parse_model_deployment(sample).spec
    owner = Owner(name="churn", namespace="ml", uid="u")
    pod = build_serving_deployment(owner, spec, "stable", 3)["spec"]["template"]
    selector = pod_monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    (endpoint,) = pod_monitor["spec"]["podMetricsEndpoints"]
    ports = {port["name"]: port for port in pod["spec"]["containers"][0]["ports"]}
    assert endpoint["port"] in ports
    monitoring = build_serving_config_map(owner, spec, "stable", 3)["data"]["monitoring.config"]
    assert endpoint["path"] == parse_monitoring_config(monitoring)
    assert set(pod_monitor["spec"]["podTargetLabels"]) <= set(pod["metadata"]["labels"])

    listed = render("clusterWide=false", "watchNamespaces={ml,shop}")
    (pod_monitor,) = [d for d in listed if d["kind"] == "PodMonitor"]
    assert pod_monitor["spec"]["namespaceSelector"] == {"matchNames": ["ml", "shop"]}
    assert not [d for d in render("metrics.podMonitor.enabled=false") if d["kind"] == "PodMonitor"]
