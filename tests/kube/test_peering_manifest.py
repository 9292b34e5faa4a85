"""The HA manifest: kopf's peering resources are accepted by a real API server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.controlplane import ControlPlane

pytestmark = pytest.mark.cluster


def test_kopf_peering_manifest_installs(control_plane: ControlPlane) -> None:
    """HA needs kopf's peering resources; the shipped manifest must be accepted by a real API server."""
    manifest = Path(__file__).resolve().parents[2] / "manifests" / "kopf-peering.yaml"
    applied = control_plane.apply_manifest(manifest)
    assert [o["kind"] for o in applied] == ["CustomResourceDefinition", "CustomResourceDefinition",
                                            "ClusterKopfPeering"]
    peering = control_plane.rest.get("/apis/kopf.dev/v1/clusterkopfpeerings/modelops")
    assert peering["metadata"]["name"] == "modelops"
