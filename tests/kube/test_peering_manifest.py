"""The HA manifest: kopf's peering resources are accepted by a real API server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.controlplane import ControlPlane

pytestmark = pytest.mark.cluster


def test_kopf_peering_manifest_installs(control_plane: ControlPlane) -> None:
    """HA needs kopf's peering resources; the shipped manifests must be accepted by a real API server, each
    file in one pass (no object of a kind whose CRD is in the same file)."""
    manifests = Path(__file__).resolve().parents[2] / "manifests"
    crds = control_plane.apply_manifest(manifests / "kopf-peering-crds.yaml")
    assert [o["kind"] for o in crds] == ["CustomResourceDefinition", "CustomResourceDefinition"]
    applied = control_plane.apply_manifest(manifests / "kopf-peering.yaml")
    assert [o["kind"] for o in applied] == ["ClusterKopfPeering", "ClusterRole", "ClusterRoleBinding"]
    assert "CustomResourceDefinition" not in {o["kind"] for o in applied}  # so each file applies in one pass
    peering = control_plane.rest.get("/apis/kopf.dev/v1/clusterkopfpeerings/modelops")
    assert peering["metadata"]["name"] == "modelops"
