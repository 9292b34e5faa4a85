"""The Argo CD health check ships as one script: the chart's file, embedded verbatim everywhere else."""

from __future__ import annotations

import yaml
from support.controlplane import REPO_ROOT
from support.gitops import ARGOCD_HEALTH_LUA

KEY = "resource.customizations.health.modelops.dev_ModelDeployment"


def test_argocd_cm_patch_embeds_the_charts_health_check_verbatim() -> None:
    patch = yaml.safe_load((REPO_ROOT / "manifests" / "argocd-cm-health-patch.yaml").read_text())
    assert patch["data"][KEY] == ARGOCD_HEALTH_LUA.read_text()


def test_health_check_never_indexes_or_counts_conditions() -> None:
    """argo-cd#25312: read conditions by type. `conditions[` or `#...conditions` would index or count."""
    script = ARGOCD_HEALTH_LUA.read_text()
    code = "\n".join(line.split("--")[0] for line in script.splitlines())
    assert "conditions[" not in code and "#" not in code
    assert "string." not in code and ":sub(" not in code  # Argo CD runs health checks without Lua's string lib


def test_gitops_doc_names_the_key_and_the_files_it_points_to() -> None:
    doc = (REPO_ROOT / "docs" / "gitops.md").read_text()
    assert KEY in doc
    for path in ("charts/modelops/files/argocd-health.lua", "manifests/argocd-cm-health-patch.yaml"):
        assert path in doc and (REPO_ROOT / path).exists()
