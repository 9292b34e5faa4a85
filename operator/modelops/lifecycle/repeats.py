"""Bounded repeats: the actions the core repeats on its own stop after a bound (issue #26).

Two actions are repeated without anyone asking: removing the files of a version retention let go, and
re-applying serving objects someone deleted or changed (repair). Either can fail or be undone for ever
— a volume that refuses the delete, another controller that fights over the Deployment — and a loop
that repeats it every couple of minutes hides the cause and loads the API server. So each is retried
with exponential backoff (`Context.repeat`, lifecycle/repeat_policy.py) at most `attempts` times; the
count and the bound are in status (a version record's `deletion`, `status.servingRepairs`); at the
bound the core stops, posts one Warning Event and sets `Stalled=True` with the same reason, until the
next spec edit (a new generation) grants a fresh budget. A repair count also starts afresh once no
repair was needed for `quiet_seconds`, so serving deleted by hand now and then is repaired every time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from modelops.lifecycle.clock import parse_stamp, stamp
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.messages import DeleteVersion, VersionPruned
from modelops.lifecycle.reasons import PRUNE_FAILED, PRUNE_GAVE_UP, SERVING_REPAIR_GAVE_UP
from modelops.lifecycle.texts import ConditionText

# A deletion asked for is looked at again this often while unconfirmed: a lost action never leaks files.
PRUNE_RECHECK_SECONDS = 120.0
MAX_MESSAGE = 500


def _seconds_until(d: Draft, when: str | None) -> float:
    due = parse_stamp(when)
    return 0.0 if due is None else max(0.0, (due - d.ctx.now).total_seconds())


def _later(d: Draft, seconds: float) -> str:
    return stamp(d.ctx.now + timedelta(seconds=seconds))


# ---------------------------------------------------------------- retention
def request_deletion(d: Draft, version: int) -> None:
    """Retention let `version` go: ask for its files to be removed (attempt 1 of the bound)."""
    record = d.record(version)
    if record is not None and not record.get("deletion"):
        record["deletion"] = {"attempt": 1, "limit": d.ctx.repeat.attempts}
        d.actions.append(DeleteVersion(version, 1))


def reissue_pending_deletions(d: Draft) -> None:
    """Level-triggered retention: a decided deletion is asked for again until a runtime confirms it (so
    a lost action never leaks a version's files) — but not before its backoff has passed, and not at
    all once it gave up, until the spec generation changes."""
    issued = {a.version for a in d.actions if isinstance(a, DeleteVersion)}
    waiting = False
    for record in d.status.get("versions", []):
        deletion: dict[str, Any] | None = record.get("deletion")
        if not deletion or record.get("deleted"):
            continue
        if deletion.get("gaveUp"):
            if deletion.get("generation") == d.ctx.generation:
                continue
            # a spec edit since: a fresh budget, under a new attempt number (a new Job name)
            deletion = record["deletion"] = {"attempt": int(deletion.get("attempt", 1)) + 1,
                                             "limit": d.ctx.repeat.attempts}
        deletion["limit"] = d.ctx.repeat.attempts
        wait = _seconds_until(d, deletion.get("nextAttemptTime"))
        if wait > 0:
            d.requeue.append(wait)
            continue
        deletion.pop("nextAttemptTime", None)
        if record["version"] not in issued:
            d.actions.append(DeleteVersion(record["version"], int(deletion.get("attempt", 1))))
        waiting = True
    if waiting:
        d.requeue.append(PRUNE_RECHECK_SECONDS)


def on_version_pruned(d: Draft, obs: VersionPruned) -> None:
    """Confirm a removal, or count its failure: retry after a backoff, or give up at the bound."""
    record = d.record(obs.version)
    deletion: dict[str, Any] | None = None if record is None else record.get("deletion")
    if record is None or not deletion:
        return
    if obs.deleted:
        record.pop("deletion")
        record["deleted"] = True
        return
    attempt = int(deletion.get("attempt", 1))
    if deletion.get("gaveUp") or (obs.attempt is not None and obs.attempt != attempt):
        return  # an earlier attempt reported again (its Job changed after it finished): counted already
    failures = int(deletion.get("failures", 0)) + 1
    limit = d.ctx.repeat.attempts  # the runtime's bound now (its flags may have changed since the request)
    message = obs.message[:MAX_MESSAGE]
    if failures >= limit:
        record["deletion"] = {"attempt": attempt, "failures": failures, "limit": limit, "message": message,
                              "gaveUp": True, "generation": d.ctx.generation}
        d.event("Warning", PRUNE_GAVE_UP, f"removing version {obs.version}'s files failed {failures} times in a "
                                          f"row, the last: {message}; they stay until the spec is edited")
        return
    delay = d.ctx.repeat.delay_after(failures)
    record["deletion"] = {"attempt": attempt + 1, "failures": failures, "limit": limit, "message": message,
                          "nextAttemptTime": _later(d, delay)}
    d.requeue.append(delay)
    d.event("Warning", PRUNE_FAILED, f"removing version {obs.version}'s files failed (attempt {failures} of "
                                     f"{limit}): {message}; retrying in {delay:.0f}s")


# ---------------------------------------------------------------- serving repair
def repair_allowed(d: Draft, found: str) -> bool:
    """Whether the serving objects, found `found` ("missing", "pinning version 7"), may be re-applied now.

    Counts the repair in status.servingRepairs when it may; otherwise asks to be woken when it may (the
    runtime observes serving again on that reconcile), or, at the bound, gives up with one Event."""
    policy = d.ctx.repeat
    repairs: dict[str, Any] = dict(d.status.get("servingRepairs") or {})
    last = parse_stamp(repairs.get("lastRepairTime"))
    if repairs.get("gaveUp"):
        if repairs.get("generation") == d.ctx.generation:
            return False
        repairs = {}  # a spec edit since: a fresh budget
    elif last is not None and (d.ctx.now - last).total_seconds() > policy.quiet_seconds:
        repairs = {}  # no repair needed for a long while: this is a new episode, not the same fight
    count = int(repairs.get("count", 0))
    if count >= policy.attempts:
        d.status["servingRepairs"] = {**repairs, "gaveUp": True, "generation": d.ctx.generation,
                                      "message": f"serving objects were {found}"}
        d.event("Warning", SERVING_REPAIR_GAVE_UP, _gave_up_text(d.status["servingRepairs"]))
        return False
    wait = _seconds_until(d, repairs.get("nextRepairTime"))
    if wait > 0:
        d.requeue.append(wait)
        return False
    count += 1
    d.status["servingRepairs"] = {"count": count, "limit": policy.attempts, "lastRepairTime": d.now,
                                  "nextRepairTime": _later(d, policy.delay_after(count)),
                                  "message": f"serving objects were {found}"}
    return True


def _gave_up_text(repairs: dict[str, Any]) -> str:
    return (f"{repairs.get('message', 'serving objects were changed')} again after {repairs.get('count', 0)} "
            "repairs in a row; no more repairs until the spec is edited (is another controller managing them?)")


def forget_repairs(d: Draft) -> None:
    """Serving was applied because it was wanted (a new rollout, a serving edit), not repaired."""
    d.status.pop("servingRepairs", None)


# ---------------------------------------------------------------- Stalled
def gave_up(d: Draft, phase: str, message: str) -> ConditionText | None:
    """Guards bounded repeats: a removal or a repair reached its bound and waits for a spec edit."""
    repairs = d.status.get("servingRepairs") or {}
    if repairs.get("gaveUp") and repairs.get("generation") == d.ctx.generation:
        return True, SERVING_REPAIR_GAVE_UP, _gave_up_text(repairs)
    for record in d.status.get("versions", []):
        deletion = record.get("deletion") or {}
        if deletion.get("gaveUp") and deletion.get("generation") == d.ctx.generation:
            return True, PRUNE_GAVE_UP, (f"version {record['version']}'s files could not be removed "
                                         f"({deletion.get('failures')} attempts of {deletion.get('limit')}): "
                                         f"{deletion.get('message', '')}; edit the spec to try again")
    return None
