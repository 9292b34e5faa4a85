"""spec.schemaRules in the lifecycle: every anomaly kind under every rule gives a named outcome, at validation
and at monitoring; what is recorded fits the CRD's status schema."""

from __future__ import annotations

from typing import Any

import pytest
from lifecycle_helpers import GOOD, Driver, measured_drift, sample_spec, started

from modelops.api.schema import normalize
from modelops.api.schema_rules_schema import ANOMALY_KINDS
from modelops.api.status_schema import STATUS
from modelops.lifecycle import Reconcile
from modelops.lifecycle.messages import EmitEvent
from modelops.lifecycle.schema_rules import judge_schema, rule_for

KINDS = tuple(ANOMALY_KINDS)
CLEAN_DRIFT = measured_drift([0.4, 0.6, 0.9])


def anomaly(kind: str, column: str = "island") -> dict[str, Any]:
    return {"column": column, "kind": kind, "count": 4, "rows": 40, "exampleRow": 3, "examples": ["Atlantis"],
            "message": f"column {column!r}: {kind} (4 of 40 rows), first at row 3"}


def check(*anomalies: dict[str, Any], version: int = 1) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for a in anomalies:
        counts[a["kind"]] = counts.get(a["kind"], 0) + 1
    return {"version": version, "rows": 40, "anomalies": list(anomalies), "counts": counts, "more": 0}


def _lineage(sha: str) -> dict[str, Any]:
    return {"data": {"uri": "/data/live.csv", "rows": 40, "role": "monitoring", "sha256": sha}}


def _assert_status_fits_the_crd(status: dict[str, Any]) -> None:
    errors: list[str] = []
    normalize(STATUS, status, "status", errors)
    assert errors == []


def test_defaults_follow_the_documented_table() -> None:
    assert {k: rule_for({}, k) for k in KINDS} == {"missingColumn": "Fail", "typeChange": "Fail",
                                                  "unseenCategory": "Drift", "missingValues": "Drift",
                                                  "extraColumn": "Accept"}
    assert rule_for({"unseenCategory": "Fail"}, "unseenCategory") == "Fail"
    assert rule_for({}, "somethingNewer") == "Accept"  # a newer worker's kind is recorded, never acted on


def test_anomalies_left_out_of_the_summary_are_judged_by_their_counts() -> None:
    block = {**check(anomaly("extraColumn")), "counts": {"extraColumn": 1, "missingColumn": 2}, "more": 2}
    judgement = judge_schema({}, block)
    assert judgement is not None and judgement.count("Fail") == 2 and judgement.count("Accept") == 1
    assert "2 more missingColumn" in judgement.message("Fail")


def _validated(rule: str, kind: str) -> Driver:
    d = Driver(sample_spec(**{f"schemaRules.{kind}": rule}))
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.3}, schema={"features": 5, "kinds": {"numeric": 3, "categorical": 2}, "rows": 300})
    d.finish(metrics=GOOD, rows=40, schemaCheck=check(anomaly(kind)))
    return d


@pytest.mark.parametrize("kind", KINDS)
def test_validation_fail_rule_fails_the_version_naming_the_column(kind: str) -> None:
    d = _validated("Fail", kind)
    record = d.status["versions"][0]
    assert (record["state"], record["reason"]) == ("Failed", "SchemaViolation")
    assert "validation failed: 1 schema anomaly (schema of version 1): column 'island'" in record["message"]
    assert record["schemaCheck"]["failed"] == 1 and record["schemaCheck"]["anomalies"][0]["action"] == "Fail"
    assert d.status["phase"] == "Failed" and "servingVersion" not in d.status
    events = [a for h in d.history for a in h.actions if isinstance(a, EmitEvent)]
    assert any(e.reason == "ValidationFailed" and "'island'" in e.message for e in events)
    _assert_status_fits_the_crd(d.status)


@pytest.mark.parametrize(("rule", "counted"), [("Drift", "drifted"), ("Accept", "accepted")])
@pytest.mark.parametrize("kind", KINDS)
def test_validation_drift_or_accept_rule_records_and_blesses(kind: str, rule: str, counted: str) -> None:
    d = _validated(rule, kind)
    record = d.status["versions"][0]
    assert record["state"] == "Blessed"
    assert record["schemaCheck"][counted] == 1 and record["schemaCheck"]["failed"] == 0
    assert record["schemaCheck"]["anomalies"][0] | {"action": rule} == record["schemaCheck"]["anomalies"][0]
    assert record["schema"]["kinds"] == {"numeric": 3, "categorical": 2}  # the train stage's summary
    _assert_status_fits_the_crd(d.status)


def _serving(rule: str, kind: str, **overrides: Any) -> Driver:
    d = Driver(sample_spec(**{f"schemaRules.{kind}": rule, **overrides}))
    d.to_serving()
    return d


@pytest.mark.parametrize("kind", KINDS)
def test_monitoring_fail_rule_fails_the_evaluation_naming_the_column(kind: str) -> None:
    d = _serving("Fail", kind)
    decision = d.evaluate(metrics={"accuracy": 0.95}, rows=40, drift=CLEAN_DRIFT, schemaCheck=check(anomaly(kind)),
                          lineage=_lineage("a" * 64))
    last = d.status["lastEvaluation"]
    assert "1 schema anomaly (schema of version 1): column 'island'" in last["error"]
    assert last["schemaCheck"]["failed"] == 1
    assert d.status["servingVersion"] == 1 and d.status["phase"] == "Serving"  # what serves keeps serving
    assert any(isinstance(a, EmitEvent) and a.reason == "EvaluationFailed" for a in decision.actions)
    _assert_status_fits_the_crd(d.status)


