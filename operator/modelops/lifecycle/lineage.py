"""Data lineage: what a version was made from, and whether a retrain would be made from the same.

A version's inputs are its datasets' content fingerprints (with the row cap and weight they were used
with) plus the hash of the effective training spec (task, model, hyperparameters). Two trainings with
equal inputs hash train the same model (training is seeded), so such a retrain cannot heal anything.
Identical contents count once: training on the same rows twice adds no information.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from modelops.api.spec_view import SpecView, view

TRAINING, RETRAINING, MONITORING = "training", "retraining", "monitoring"
# Spec keys (of training and its dataset, api/dataset_schema.py) that change what a model is made from.
READING_KEYS = ("missingValues", "columnTypes", "ignoreColumns", "idColumn", "weightColumn", "classes",
                "positiveClass")


def model_spec_hash(spec: Mapping[str, Any]) -> str:
    """The training spec as it shapes the model; data is fingerprinted by content, not by its URI."""
    training = spec.get("training", {})
    material = {"task": spec.get("task"), "model": training.get("model"),
                "hyperparameters": training.get("hyperparameters"), "command": training.get("command")}
    if (training.get("tuning") or {}).get("enabled"):  # the search picks what the model is trained with
        material["tuning"] = training["tuning"]
    reading = {k: v for k, v in {**(training.get("dataset") or {}), **training}.items() if k in READING_KEYS}
    if reading:  # how columns and labels are read shapes the model's inputs and outputs (only when set)
        material["reading"] = reading
    recipes = view(spec).retraining.max_recipes
    if recipes > 1:  # a retrain then picks among data recipes: another model from the same data
        material["recipes"] = recipes
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def inputs_hash(data: Iterable[Mapping[str, Any]], spec_hash: str) -> str | None:
    """One hash over (content, row cap, weight) of each dataset and the spec hash; None when any
    dataset lacks a content hash (then nobody can tell whether a rerun would be the same)."""
    parts = set()
    for entry in data:
        if not entry.get("sha256"):
            return None
        part: tuple[Any, ...] = (str(entry["sha256"]), entry.get("maxRows"), float(entry.get("weight", 1.0)))
        if entry.get("holdout") is not None:  # a different split learns from different rows
            part += (float(entry["holdout"]),)
        parts.add(part)
    material = json.dumps([sorted(parts, key=lambda p: tuple(map(str, p))), spec_hash])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def retraining_datasets(v: SpecView) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(primary, extra) datasets a degradation retrain reads: the training data (or the explicit
    retraining.dataset) and, unless `retraining.include` leaves it out, the labelled monitoring data.

    Without `include`, an explicit retraining.dataset alone is used (as before monitoring data could
    be included); otherwise training + monitoring."""
    retraining = v.retraining
    explicit = retraining.dataset
    include = retraining.include or ((TRAINING,) if explicit else (TRAINING, MONITORING))
    primary = {**(explicit or v.training.dataset), "role": RETRAINING if explicit else TRAINING}
    extra: list[dict[str, Any]] = []
    monitoring = v.monitoring.dataset
    if MONITORING in include and monitoring:
        entry = {**monitoring, "role": MONITORING, "weight": retraining.monitoring_weight,
                 "holdout": retraining.holdout_fraction}
        if retraining.max_rows is not None:
            entry["maxRows"] = int(retraining.max_rows)
        extra.append(entry)
    return primary, extra


def would_be_inputs(spec: Mapping[str, Any], evaluation: Mapping[str, Any]) -> str | None:
    """The inputs hash a retrain started now would have, from what the last evaluation measured:
    the monitoring data it scored and the fingerprints of the retraining data it read."""
    primary, extra = retraining_datasets(view(spec))
    measured = {f.get("role"): f for f in evaluation.get("retrainInputs") or []}
    if evaluation.get("data"):
        measured[MONITORING] = evaluation["data"]
    entries = []
    for ref in [primary, *extra]:
        fingerprint = measured.get(ref["role"])
        if fingerprint is None:
            return None
        entries.append({"sha256": fingerprint.get("sha256"), "maxRows": ref.get("maxRows"),
                        "weight": ref.get("weight", 1.0), "holdout": ref.get("holdout")})
    return inputs_hash(entries, model_spec_hash(spec))


def version_inputs(record: Mapping[str, Any]) -> str | None:
    return (record.get("lineage") or {}).get("inputsHash")
