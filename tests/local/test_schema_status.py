"""`modelops status` shows each version's schema in summary and what the checks of its data found."""

from __future__ import annotations

from pathlib import Path

from modelops.local import status_cli
from modelops.local.schema_view import describe_schema, describe_schema_check
from modelops.local.state_store import StateStore

SUMMARY = {"features": 7, "kinds": {"numeric": 4, "integer": 1, "categorical": 2}, "rows": 333,
           "droppedUnlabelled": 2, "featuresWithMissing": 5, "classes": ["Adelie", "Chinstrap", "Gentoo"],
           "numClasses": 3}
CHECK = {"version": 1, "failed": 0, "drifted": 2, "accepted": 1, "anomalies": [
    {"column": "island", "kind": "unseenCategory", "action": "Drift", "count": 4, "rows": 40},
    {"column": "sex", "kind": "missingValues", "action": "Drift", "count": 12, "rows": 40},
    {"column": "tag", "kind": "extraColumn", "action": "Accept", "count": 40, "rows": 40}]}


def test_schema_summary_in_one_line() -> None:
    assert describe_schema(SUMMARY) == ("7 features (4 numeric, 1 integer, 2 categorical), 333 rows (2 unlabelled "
                                        "left out), 5 with missing cells, 3 classes: Adelie, Chinstrap, Gentoo")
    binary = {"features": 2, "kinds": {"numeric": 2}, "rows": 10, "classes": ["no", "yes"], "numClasses": 2,
              "positiveClass": "yes"}
    assert describe_schema(binary).endswith("2 classes: no, yes (positive yes)")
    assert describe_schema(None) == "-"


def test_schema_check_in_one_line() -> None:
    assert describe_schema_check(CHECK) == (
        "v1 schema: 3 anomalies (2 drift, 1 accepted): island unseenCategory x4 -> Drift; "
        "sex missingValues x12 -> Drift; tag extraColumn x40 -> Accept")
    assert describe_schema_check({"version": 2, "failed": 0, "drifted": 0, "accepted": 0, "anomalies": []}) == \
        "v2 schema: no anomalies"
    assert describe_schema_check({**CHECK, "accepted": 6}).endswith("; 5 more")  # more counted than listed


def test_status_text_has_a_schema_section_and_the_evaluation_check(tmp_path: Path, capsys) -> None:
    store = StateStore(tmp_path, "default", "penguins")
    store.save_status({
        "phase": "Serving", "servingVersion": 1,
        "versions": [{"version": 1, "state": "Serving", "metrics": {"accuracy": 0.97}, "schema": SUMMARY,
                      "schemaCheck": {**CHECK, "stage": "validate"}},
                     {"version": 2, "state": "Failed", "reason": "SchemaViolation"}],
        "lastEvaluation": {"time": "2026-12-07T08:00:00Z", "version": 1, "metrics": {"accuracy": 0.9},
                           "schemaCheck": CHECK},
    })
    assert status_cli.main(["penguins", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    section = out[out.index("Schema:"):]
    assert "7 features (4 numeric, 1 integer, 2 categorical)" in section and "island unseenCategory x4" in section
    assert "\n  data check: v1 schema: 3 anomalies (2 drift, 1 accepted)" in out
