"""The optimize step: when a version searches hyperparameters first, and what a finished search means.

A search runs for a training spec once: its best values are kept in `status.tuning` and every later
version of the same spec (a retry after a failure, a degradation retrain) trains with them, unless
`retraining.retune` asks a degradation retrain to search again. Any edit of spec.training makes a new
spec, so a new search.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.api.metrics import HIGHER_IS_BETTER
from modelops.api.spec_view import view
from modelops.lifecycle import reasons
from modelops.lifecycle.draft import Draft
from modelops.lifecycle.records import training_hash

CHOSEN_KEYS = ("hiddenLayers", "activation", "dropout", "learningRate", "batchSize", "optimizer", "moduleValues")
BEST_TRIALS_KEPT = 3


def search_wanted(d: Draft, trigger: str) -> bool:
    """Guards the search: enabled, and no search result for this training spec yet (or a retrain that
    is asked to search again)."""
    if not d.view.tuning.enabled:
        return False
    last = d.status.get("tuning") or {}
    if last.get("specHash") != training_hash(d.spec):
        return True
    return trigger == "Degradation" and d.view.retraining.retune


def reused_values(d: Draft) -> dict[str, Any] | None:
    """The record of values a version trains with when it does not search: the last search's, if it was
    made for this spec (None when tuning is off or nothing was found for this spec)."""
    last = d.status.get("tuning") or {}
    if not d.view.tuning.enabled or last.get("specHash") != training_hash(d.spec):
        return None
    values = dict(last.get("hyperparameters") or {})
    objective = dict(last.get("objective") or {})
    return {"summary": f"reused the values version {last['version']}'s search chose: {values_text(values)}",
            "hyperparameters": values, "objective": objective, "fromVersion": int(last["version"])}


def values_text(values: Mapping[str, Any]) -> str:
    """`learningRate=0.01, hiddenLayers=[64, 32]`: the chosen values in the spec's names, fixed order."""
    def shown(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    parts = []
    for key in CHOSEN_KEYS:
        if key == "moduleValues" and isinstance(values.get(key), Mapping):  # the user module's own hp names
            parts += [f"{name}={shown(value)}" for name, value in sorted(values[key].items())]
        elif key in values:
            parts.append(f"{key}={shown(values[key])}")
    return ", ".join(parts) or "the spec's own values"


def _chosen(raw: Any) -> dict[str, Any]:
    return {k: raw[k] for k in CHOSEN_KEYS if isinstance(raw, Mapping) and raw.get(k) is not None}


def search_record(spec: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """The version's `tuning` record from a tune stage's summary, with its one-line summary."""
    tuning = view(spec).tuning
    metric = tuning.objective
    objective = dict(result.get("objective") or {})
    objective.setdefault("metric", metric)
    objective.setdefault("direction", "max" if metric in HIGHER_IS_BETTER else "min")
    raw_trials = result.get("trials") or {}
    trials = {k: int(raw_trials.get(k) or 0) for k in ("total", "completed", "failed")}
    values = _chosen(result.get("hyperparameters"))
    best = [{"trial": str(t.get("trial", "")), "value": t.get("value"), "hyperparameters": _chosen(t.get(
        "hyperparameters"))} for t in (result.get("bestTrials") or [])[:BEST_TRIALS_KEPT] if isinstance(t, Mapping)]
    value = objective.get("value")
    shown = f"{value:.4g}" if isinstance(value, (int, float)) else "n/a"
    summary = (f"best {objective['metric']} {shown} after {trials['total']} trials ({trials['completed']} completed, "
               f"{trials['failed']} failed): {values_text(values)}")
    return {"summary": summary, "algorithm": tuning.algorithm, "hyperparameters": values,
            "objective": objective, "trials": trials, "bestTrials": best}


def on_tune_finished(d: Draft, record: dict[str, Any], result: Mapping[str, Any]) -> None:
    """A successful search: the version is Tuned (training starts next) and its values are kept for reuse."""
    tuning = search_record(d.spec, result)
    record.update(state="Tuned", reason=reasons.TUNED, message=tuning["summary"], tuning=tuning)
    d.status["tuning"] = {"version": record["version"], "specHash": training_hash(d.spec),
                          "hyperparameters": tuning["hyperparameters"], "objective": tuning["objective"]}
    d.event("Normal", reasons.TUNED, f"version {record['version']}: {tuning['summary']}")


def search_started_text(spec: Mapping[str, Any], version: int) -> str:
    tuning = view(spec).tuning
    return (f"tuning version {version}: {tuning.algorithm} search, {tuning.max_trials} trials, "
            f"{tuning.parallelism} at once")