@pytest.mark.parametrize("kind", KINDS)
def test_monitoring_drift_rule_counts_as_drift_and_acts_once_confirmed(kind: str) -> None:
    d = _serving("Drift", kind, **{"monitoring.drift.confirm": {"required": 2, "window": 3}})
    d.evaluate(metrics={"accuracy": 0.95}, rows=40, drift=CLEAN_DRIFT, schemaCheck=check(anomaly(kind)),
               lineage=_lineage("a" * 64))
    drift = d.status["lastEvaluation"]["drift"]
    assert drift["verdict"] == "Drifted" and drift["schemaDrifted"] == ["island"] and drift["confirmed"] is False
    assert "column 'island'" in drift["message"] and d.status["phase"] == "Serving"
    decision = d.evaluate(metrics={"accuracy": 0.95}, rows=40, drift=CLEAN_DRIFT, schemaCheck=check(anomaly(kind)),
                          lineage=_lineage("b" * 64))
    last = d.status["lastEvaluation"]
    assert last["reason"] == "DataDrift" and last["drift"]["confirmed"] is True
    assert [s.stage for s in started(decision)] == ["train"]  # onDrift defaults to Retrain
    _assert_status_fits_the_crd(d.status)


@pytest.mark.parametrize("kind", KINDS)
def test_monitoring_accept_rule_only_records(kind: str) -> None:
    d = _serving("Accept", kind)
    d.evaluate(metrics={"accuracy": 0.95}, rows=40, drift=CLEAN_DRIFT, schemaCheck=check(anomaly(kind)),
               lineage=_lineage("a" * 64))
    last = d.status["lastEvaluation"]
    assert last["drift"]["verdict"] == "NoDrift" and last["reason"] == "Healthy"
    assert last["schemaCheck"]["accepted"] == 1 and last["schemaCheck"]["anomalies"][0]["column"] == "island"
    _assert_status_fits_the_crd(d.status)


def test_schema_drift_does_not_count_when_drift_is_disabled() -> None:
    d = _serving("Drift", "unseenCategory", **{"monitoring.drift.enabled": False})
    d.evaluate(metrics={"accuracy": 0.95}, rows=40, drift=CLEAN_DRIFT, schemaCheck=check(anomaly("unseenCategory")),
               lineage=_lineage("a" * 64))
    assert d.status["lastEvaluation"]["drift"]["verdict"] == "Disabled"


def test_a_worker_that_stopped_on_a_fail_rule_keeps_its_check_on_the_record() -> None:
    d = Driver(sample_spec())
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.3})
    d.finish(False, error="val.csv: 1 schema anomaly (schema of version 1): column 'island' ... missing",
             reason="SchemaViolation", schemaCheck=check(anomaly("missingColumn")))
    record = d.status["versions"][0]
    assert record["reason"] == "SchemaViolation" and record["schemaCheck"]["anomalies"][0]["kind"] == "missingColumn"


@pytest.mark.parametrize("stage", ["train", "validate", "evaluate"])
def test_the_spec_rules_reach_the_worker_config_and_are_read_strictly(stage: str) -> None:
    from modelops.contract.stage_config import build_stage_config
    from modelops.lifecycle.messages import StartStage
    from modelops.workloads.config.stage import parse_config
    from modelops.workloads.errors import WorkloadError

    spec = sample_spec(**{"schemaRules.unseenCategory": "Fail", "schemaRules.missingValuesMargin": 0.25})
    action = StartStage(stage, 2, f"{stage}-v2-a1", spec["training"]["dataset"],
                        baseline_version=1 if stage == "validate" else None)
    config = build_stage_config(spec, "default", "churn", action, "/models", endpoint="http://s:8501")
    cfg = parse_config(config)
    assert cfg.schema_rules.actions["unseenCategory"] == "Fail" and cfg.schema_rules.missing_values_margin == 0.25
    assert cfg.schema_rules.actions["missingColumn"] == "Fail" and cfg.schema_rules.actions["extraColumn"] == "Accept"
    assert cfg.schema_rules.to_spec() == {k: v for k, v in spec["schemaRules"].items()}
    for bad, message in (({"unseenCategory": "Ignore"}, "config.schemaRules.unseenCategory: expected one of Fail"),
                         ({"unseenCategories": "Fail"}, "config.schemaRules.unseenCategories: unknown key"),
                         ({"missingValuesMargin": 2}, "config.schemaRules.missingValuesMargin: expected a number")):
        with pytest.raises(WorkloadError, match=message):
            parse_config({**config, "schemaRules": bad})


def test_the_spec_refuses_an_unknown_action() -> None:
    import yaml
    from lifecycle_helpers import SAMPLES

    from modelops.api import parse_model_deployment
    from modelops.api.document import SpecError

    doc = yaml.safe_load((SAMPLES / "binary-classification.yaml").read_text())
    doc["spec"]["schemaRules"] = {"typeChange": "Coerce"}
    with pytest.raises(SpecError, match=r"spec\.schemaRules\.typeChange: unknown value \"Coerce\""):
        parse_model_deployment(doc)
