"""Every condition's reason and message, and the one gate summary, written in one place.

Users act on these texts, so each condition speaks only of its own subject (Trained of training,
Validated of the gates, Degraded of the serving version's evaluations), never prints "None" or a run
id, and the gate summary reads the same in the Validated event, the status and `modelops status`.
Pure functions of records and status values; `summary` applies them after every decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelops.lifecycle.gates import gate_text

# A condition as (status, reason, message); status None means Unknown.
ConditionText = tuple[bool | None, str, str]

VALIDATED_STATES = ("Blessed", "Canary", "Serving", "Retired")


# ---------------------------------------------------------------- conditions
def trained_condition(record: Mapping[str, Any]) -> ConditionText:
    """Trained speaks of the newest version's training only."""
    version, state = record["version"], record["state"]
    if state in ("Tuning", "Tuned"):
        return None, "Tuning", f"version {version}: searching hyperparameters before training"
    if state == "Training":
        return None, "Training", f"version {version}: training"
    if "trainedAt" not in record and state == "Failed":
        return False, str(record.get("reason") or "TrainingFailed"), f"version {version}: {_message(record)}"
    return True, "Trained", f"version {version} trained"


def validated_condition(record: Mapping[str, Any]) -> ConditionText:
    """Validated speaks of the newest version's gates only."""
    version, state = record["version"], record["state"]
    if state in ("Tuning", "Tuned", "Training"):
        return None, "AwaitingTraining", f"version {version}: waiting for training to finish"
    if state == "Failed" and "trainedAt" not in record:
        return None, "NotTrained", f"version {version} was not validated: {_message(record)}"
    if state == "Trained":
        return None, "AwaitingValidation", f"version {version}: trained, validation not started yet"
    if state == "Validating":
        return None, "Validating", f"version {version}: validating"
    if state in VALIDATED_STATES:
        return True, "GatesPassed", f"version {version}: {gate_text(record.get('gates') or [])}"
    if state == "Rejected":
        return False, str(record.get("reason") or "GateFailed"), f"version {version} rejected: {_message(record)}"
    return False, str(record.get("reason") or "ValidationFailed"), f"version {version}: {_message(record)}"


def available_condition(serving: int | None, ready: bool) -> ConditionText:
    if serving and ready:
        return True, "VersionAvailable", f"version {serving} is available"
    if serving:
        return False, "ServingNotReady", f"version {serving} is rolled out but does not answer yet"
    return False, "NoVersionServing", "no validated version serves yet"


def degraded_condition(spec: Mapping[str, Any], serving: int | None, last: Mapping[str, Any],
                       floors_unmet: Sequence[str] = ()) -> ConditionText | None:
    """Degraded speaks of the serving version's latest evaluation; None leaves the condition as it is
    (an evaluation that failed to run says nothing about the model)."""
    if not serving:
        return False, "NothingServing", "no version serves yet, so none is evaluated"
    if floors_unmet and not (last.get("version") == serving and last.get("degraded") and not last.get("superseded")):
        return True, "FloorUnmet", (f"version {serving} replaced a worse version but still misses a validation floor: "
                                    f"{'; '.join(floors_unmet)}")
    if not (spec.get("monitoring") or {}).get("dataset"):
        return False, "NotMonitored", f"version {serving} is not evaluated: spec.monitoring.dataset is not set"
    if not last or last.get("superseded"):
        reason = "NewVersionServing" if last else "NoEvaluation"
        return False, reason, f"version {serving} has not been evaluated yet"
    if last.get("version") != serving or "error" in last:
        return None
    if last.get("verdict") == "Inconclusive":
        return None, "EvaluationInconclusive", f"version {serving}: {last.get('message', 'too few unseen rows')}"
    if last.get("degraded"):
        return True, str(last.get("reason") or "Degraded"), f"version {serving}: {'; '.join(last.get('reasons', []))}"
    return False, "Healthy", f"version {serving} passed every degradation rule in its last evaluation"


def would_repeat_condition(serving: int | None, last: Mapping[str, Any], reason: str,
                           subject: str = "the serving version") -> ConditionText:
    """`subject` names the version a retrain would repeat (the serving one or a rejected candidate)."""
    reasons = "; ".join(last.get("reasons", []))
    return True, reason, (f"version {serving}: {reasons}; a retrain would read the same data and spec as "
                          f"{subject}: add new labelled data or edit spec.training")


def ready_condition(ready: bool, serving: int | None, phase: str, message: str) -> ConditionText:
    """Ready speaks of the deployment as a whole: when false, its reason names the phase (or
    ServingNotReady) and its message is the phase's, so readers see why at a glance."""
    if ready:
        return True, "Ready", f"version {serving} is serving, rolled out and not degraded"
    return False, "ServingNotReady" if phase == "Serving" else phase, message


def _message(record: Mapping[str, Any]) -> str:
    return str(record.get("message") or record.get("reason") or record["state"])
