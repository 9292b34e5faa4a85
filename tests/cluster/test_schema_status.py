"""The schema fields the lifecycle writes (a version's schema summary, schema checks, drift by schema) survive the
real API server: a structural CRD prunes every field it does not declare, silently."""

from __future__ import annotations

import pytest
import yaml
from support.controlplane import REPO_ROOT, ControlPlane
from support.kuberest import MERGE
from support.kubetest import new_namespace

from tests.unit.lifecycle_helpers import Driver, measured_drift, sample_spec

pytestmark = pytest.mark.cluster
MDEP = "/apis/modelops.dev/v1alpha1/namespaces/{ns}/modeldeployments"


def _anomaly(kind: str, column: str) -> dict:
    return {"column": column, "kind": kind, "count": 4, "rows": 40, "exampleRow": 3, "examples": ["x"],
            "message": f"column {column!r}: {kind}"}


def test_schema_status_fields_are_kept_by_the_api_server(control_plane: ControlPlane) -> None:
    d = Driver(sample_spec(**{"schemaRules.extraColumn": "Drift"}))
    d.to_serving()
    d.status["versions"][0]["schema"] = {"features": 7, "kinds": {"numeric": 5, "categorical": 2}, "rows": 333,
                                         "classes": ["Adelie", "Chinstrap", "Gentoo"], "numClasses": 3}
    d.evaluate(metrics={"accuracy": 0.95}, rows=40, drift=measured_drift([0.4, 0.7]),
               schemaCheck={"version": 1, "rows": 40, "anomalies": [_anomaly("extraColumn", "tag"),
                                                                     _anomaly("unseenCategory", "island")]},
               lineage={"data": {"uri": "/d/live.csv", "rows": 40, "role": "monitoring", "sha256": "a" * 64}})
    namespace = new_namespace(control_plane.rest, "schema-status")
    doc = yaml.safe_load((REPO_ROOT / "manifests" / "samples" / "binary-classification.yaml").read_text())
    doc["metadata"] = {"name": "penguins", "namespace": namespace}
    item = f"{MDEP.format(ns=namespace)}/penguins"
    control_plane.rest.post(MDEP.format(ns=namespace), doc)
    stored = control_plane.rest.patch(f"{item}/status", {"status": d.status}, content_type=MERGE)["status"]
    assert stored["versions"][0]["schema"] == d.status["versions"][0]["schema"]
    assert stored["lastEvaluation"]["schemaCheck"] == d.status["lastEvaluation"]["schemaCheck"]
    assert stored["lastEvaluation"]["schemaCheck"]["anomalies"][0]["action"] == "Drift"
    assert stored["lastEvaluation"]["drift"]["schemaDrifted"] == ["tag", "island"]
