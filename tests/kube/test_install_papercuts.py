"""What an admin meets installing: one minimum Kubernetes version, `helm template` with defaults, peering
RBAC only with peering (needs the helm CLI from scripts/build-helm.sh for the chart renders)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from kube.test_packaging import CHART, ROOT, helm, helm_binary


def _minimum(text: str) -> tuple[int, int]:
    major, minor = re.search(r"(\d+)\.(\d+)", text).groups()
    return int(major), int(minor)


def test_one_minimum_kubernetes_version_everywhere() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    install = re.search(r"Kubernetes ≥ (\d+\.\d+) \(", (ROOT / "docs" / "install.md").read_text())
    assert install, "docs/install.md must state the minimum as 'Kubernetes ≥ X.Y (reason)'"
    assert chart.startswith(">=") and _minimum(chart) == _minimum(install.group(1))


def test_helm_template_works_with_defaults() -> None:
    """No --kube-version: the helm our script builds assumes its own Kubernetes version, as releases do."""
    documents = [d for d in yaml.safe_load_all(helm("template", "mops", str(CHART))) if d]
    assert {"Deployment", "ClusterRole", "ServiceAccount"} <= {d["kind"] for d in documents}


def _peering_rules(*flags: str) -> list[dict]:
    documents = [d for d in yaml.safe_load_all(helm("template", "mops", str(CHART), *flags)) if d]
    roles = [d for d in documents if d["kind"] in ("ClusterRole", "Role")]
    return [rule for role in roles for rule in role["rules"] if "kopf.dev" in rule["apiGroups"]]


def test_peering_rbac_only_when_peering_is_on() -> None:
    assert _peering_rules() == []
    assert _peering_rules("--set", "clusterWide=false", "--set", "watchNamespaces={a}") == []
    [cluster] = _peering_rules("--set", "peering.enabled=true", "--set", "replicaCount=2")
    assert cluster["resources"] == ["clusterkopfpeerings"]
    [namespaced] = _peering_rules("--set", "peering.enabled=true", "--set", "clusterWide=false",
                                  "--set", "watchNamespaces={a}")
    assert namespaced["resources"] == ["kopfpeerings"]


def test_helm_refuses_a_kubernetes_older_than_the_minimum() -> None:
    binary = helm_binary()
    if binary is None:
        pytest.skip("helm CLI not built; run scripts/build-helm.sh")
    result = subprocess.run([binary, "template", "mops", str(CHART), "--kube-version", "1.29.0"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0 and "kubeVersion" in result.stderr
