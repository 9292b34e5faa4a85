"""Reconciling and Stalled (lifecycle/progress.py) over every phase and failure, without any GitOps tool:
the invariants kstatus relies on (tests/cluster/test_gitops_status.py asks kstatus itself)."""

from __future__ import annotations

import pytest
from support.gitops_scenarios import SCENARIOS, Scenario


def _by_type(status: dict) -> dict[str, dict]:
    return {c["type"]: c for c in status["conditions"]}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_progress_conditions_follow_kstatus_semantics(scenario: Scenario) -> None:
    obj = scenario.object()
    status = obj["status"]
    conditions = _by_type(status)
    reconciling, stalled, ready = conditions["Reconciling"], conditions["Stalled"], conditions["Ready"]
    # kstatus takes whichever True condition comes first: never both, so the order cannot matter
    assert not (reconciling["status"] == "True" and stalled["status"] == "True")
    # Ready=False alone reads InProgress forever: every not-ready state says which of the two it is
    if ready["status"] != "True":
        assert "True" in (reconciling["status"], stalled["status"]), (scenario.name, status["phase"])
    # Failed / Rejected phases are Stalled; a stage of the spec's own version in flight is Reconciling
    if status["phase"] == "Failed":
        assert stalled["status"] == "True" and stalled["reason"] == status["failure"]["reason"]
    if status["phase"] in ("Tuning", "Training", "Validating", "Retraining", "Deploying"):
        assert reconciling["status"] == "True" and reconciling["reason"] == status["phase"]
    # every condition says which generation it speaks of
    assert {c["observedGeneration"] for c in status["conditions"]} == {status["observedGeneration"]}


def test_stalled_clears_when_a_spec_edit_recovers() -> None:
    from unit.lifecycle_helpers import GOOD, Driver, sample_spec

    from modelops.lifecycle import Reconcile
    d = Driver(sample_spec())
    d.feed(Reconcile())
    d.finish(metrics={"loss": 0.3})
    d.finish(metrics={**GOOD, "accuracy": 0.5})  # first version rejected: stalled until an edit
    assert _by_type(d.status)["Stalled"]["status"] == "True"
    stalled_since = _by_type(d.status)["Stalled"]["lastTransitionTime"]
    d.advance(60)
    d.edit(sample_spec(**{"training.hyperparameters.epochs": 60}))
    conditions = _by_type(d.status)
    assert conditions["Stalled"]["status"] == "False" and conditions["Reconciling"]["status"] == "True"
    assert conditions["Stalled"]["lastTransitionTime"] != stalled_since
    assert conditions["Stalled"]["observedGeneration"] == 2
