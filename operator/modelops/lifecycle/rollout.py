"""Which versions should serve, and what serving reported back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.messages import ApplyServing, ServingObserved
from modelops.lifecycle.records import is_servable
from modelops.lifecycle.repeats import forget_repairs, repair_allowed, request_deletion
from modelops.lifecycle.retention import protected_versions, versions_to_delete


def desired_serving(d: Draft) -> dict[str, int] | None:
    """stable (and canary) the spec and the records call for; None when nothing may serve yet."""
    pinned = d.view.serving.pinned_version
    if pinned is not None:
        return {"stable": pinned} if is_servable(d.record(pinned)) else None
    serving = d.status.get("servingVersion")
    candidate = d.status.get("candidateVersion")
    candidate_ready = candidate is not None and (d.record(candidate) or {}).get("state") in ("Blessed", "Canary")
    if not candidate_ready:
        return {"stable": serving} if serving else None
    canary_on = d.view.serving.canary_enabled
    promoted = (d.record(candidate) or {}).get("canaryPassed", False)
    if canary_on and serving and serving != candidate and not promoted:
        return {"stable": serving, "canary": candidate}
    return {"stable": candidate}


def _pin(rollout: Mapping[str, Any] | None) -> dict[str, int | None] | None:
    return None if not rollout else {"stable": rollout.get("stable"), "canary": rollout.get("canary")}


def apply_desired_serving(d: Draft, force: bool = False, observed: ServingObserved | None = None) -> None:
    """Ask for the desired serving when it changed, when forced (a serving edit), or when the children
    a runtime just observed do not pin it (deleted or edited by someone): level-triggered repair."""
    desired = desired_serving(d)
    if desired is None:
        return
    changed = desired != d.status.get("rollout")
    drifted = observed is not None and _pin(observed.pinned) != _pin(desired)
    if not (changed or force or drifted):
        return
    if changed or force:
        forget_repairs(d)
    elif not repair_allowed(d, _found(observed)):  # bounded: lifecycle/repeats.py
        return
    d.status["rollout"] = desired
    d.actions.append(ApplyServing(stable=desired["stable"], canary=desired.get("canary")))
    what = f"version {desired['stable']}" + (f" with canary {desired['canary']}" if desired.get("canary") else "")
    if drifted and not (changed or force):
        pinned = None if observed is None else observed.pinned
        found = "missing" if pinned is None else f"pinning {_describe_pin(pinned)}"
        d.event("Warning", reasons.SERVING_REPAIRED, f"serving objects were {found}; re-applying {what}")
    else:
        d.event("Normal", reasons.ROLLING_OUT, f"serving {what}")


def _found(observed: ServingObserved | None) -> str:
    pinned = None if observed is None else observed.pinned
    return "missing" if pinned is None else f"pinning {_describe_pin(pinned)}"


def _describe_pin(pinned: Mapping[str, int | None]) -> str:
    """`version 3 with canary 4`: what the children pin, in words (never a dict with None in it)."""
    stable, canary = pinned.get("stable"), pinned.get("canary")
    text = f"version {stable}" if stable is not None else "no stable version"
    return text + (f" with canary {canary}" if canary is not None else "")


def rollout_complete(d: Draft) -> bool:
    rollout = d.status.get("rollout")
    if not rollout:
        return True
    return (d.status.get("servingVersion") == rollout["stable"]
            and d.status.get("canaryVersion") == rollout.get("canary"))


def on_serving_observed(d: Draft, obs: ServingObserved) -> None:
    rollout = d.status.get("rollout") or {}
    ready = obs.ready_versions
    stable, canary = rollout.get("stable"), rollout.get("canary")
    previous = d.status.get("servingVersion")
    if stable is not None and stable in ready and previous != stable:
        _start_serving(d, stable, previous)
    if canary is not None and canary in ready and d.status.get("canaryVersion") != canary:
        d.status["canaryVersion"] = canary
        _set_state(d, canary, "Canary", reasons.CANARY_SERVING)
        (d.record(canary) or {}).setdefault("servedAt", d.now)
        d.event("Normal", reasons.CANARY_SERVING, f"version {canary} serves as canary beside {stable}")
    if canary is None and d.status.get("canaryVersion") is not None:
        d.status.pop("canaryVersion", None)
    d.status["servingReady"] = d.status.get("servingVersion") in ready


def _set_state(d: Draft, version: int, state: str, reason: str) -> None:
    record = d.record(version)
    if record is not None:
        record.update(state=state, reason=reason)


def _start_serving(d: Draft, version: int, previous: int | None) -> None:
    d.status["servingVersion"] = version
    record = d.record(version) or {}
    record.update(state="Serving", reason=reasons.SERVING)
    record.setdefault("servedAt", d.now)
    if previous is not None and previous != version:
        old = d.record(previous)
        if old is not None and old["state"] == "Serving":
            old.update(state="Retired", reason=reasons.REPLACED, retiredAt=d.now)
    if d.status.get("candidateVersion") == version:
        d.status.pop("candidateVersion", None)
        # The new version starts healthy until evaluated; the degradation episode it was trained for
        # ends only when its own evaluation passes the rules that opened it (lifecycle.retraining).
        last = d.status.get("lastEvaluation")
        if last and last.get("version") != version:
            last["superseded"] = True
    d.event("Normal", reasons.VERSION_SERVING, f"version {version} is serving" +
            (f" (was {previous})" if previous else ""))
    _retention(d)


def _retention(d: Draft) -> None:
    keep = d.view.retention.keep_versions
    protected = protected_versions(d.status, d.view.serving.pinned_version)
    for version in versions_to_delete(d.status, keep, protected):
        request_deletion(d, version)
