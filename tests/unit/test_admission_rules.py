"""The rule declarations of api/validation.py: every rule has an admission case, the Python side reports
each case exactly as the API server will, and CEL's number formatting is reproduced."""

from __future__ import annotations

import pytest
from support.admission_cases import CASES, TRANSITIONS

from modelops.api import SpecError, parse_model_deployment
from modelops.api.admission_policy import POLICY_RULES, policy_documents
from modelops.api.crd import crd_document
from modelops.api.rules import ItemRule, cel_string, render_cel
from modelops.api.validation import RULES


def test_every_rule_has_an_admission_case() -> None:
    covered = {case.rule for case in CASES} | {t[0] for t in TRANSITIONS}
    assert covered == {rule.name for rule in RULES}
    assert len({rule.name for rule in RULES}) == len(RULES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_python_reports_the_case_with_field_and_message(case) -> None:
    with pytest.raises(SpecError) as caught:
        parse_model_deployment(case.document("bad", "default"))
    assert caught.value.errors == [f"{case.field}: {case.message}"]
    assert case.field.startswith(case.api_field)


def test_every_rule_is_in_the_crd_or_the_admission_policy() -> None:
    crd, policy = str(crd_document()), str(policy_documents())
    for rule in RULES:
        if rule in POLICY_RULES:  # on untyped quantities: CRD CEL cannot see them
            assert rule.cel not in crd and f"rule {rule.name} failed" in policy, rule.name
        else:
            assert rule.cel in crd, rule.name
    assert {r.name for r in POLICY_RULES} == {r.name for r in RULES if ".resources" in r.at} | {
        "autoscaling-needs-cpu-request"}
    root = crd_document()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    gates = root["properties"]["spec"]["properties"]["validation"]["properties"]["gates"]
    assert gates["maxItems"] >= 1  # CEL over a list needs a bound for the cost estimate
    fields = [entry.get("fieldPath") for entry in gates["items"]["x-kubernetes-validations"]]
    assert fields == [None, ".min"]


# Values the API server rendered with CEL's format("%s") in a probe (Go's shortest %g).
@pytest.mark.parametrize(("value", "text"), [(1.0, "1"), (1e6, "1e+06"), (0.1234567, "0.1234567"),
                                             (2.5e-05, "2.5e-05"), (123456.5, "123456.5"), (-3.0, "-3"),
                                             (0.9, "0.9"), (4, "4"), (True, "true"), ("loss", "loss")])
def test_values_are_written_as_cel_writes_them(value: object, text: str) -> None:
    assert cel_string(value) == text


def test_item_messages_read_the_first_offending_item() -> None:
    (rule,) = [r for r in RULES if isinstance(r, ItemRule) and r.name == "gate-metric-fits-task"]
    expression = render_cel(rule.message, "FIRST")
    assert "FIRST.metric" in expression and "g.metric" not in expression
    assert expression.startswith("'metric \"%s\" is not computed")
