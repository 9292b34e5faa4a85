"""status.versions stays bounded however many versions are made (retention.keepRecords)."""

from __future__ import annotations

import json

from lifecycle_helpers import GOOD, Driver, sample_spec

from modelops.lifecycle.records import find_version


def _spec(epochs: int, **extra) -> dict:
    return sample_spec(**{"training.hyperparameters.epochs": epochs, "retention.keepVersions": 2,
                          "retention.keepRecords": 10, **extra})


def _new_version(d: Driver, epochs: int, outcome: str) -> None:
    """Edit the training spec and run the version it makes to `outcome`: serving, rejected or failed."""
    d.edit(_spec(epochs))
    if outcome == "failed":
        d.finish(False, error="out of memory", reason="OOMKilled")
        return
    d.finish(metrics={"loss": 0.2})
    metrics = GOOD if outcome == "serving" else {**GOOD, "accuracy": 0.5}
    decision = d.finish(metrics=metrics, baselineMetrics=GOOD)
    d.prune_all(decision)
    if outcome == "serving":
        d.prune_all(d.serve_ready(d.status["rollout"]["stable"]))


def test_two_hundred_versions_keep_status_versions_bounded() -> None:
    d = Driver(_spec(20))
    d.to_serving()
    sizes, lengths = [], []
    outcomes = ("serving", "rejected", "failed")
    for i in range(200):
        _new_version(d, 21 + i, outcomes[i % 3])
        sizes.append(len(json.dumps(d.status)))
        lengths.append(len(d.status["versions"]))
    assert d.status["latestVersion"] == 201
    assert max(lengths[50:]) <= 10 + 2, lengths[-10:]  # keepRecords, plus the serving and last blessed ones
    assert max(sizes[-50:]) <= max(sizes[50:100]) * 1.05, (sizes[50:100], sizes[-50:])
    numbers = [r["version"] for r in d.status["versions"]]
    assert numbers == sorted(numbers) and numbers[-1] == 201
    trimmed = d.status["trimmedVersions"]
    assert trimmed["count"] == 201 - len(numbers) and trimmed["lastVersion"] < numbers[-1]
    serving = d.status["servingVersion"]
    assert find_version(d.status, serving)["state"] == "Serving"  # the serving record is never dropped


def test_only_records_whose_files_are_gone_are_dropped() -> None:
    d = Driver(_spec(20, **{"retention.keepVersions": 30}))  # files kept for more versions than records
    d.to_serving()
    for i in range(25):
        _new_version(d, 21 + i, "rejected")
    versions = d.status["versions"]
    assert len(versions) == 26 and "trimmedVersions" not in d.status  # every one still has its files
    assert not any(r.get("deleted") for r in versions)


def test_the_version_numbers_continue_after_trimming() -> None:
    d = Driver(_spec(20))
    d.to_serving()
    for i in range(40):
        _new_version(d, 21 + i, "failed")
    d.edit(_spec(99))
    assert d.status["stage"]["version"] == 42 and find_version(d.status, 42)["state"] == "Training"
    assert find_version(d.status, 1)["state"] == "Serving"
