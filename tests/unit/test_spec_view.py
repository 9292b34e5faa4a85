"""The typed spec view reads defaults from the schema (api/spec_view.py): stated once, never re-typed."""

from __future__ import annotations

import dataclasses

import pytest
from lifecycle_helpers import sample_spec

from modelops.api.durations import parse_duration
from modelops.api.spec_schema import SPEC
from modelops.api.spec_view import drift_rule, view


def _default(*path: str):
    node = SPEC
    for key in path:
        node = node.properties[key]  # type: ignore[attr-defined]
    return node.default


MINIMAL = {k: v for k, v in sample_spec().items() if k in ("task", "storage", "training", "validation")}


@pytest.mark.parametrize(("read", "path"), [
    (lambda v: v.monitoring.consecutive_error_limit, ("monitoring", "consecutiveErrorLimit")),
    (lambda v: v.retention.keep_versions, ("retention", "keepVersions")),
    (lambda v: v.retention.keep_records, ("retention", "keepRecords")),
    (lambda v: v.retraining.max_attempts, ("retraining", "maxAttempts")),
    (lambda v: v.retraining.min_improvement, ("retraining", "minImprovement")),
    (lambda v: v.retraining.challenge_alpha, ("retraining", "challengeAlpha")),
    (lambda v: v.monitoring.on_degradation, ("monitoring", "onDegradation")),
    (lambda v: v.monitoring.drift.alpha, ("monitoring", "drift", "alpha")),
    (lambda v: v.monitoring.drift.threshold, ("monitoring", "drift", "threshold")),
    (lambda v: v.tuning.parallelism, ("training", "tuning", "parallelism")),
    (lambda v: v.training.workers, ("training", "workers")),
])
def test_an_unset_field_reads_the_schemas_default(read, path) -> None:
    assert read(view(MINIMAL)) == _default(*path)


def test_durations_are_parsed_from_the_schemas_default() -> None:
    v = view(MINIMAL)
    assert v.retraining.cooldown_seconds == parse_duration(_default("retraining", "cooldown"))
    assert v.monitoring.interval_seconds == parse_duration(_default("monitoring", "interval"))


def test_set_fields_win_and_a_drift_rule_alone_is_defaulted_by_its_own_node() -> None:
    spec = sample_spec(**{"monitoring.consecutiveErrorLimit": 7, "retention.keepRecords": 9,
                          "monitoring.onDrift": "Ignore"})
    v = view(spec)
    assert (v.monitoring.consecutive_error_limit, v.retention.keep_records, v.monitoring.on_drift) == (7, 9, "Ignore")
    assert view(MINIMAL).monitoring.on_drift is None  # unset means "as onDegradation" (retrain_policy.py)
    assert drift_rule({"alpha": 0.01}) == dataclasses.replace(drift_rule({}), alpha=0.01)
