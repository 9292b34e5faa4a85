"""Persistent refusals (issue #26): a refused stage Job fails its version with the server's words and stalls
under JobRejected; any other refusal fails the deployment once (one Event), and the next spec edit resumes.
Also the operator's classification of errors and its backoff."""

from __future__ import annotations

import pytest
from lifecycle_helpers import Driver, conditions, sample_spec, started

from modelops.contract.reasons import JOB_REJECTED, SERVING_REJECTED
from modelops.kube.client import ApiError
from modelops.kube.errors import Backoff, is_refusal, is_transient, refusal_text
from modelops.lifecycle import Context, EmitEvent, Reconcile
from modelops.lifecycle.refusals import decide_refused

QUOTA = 'jobs.batch "churn-train-v1" is forbidden: exceeded quota: no-jobs'


def _stalled(status: dict) -> dict:
    return next(c for c in status["conditions"] if c["type"] == "Stalled")


def test_a_refused_train_job_fails_the_version_and_stalls_until_the_spec_changes() -> None:
    driver = Driver(sample_spec())
    driver.feed(Reconcile())
    decision = driver.finish(False, error=f"the API server refused the train Job: {QUOTA}", reason=JOB_REJECTED)
    status = decision.status
    (record,) = status["versions"]
    assert (record["state"], record["reason"]) == ("Failed", JOB_REJECTED) and QUOTA in record["message"]
    assert status["phase"] == "Failed" and "stage" not in status and not started(decision)
    assert (_stalled(status)["status"], _stalled(status)["reason"]) == ("True", JOB_REJECTED)
    assert [a.reason for a in decision.actions if isinstance(a, EmitEvent)] == [JOB_REJECTED]
    assert not started(driver.feed(Reconcile()))  # no retry of its own

    edited = driver.edit(sample_spec(**{"training.hyperparameters.epochs": 7}))
    assert [a.stage_id for a in started(edited)] == ["train-v2"]
    assert conditions(edited.status)["Stalled"] == "False"


def test_another_refusal_fails_the_deployment_once_and_a_spec_edit_resumes() -> None:
    driver = Driver(sample_spec())
    driver.to_serving()
    message = 'the API server refused Deployment churn: Deployment.apps "churn" is invalid: spec.replicas'
    refused = decide_refused(Context(driver.spec, 1, driver.now), driver.status, SERVING_REJECTED, message)
    assert refused.status["phase"] == "Failed" and refused.status["servingVersion"] == 1  # it keeps serving
    assert _stalled(refused.status)["reason"] == SERVING_REJECTED and _stalled(refused.status)["message"] == message
    assert conditions(refused.status)["Ready"] == "False" and conditions(refused.status)["Reconciling"] == "False"
    assert [(a.type, a.reason) for a in refused.actions] == [("Warning", SERVING_REJECTED)]
    again = decide_refused(Context(driver.spec, 1, driver.now), refused.status, SERVING_REJECTED, message)
    assert again.actions == [] and again.status == refused.status  # nothing new to write or post

    driver.status = refused.status
    edited = driver.edit(sample_spec(**{"serving.replicas": 2}))
    assert "failure" not in edited.status and conditions(edited.status)["Stalled"] == "False"


def test_a_refusal_before_the_generation_was_decided_still_answers_it() -> None:
    driver = Driver(sample_spec(), generation=3)
    refused = decide_refused(Context(driver.spec, 3, driver.now), {}, "ReconcileError", "deciding failed")
    assert refused.status["observedGeneration"] == 3  # kstatus reads Stalled, not "not yet observed"


@pytest.mark.parametrize(("status", "transient"), [(0, True), (409, True), (429, True), (500, True), (503, True),
                                                    (400, False), (403, False), (404, False), (422, False)])
def test_errors_are_transient_or_refusals(status: int, transient: bool) -> None:
    error = ApiError(status, f"POST /x: HTTP {status}: no", "no")
    assert is_transient(error) is transient and is_refusal(error) is (not transient)


def test_an_exception_while_deciding_is_persistent_and_named() -> None:
    error = TypeError("float() argument must be a string or a real number, not 'NoneType'")
    assert not is_transient(error) and not is_refusal(error)
    assert refusal_text(error) == ("ReconcileError", f"deciding failed with TypeError: {error}")


def test_backoff_doubles_up_to_its_cap_per_object_and_resets() -> None:
    backoff = Backoff(base=5, cap=300)
    a, b = ("ml", "a"), ("ml", "b")
    assert [backoff.failed(a) for _ in range(9)] == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff.failed(b) == 5  # per object
    backoff.succeeded(a)
    assert backoff.failed(a) == 5 and backoff.failures(b) == 1
