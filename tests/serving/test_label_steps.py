"""The local runtime's label moves in the order TF Serving accepts (server_core.cc UpdateModelVersionLabelMap:
an existing label never moves to a version that is not AVAILABLE, even with
--allow_version_labels_for_unavailable_models)."""

from __future__ import annotations

import itertools

from modelops.serving.config import ServedModel
from modelops.serving.label_steps import next_label_step

BASE = "/models/churn"


def model(versions: tuple[int, ...], labels: dict[str, int]) -> ServedModel:
    return ServedModel("churn", BASE, versions, labels)


def refused_by_tf_serving(step: ServedModel, existing: dict[str, int], available: set[int]) -> list[str]:
    """The labels TF Serving (with the flag) would refuse in `step`: moved onto an unavailable version."""
    return [label for label, version in step.labels.items()
            if label in existing and existing[label] != version and version not in available]


def test_a_first_config_or_a_new_label_applies_in_one_step() -> None:
    target = model((1,), {"stable": 1})
    assert next_label_step(target, {}, set()) is target
    canary = model((1, 2), {"stable": 1, "canary": 2})
    assert next_label_step(canary, {"stable": 1}, {1}) is canary  # canary is a new label: allowed while loading


def test_a_moving_label_waits_on_its_old_version_until_the_new_one_is_available() -> None:
    target = model((2,), {"stable": 2})
    first = next_label_step(target, {"stable": 1}, {1})
    assert first == model((1, 2), {"stable": 1})  # v2 loads beside v1; stable stays on v1, v1 keeps serving
    assert next_label_step(target, dict(first.labels), {1, 2}) is target  # v2 AVAILABLE: the label moves


def test_promotion_and_rollback_of_a_canary_are_single_steps_once_both_are_loaded() -> None:
    promote = model((2,), {"stable": 2})
    assert next_label_step(promote, {"stable": 1, "canary": 2}, {1, 2}) is promote
    rollback = model((1,), {"stable": 1})
    assert next_label_step(rollback, {"stable": 1, "canary": 2}, {1, 2}) is rollback


def test_no_step_is_ever_refused_and_every_walk_reaches_its_target() -> None:
    """Every start (labels at versions 1..3, any subset loaded) and target: each config handed to the server
    is one TF Serving accepts, and once the target's versions load, the walk ends at the target."""
    pins = [({"stable": s}, (s,)) for s in (1, 2, 3)] + [
        ({"stable": s, "canary": c}, (s, c)) for s, c in itertools.permutations((1, 2, 3), 2)]
    for (start_labels, _), (target_labels, target_versions) in itertools.product(pins, pins):
        target = model(target_versions, target_labels)
        existing, available = dict(start_labels), set(start_labels.values())
        for _ in range(3):
            step = next_label_step(target, existing, available)
            assert not refused_by_tf_serving(step, existing, available), (start_labels, target_labels, step)
            assert set(step.labels.values()) <= set(step.versions)
            existing = dict(step.labels)
            available = set(step.versions)  # the server loads what the step lists
        assert step is target, (start_labels, target_labels, step)
