"""Reconciling and Stalled: the two conditions GitOps tools read to tell 'still working' from 'stuck'.

kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status, generic.go `checkGenericProperties`), which Flux's
`wait`/`healthChecks` and kpt use, reads a custom resource in this order: status.observedGeneration
behind metadata.generation -> InProgress; `Reconciling=True` -> InProgress; `Stalled=True` -> Failed;
else `Ready` True -> Current, False -> InProgress. Both conditions have abnormal-true polarity: True only
while the deployment is working (Reconciling) or cannot get on without a person (Stalled). So every
phase lands on exactly one verdict a GitOps user expects:

- Current: a version serves, rolled out, not degraded, nothing under way (routine evaluations included).
- InProgress (Reconciling): a search, training, validation, rollout or canary is under way, serving is
  not answering yet, or a degradation retrain is coming (cooldown).
- Failed (Stalled): the spec is invalid, retries are exhausted, a stage of a spec's version failed, the
  candidate of the current spec was rejected by its gates, or the serving version is degraded and
  nothing retrains it (policy Alert/None, a pinned version, or a retrain would repeat the same inputs).
  Also when monitoring.consecutiveErrorLimit evaluations of the serving version failed in a row.
  Each of these waits for a spec or data edit; the message says which.

A small chain of rules in the cert-manager style: each returns a condition text or None, first wins.
"""

from __future__ import annotations

from collections.abc import Callable

from modelops.lifecycle import reasons
from modelops.lifecycle.conditions import condition_is_true, set_condition
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.evaluation_failures import failing, failing_text
from modelops.lifecycle.repeats import gave_up
from modelops.lifecycle.retrain_policy import retrain_wanted
from modelops.lifecycle.retraining import WOULD_REPEAT
from modelops.lifecycle.rollout import rollout_complete
from modelops.lifecycle.texts import ConditionText

NOT_STALLED: ConditionText = (False, reasons.NOT_STALLED, "nothing blocks progress")
RECONCILED: ConditionText = (False, reasons.RECONCILED, "no search, training, validation or rollout is under way")
# Stages that move the deployment towards its spec; a scheduled evaluation is routine, not reconciling.
_RECONCILING_STAGES = ("tune", "train", "validate")


def _latest(d: Draft) -> dict | None:
    versions = d.status.get("versions") or []
    return versions[-1] if versions else None


def _retrain_coming(d: Draft) -> bool:
    """Whether the serving version's degradation will be retried without anyone's edit."""
    status = d.status
    return (retrain_wanted(d.view.monitoring, status.get("lastEvaluation"))
            and d.view.serving.pinned_version is None
            and (status.get("retrain") or {}).get("waiting") != WOULD_REPEAT)


# ---------------------------------------------------------------- Stalled: waiting for a person
def _failed(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards Failed: invalid spec, exhausted retries, a failed stage of the spec's version, a bad pin."""
    failure = d.status.get("failure")
    return (True, str(failure["reason"]), str(failure["message"])) if failure else None


def _rejected(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards a refused spec: the candidate made for this spec failed its gates, and only an edit (new
    data or a changed spec) makes another. A refused degradation retrain is retried, so it is not here."""
    latest = _latest(d)
    if phase != "Rejected" or latest is None or latest.get("trigger") == "Degradation":
        return None
    return True, str(latest.get("reason") or reasons.GATE_FAILED), message


def _degraded_without_remedy(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards a degraded model nothing will retrain: a person must add data or edit the spec."""
    if phase not in ("Degraded", "Rejected") or not condition_is_true(d.status, "Degraded") or _retrain_coming(d):
        return None
    if (d.status.get("retrain") or {}).get("waiting") == WOULD_REPEAT:
        return True, WOULD_REPEAT, message
    if d.view.serving.pinned_version is not None:
        return True, reasons.DEGRADED_WHILE_PINNED, f"{message}; spec.serving.pinnedVersion rules out retraining"
    return True, reasons.DEGRADED_NO_RETRAIN, f"{message}; the monitoring policy does not retrain (set onDegradation/" \
                                      "onDrift to Retrain, or edit the spec)"


def _evaluations_failing(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards a blind deployment: monitoring.consecutiveErrorLimit evaluations in a row failed to run, so
    nobody knows whether the serving model is still good; a person must fix the evaluation (data, access)."""
    failures = failing(d.status)
    return (True, reasons.EVALUATIONS_FAILING, failing_text(failures)) if failures is not None else None


# ---------------------------------------------------------------- Reconciling: work under way
def _stage_running(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards work on a candidate: a search, training or validation Job is running."""
    stage = d.in_flight()
    return (True, phase, message) if stage is not None and stage["name"] in _RECONCILING_STAGES else None


def _rolling_out(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards serving changes: pods roll onto a new pinned version, or a canary waits for its verdict."""
    if not rollout_complete(d):
        return True, reasons.DEPLOYING, message
    canary = d.status.get("canaryVersion")
    if canary is not None:
        return True, reasons.CANARY_EVALUATING, (f"version {canary} serves as a canary beside version "
                                          f"{d.status.get('servingVersion')} until its evaluation promotes it")
    return None


def _not_answering(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards the first moments: nothing started yet, or serving is rolled out but not AVAILABLE."""
    if phase == "Pending":
        return True, reasons.PENDING, message
    if d.status.get("servingVersion") and not d.status.get("servingReady", True):
        serving = d.status["servingVersion"]
        return True, reasons.SERVING_NOT_READY, f"version {serving} is rolled out but does not answer yet"
    return None


def _retrain_pending(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards recovery: the serving version is degraded and a retrain will start after its cooldown."""
    if phase in ("Degraded", "Rejected") and condition_is_true(d.status, "Degraded") and _retrain_coming(d):
        return True, reasons.RETRAIN_PENDING, f"{message}; a retrain starts when spec.retraining.cooldown has passed"
    return None


Rule = Callable[[Draft, str, str], ConditionText | None]
STALLED_RULES: tuple[Rule, ...] = (_failed, _rejected, _degraded_without_remedy, _evaluations_failing, gave_up)
RECONCILING_RULES: tuple[Rule, ...] = (_stage_running, _rolling_out, _not_answering, _retrain_pending)


def _first(rules: tuple[Rule, ...], d: Draft, phase: str, message: str) -> ConditionText | None:
    return next((text for rule in rules if (text := rule(d, phase, message)) is not None), None)


def set_progress_conditions(d: Draft, phase: str, message: str) -> None:
    """Set Stalled and Reconciling for the phase just derived; never both True (kstatus reads whichever
    comes first in the list, so a contradiction would make the verdict depend on order)."""
    stalled = _first(STALLED_RULES, d, phase, message)
    reconciling = None if stalled is not None else _first(RECONCILING_RULES, d, phase, message)
    set_condition(d.status, "Reconciling", *(reconciling or RECONCILED), d.ctx.generation, d.now)
    set_condition(d.status, "Stalled", *(stalled or NOT_STALLED), d.ctx.generation, d.now)


def set_invalid_spec_conditions(status: dict, message: str, generation: int, now_stamp: str) -> None:
    """A spec no runtime can use is stalled until it is edited (no Draft: nothing else was decided)."""
    set_condition(status, "Reconciling", *RECONCILED, generation, now_stamp)
    set_condition(status, "Stalled", True, reasons.INVALID_SPEC, message, generation, now_stamp)
