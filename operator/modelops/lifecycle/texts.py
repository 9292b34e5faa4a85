"""Every condition's reason and message, and the one gate summary, written in one place.

Users act on these texts, so each condition speaks only of its own subject (Trained of training,
Validated of the gates, Degraded of the serving version's evaluations), never prints "None" or a run
id, and the gate summary reads the same in the Validated event, the status and `modelops status`.
Pure functions of records and status values; `summary` applies them after every decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.gates import gate_text

# A condition as (status, reason, message); status None means Unknown.
ConditionText = tuple[bool | None, str, str]

VALIDATED_STATES = ("Blessed", "Canary", "Serving", "Retired")


# ---------------------------------------------------------------- conditions
def trained_condition(record: Mapping[str, Any]) -> ConditionText:
    """Trained speaks of the newest version's training only."""
    version, state = record["version"], record["state"]
    if state in ("Tuning", "Tuned"):
        return None, reasons.TUNING, f"version {version}: searching hyperparameters before training"
    if state == "Training":
        return None, reasons.TRAINING, f"version {version}: training"
    if "trainedAt" not in record and state == "Failed":
        return False, str(record.get("reason") or reasons.TRAINING_FAILED), f"version {version}: {_message(record)}"
    return True, reasons.TRAINED, f"version {version} trained"


def validated_condition(record: Mapping[str, Any]) -> ConditionText:
    """Validated speaks of the newest version's gates only."""
    version, state = record["version"], record["state"]
    if state in ("Tuning", "Tuned", "Training"):
        return None, reasons.AWAITING_TRAINING, f"version {version}: waiting for training to finish"
    if state == "Failed" and "trainedAt" not in record:
        return None, reasons.NOT_TRAINED, f"version {version} was not validated: {_message(record)}"
    if state == "Trained":
        return None, reasons.AWAITING_VALIDATION, f"version {version}: trained, validation not started yet"
    if state == "Validating":
        return None, reasons.VALIDATING, f"version {version}: validating"
    if state in VALIDATED_STATES:
        return True, reasons.GATES_PASSED, f"version {version}: {gate_text(record.get('gates') or [])}"
    if state == "Rejected":
        reason = str(record.get("reason") or reasons.GATE_FAILED)
        return False, reason, f"version {version} rejected: {_message(record)}"
    return False, str(record.get("reason") or reasons.VALIDATION_FAILED), f"version {version}: {_message(record)}"


def available_condition(serving: int | None, ready: bool) -> ConditionText:
    if serving and ready:
        return True, reasons.VERSION_AVAILABLE, f"version {serving} is available"
    if serving:
        return False, reasons.SERVING_NOT_READY, f"version {serving} is rolled out but does not answer yet"
    return False, reasons.NO_VERSION_SERVING, "no validated version serves yet"


def degraded_condition(spec: Mapping[str, Any], serving: int | None, last: Mapping[str, Any],
                       floors_unmet: Sequence[str] = ()) -> ConditionText | None:
    """Degraded speaks of the serving version's latest evaluation; None leaves the condition as it is
    (an evaluation that failed to run says nothing about the model)."""
    if not serving:
        return False, reasons.NOTHING_SERVING, "no version serves yet, so none is evaluated"
    if floors_unmet and not (last.get("version") == serving and last.get("degraded") and not last.get("superseded")):
        return True, reasons.FLOOR_UNMET, (f"version {serving} replaced a worse version but still misses a "
                                           f"validation floor: {'; '.join(floors_unmet)}")
    if not (spec.get("monitoring") or {}).get("dataset"):
        return False, reasons.NOT_MONITORED, f"version {serving} is not evaluated: spec.monitoring.dataset is not set"
    if not last or last.get("superseded"):
        reason = reasons.NEW_VERSION_SERVING if last else reasons.NO_EVALUATION
        return False, reason, f"version {serving} has not been evaluated yet"
    if last.get("version") != serving or "error" in last:
        return None
    if last.get("verdict") == "Inconclusive":
        return None, reasons.EVALUATION_INCONCLUSIVE, f"version {serving}: {last.get('message', 'too few unseen rows')}"
    if last.get("degraded"):
        why = "; ".join(last.get("reasons", []))
        return True, str(last.get("reason") or reasons.DEGRADED), f"version {serving}: {why}"
    return False, reasons.HEALTHY, f"version {serving} passed every degradation rule in its last evaluation"


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
        return True, reasons.READY, f"version {serving} is serving, rolled out and not degraded"
    return False, reasons.SERVING_NOT_READY if phase == "Serving" else phase, message


def _message(record: Mapping[str, Any]) -> str:
    return str(record.get("message") or record.get("reason") or record["state"])
