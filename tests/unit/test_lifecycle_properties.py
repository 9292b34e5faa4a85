"""Invariants of the lifecycle core under arbitrary event sequences (hypothesis)."""

from __future__ import annotations

import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifecycle_helpers import GOOD, Driver, sample_spec

from modelops.lifecycle import DeleteVersion, EmitEvent, Reconcile, ServingObserved, StageFinished
from modelops.lifecycle.records import find_version

SPEC = sample_spec(**{"retraining.cooldown": "30s", "retraining.maxAttempts": 2,
                      "monitoring.interval": "60s"})
CANARY_SPEC = sample_spec(**{"retraining.cooldown": "30s", "serving.canary": {"enabled": True, "replicas": 1},
                             "monitoring.interval": "60s"})

# What a stage may report for one metric: any float (a diverged run reports NaN or infinity), the bounds
# of a score exactly, or null (the result contract writes a non-finite number as null); a metric may also be
# missing altogether. Drawing only plausible scores could never find the crash on a NaN (#26).
metric_value = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                         st.sampled_from([0.0, 1.0, math.nan, math.inf, -math.inf]), st.none())
metric_values = st.fixed_dictionaries({}, optional={"accuracy": metric_value, "auc": metric_value,
                                                    "loss": metric_value})
events = st.one_of(
    st.tuples(st.just("finish_ok"), metric_values),
    st.tuples(st.just("finish_error"), st.just({})),
    st.tuples(st.just("ready_all"), st.just({})),
    st.tuples(st.just("ready_none"), st.just({})),
    st.tuples(st.just("tick"), st.integers(1, 400)),
    st.tuples(st.just("edit_training"), st.integers(1, 50)),
    st.tuples(st.just("edit_serving"), st.integers(1, 5)),
)


def _observation(d: Driver, kind: str, arg):
    stage = d.stage()
    if kind == "finish_ok" and stage:
        result = {"metrics": dict(arg)}
        if stage["name"] == "validate" and d.status.get("servingVersion"):
            result["baselineMetrics"] = GOOD
            result["challenge"] = {"rows": 50, "candidate": dict(arg), "baseline": GOOD}
        return StageFinished(stage["id"], True, result)
    if kind == "finish_error" and stage:
        return StageFinished(stage["id"], False, {"error": "boom", "reason": "Crash"})
    rollout = d.status.get("rollout") or {}
    pinned = {"stable": rollout["stable"], "canary": rollout.get("canary")} if rollout else None
    if kind == "ready_all":
        return ServingObserved(frozenset(v for v in rollout.values() if v), pinned)
    if kind == "ready_none":
        return ServingObserved(frozenset(), pinned)
    return None


def _served_versions_passed_every_gate(d: Driver) -> None:
    for key in ("servingVersion", "canaryVersion"):
        version = d.status.get(key)
        if version is not None:
            record = find_version(d.status, version)
            assert record is not None
            assert all(g["passed"] for g in record.get("gates", [])), f"{key} {version} failed a gate"
            assert record["state"] in ("Serving", "Canary", "Blessed")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.sampled_from([SPEC, CANARY_SPEC]), script=st.lists(events, min_size=1, max_size=40))
def test_invariants_hold_for_any_event_sequence(spec: dict, script: list) -> None:
    d = Driver(copy.deepcopy(spec))
    d.feed(Reconcile())
    epochs = 20
    for kind, arg in script:
        before = copy.deepcopy(d.status)
        if kind == "tick":
            d.advance(arg)
            observation = Reconcile()
        elif kind == "edit_training":
            epochs += arg
            d.edit(sample_spec(**{"training.hyperparameters.epochs": epochs, "retraining.cooldown": "30s",
                                  "monitoring.interval": "60s", "serving.canary": spec["serving"]["canary"]}))
            assert d.status["phase"] != "Failed" or "pinnedVersion" in d.status["message"]
            continue
        elif kind == "edit_serving":
            d.edit({**d.spec, "serving": {**d.spec["serving"], "replicas": arg}})
            continue
        else:
            observation = _observation(d, kind, arg)
            if observation is None:
                continue
        decision = d.feed(observation)

        # Idempotence: the same observation again changes nothing and asks for nothing, except that
        # deletions not yet confirmed are asked for again (level-triggered retention).
        again = d.feed(observation)
        repeated = [a for a in again.actions if not isinstance(a, DeleteVersion)]
        assert repeated == [], f"repeat of {observation} produced {again.actions}"
        assert again.status == decision.status

        # Version numbers only increase and are never reused.
        numbers = [r["version"] for r in d.status.get("versions", [])]
        assert numbers == sorted(set(numbers))
        assert d.status.get("latestVersion", 0) >= max(numbers, default=0)
        assert set(numbers) >= {r["version"] for r in before.get("versions", [])}

        # A version that failed any gate never serves.
        _served_versions_passed_every_gate(d)

        # A rejected candidate leaves the serving version untouched.
        newly_rejected = [r for r in d.status.get("versions", []) if r["state"] == "Rejected"
                          and (find_version(before, r["version"]) or {}).get("state") != "Rejected"]
        if newly_rejected and isinstance(observation, StageFinished):
            assert d.status.get("servingVersion") == before.get("servingVersion")

        # Failed always says why.
        if d.status["phase"] == "Failed":
            assert d.status["message"] and d.status["failure"]["reason"]

        # User texts never print a missing value, and one decision posts each reason at most once.
        texts = [d.status["message"], *(c["message"] for c in d.status["conditions"]),
                 *(a.message for a in decision.actions if isinstance(a, EmitEvent))]
        assert not [t for t in texts if "None" in t], texts
        reasons = [a.reason for a in decision.actions if isinstance(a, EmitEvent)]
        assert len(reasons) == len(set(reasons)), reasons
