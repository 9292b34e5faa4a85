"""decide(): the whole lifecycle as one pure function of (spec, status, observation, now).

Order: fold the observation into the records, react to a spec edit, decide serving, start the next
stage, then derive phase and conditions. No I/O; the runtimes execute the returned actions.
"""

from __future__ import annotations

from datetime import datetime

from modelops.lifecycle import reasons
from modelops.lifecycle.conditions import set_condition
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.in_flight import on_stage_missing
from modelops.lifecycle.messages import (
    CancelStage,
    Context,
    Decision,
    Observation,
    Reconcile,
    ServingObserved,
    StageFinished,
    StageMissing,
    VersionPruned,
)
from modelops.lifecycle.planning import plan_next_stage
from modelops.lifecycle.progress import set_invalid_spec_conditions
from modelops.lifecycle.record_trim import trim_records
from modelops.lifecycle.records import is_servable, serving_hash, training_hash
from modelops.lifecycle.repeats import on_version_pruned, reissue_pending_deletions
from modelops.lifecycle.rollout import apply_desired_serving, on_serving_observed
from modelops.lifecycle.stage_results import on_stage_finished
from modelops.lifecycle.summary import refresh_degraded, summarize


def _on_spec_change(d: Draft) -> bool:
    """A new generation: supersede stale work, clear a failure (a spec edit recovers), note serving edits."""
    status = d.status
    if status.get("observedGeneration") == d.ctx.generation:
        return False
    status["observedGeneration"] = d.ctx.generation
    recorded = status.get("trainingHash")
    model_changed = recorded is not None and recorded != training_hash(d.spec)
    if status.pop("failure", None) is not None:
        status["retrain"] = {"attempts": 0}
        if not model_changed and not status.get("servingVersion") and status.get("versions"):
            status["trainingHash"] = "retry"  # nothing serves: a spec edit means 'try again'
    if model_changed:
        stage = d.in_flight()
        if stage is not None and stage["name"] in ("tune", "train", "validate"):
            d.actions.append(CancelStage(stage["id"]))
            status.pop("stage")
            record = d.record(stage["version"]) or {}
            record.update(state="Failed", reason=reasons.SUPERSEDED, message="superseded by a spec edit")
        candidate = d.record(status.get("candidateVersion"))
        if candidate is not None and candidate["state"] not in ("Canary",):
            status.pop("candidateVersion", None)
            if candidate["state"] not in ("Failed", "Rejected"):
                candidate.update(state="Failed", reason=reasons.SUPERSEDED, message="superseded by a spec edit")
    new_serving = serving_hash(d.spec)
    changed = status.get("servingHash") not in (None, new_serving)
    status["servingHash"] = new_serving
    return changed


def _check_pin(d: Draft) -> None:
    pinned = d.view.serving.pinned_version
    if pinned is not None and not is_servable(d.record(pinned)):
        d.fail(reasons.INVALID_PIN, f"spec.serving.pinnedVersion: version {pinned} is not a blessed version with files "
                             "(see status.versions)")


def decide_invalid_spec(generation: int, now: datetime, status: dict | None, errors: list[str]) -> Decision:
    """A spec no runtime can use: Failed with every problem listed. Whatever serves keeps serving, and the
    next valid edit recovers, because a new generation clears the failure like any spec edit."""
    d = Draft.start(Context({}, generation, now), status)
    message = "; ".join(errors)[:2000]
    d.status["observedGeneration"] = generation
    d.fail(reasons.INVALID_SPEC, message)
    d.status["phase"], d.status["message"] = "Failed", message
    set_condition(d.status, "Ready", False, reasons.INVALID_SPEC, message, generation, d.now)
    set_invalid_spec_conditions(d.status, message, generation, d.now)
    return Decision(d.status, d.actions)


def decide(ctx: Context, status: dict | None, observation: Observation) -> Decision:
    d = Draft.start(ctx, status)
    previous_phase = d.status.get("phase")
    if isinstance(observation, StageFinished):
        on_stage_finished(d, observation)
    elif isinstance(observation, ServingObserved):
        on_serving_observed(d, observation)
    elif isinstance(observation, VersionPruned):
        on_version_pruned(d, observation)
    elif isinstance(observation, StageMissing):
        on_stage_missing(d, observation)
    serving_edited = _on_spec_change(d)
    _check_pin(d)
    refresh_degraded(d)
    apply_desired_serving(d, force=serving_edited,
                          observed=observation if isinstance(observation, ServingObserved) else None)
    if isinstance(observation, Reconcile):
        reissue_pending_deletions(d)
    plan_next_stage(d)
    trim_records(d)
    summarize(d, previous_phase)
    requeue = min(d.requeue) if d.requeue else None
    return Decision(d.status, d.actions, requeue)
