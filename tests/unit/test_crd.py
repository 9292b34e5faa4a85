"""The committed CRD equals the generator's output and is a structural schema with what users need."""

from __future__ import annotations

from pathlib import Path

from modelops.api.crd import crd_document, render_crd_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_committed_crd_matches_generator() -> None:
    committed = (ROOT / "manifests" / "crd.yaml").read_text()
    assert committed == render_crd_yaml(), "manifests/crd.yaml drifted: run `modelops manifests crd -o <file>`"


def _walk(schema: dict, path: str = ""):
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _walk(child, f"{path}.{name}")
    if "items" in schema:
        yield from _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _walk(schema["additionalProperties"], f"{path}{{}}")


UNTYPED = {f"spec.{where}.resources.{side}{{}}" for where in ("training", "serving") for side in ("requests", "limits")}


def test_every_spec_and_status_field_is_typed_and_described() -> None:
    root = crd_document()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for part in ("spec", "status"):
        for path, schema in _walk(root["properties"][part], part):
            assert schema.get("description"), f"{path} has no description"
            untyped = path in UNTYPED  # resource quantities take numbers and strings, as in a Pod
            assert ("type" in schema or schema.get("x-kubernetes-int-or-string")) != untyped, f"{path} has no type"


def test_names_subresource_and_printer_columns() -> None:
    doc = crd_document()
    spec = doc["spec"]
    assert doc["metadata"]["name"] == "modeldeployments.modelops.dev"
    assert spec["names"]["shortNames"] == ["mdep"] and spec["scope"] == "Namespaced"
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns[:4] == ["Phase", "Serving", "Metric", "Ready"] and columns[-1] == "Age"
    gate = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["validation"]
    assert "enum" in gate["properties"]["gates"]["items"]["properties"]["metric"]
    hyper = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["training"]["properties"][
        "hyperparameters"]
    assert hyper["properties"]["epochs"] == {"description": hyper["properties"]["epochs"]["description"],
                                             "type": "integer", "minimum": 1, "maximum": 10000, "default": 20}
