"""The one door a stage result passes before the core decides on it: typed, finite, or a named failure.

A stage result is JSON a worker wrote (the termination message or result.json). JSON has no NaN, so a
diverged training writes `null` where a number was (contract/result.py `jsonable`), and a broken or
foreign worker can write anything. Every value the core reads is checked here, once, so no rule module
ever calls `float()` on worker output and `decide()` never raises on a result:

- malformed (a wrong type, a string where a number belongs, a negative row count): the stage FAILED with
  reason `MalformedResult` and a message naming the field (`metrics.loss: expected a number, got 'abc'`);
- a non-finite metric (null, NaN, ±inf):
  - train / tune: the stage FAILED with reason `TrainingDiverged` (the contract's word for it);
  - validate / evaluate: kept as NaN for the rules, which treat it as failing its bound (lifecycle/bounds.py,
    "a non-finite metric fails its gate"); records keep only finite values (status is JSON).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelops.lifecycle import reasons

NAN = float("nan")


@dataclass(frozen=True)
class StageOutcome:
    """A finished stage as the core reads it: `ok` with a checked `result`, or failed with a reason."""

    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    message: str = ""


class _Malformed(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def finite_only(metrics: Mapping[str, float]) -> dict[str, float]:
    """The metrics a record may keep (status is JSON: no NaN or infinity)."""
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


def non_finite(metrics: Mapping[str, float]) -> list[str]:
    return sorted(k for k, v in metrics.items() if not math.isfinite(v))


# ---------------------------------------------------------------- field checks
def _number(value: Any, path: str, allow_null: bool = False) -> float:
    """A JSON number as float; null becomes NaN where the contract writes NaN as null."""
    if value is None and allow_null:
        return NAN
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(reasons.MALFORMED_RESULT, f"{path}: expected a number, got {value!r}")
    return float(value)


def _count(value: Any, path: str, default: int | None = 0) -> int:
    """A row or feature count: a non-negative integer (2.0 is accepted as 2)."""
    if value is None and default is not None:
        return default
    number = _number(value, path)
    if not math.isfinite(number) or number < 0 or not number.is_integer():
        raise _Malformed(reasons.MALFORMED_RESULT, f"{path}: expected a non-negative whole number, got {value!r}")
    return int(number)


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Malformed(reasons.MALFORMED_RESULT, f"{path}: expected an object, got {value!r}")
    return _json_safe(value)


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise _Malformed(reasons.MALFORMED_RESULT, f"{path}: expected a list, got {value!r}")
    return list(value)


def _metrics(value: Any, path: str) -> dict[str, float]:
    """name -> float; null and non-finite values become NaN (the rules decide what that means)."""
    out = {}
    for name, raw in _mapping(value, path).items():
        number = _number(raw, f"{path}.{name}", allow_null=True)
        out[str(name)] = number if math.isfinite(number) else NAN
    return out


def _require_finite(metrics: Mapping[str, float], path: str) -> None:
    bad = non_finite(metrics)
    if bad:
        raise _Malformed(reasons.TRAINING_DIVERGED,
                         f"{', '.join(f'{path}.{k}' for k in bad)} not a finite number: training diverged")


def _json_safe(value: Any) -> Any:
    """Details the core only records (features, lineage): non-finite numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _objects(value: Any, path: str) -> list[dict[str, Any]]:
    items = _list(value, path)
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _Malformed(reasons.MALFORMED_RESULT, f"{path}[{i}]: expected an object, got {item!r}")
    return [_json_safe(item) for item in items]


# ---------------------------------------------------------------- per stage
def _tune(result: dict[str, Any]) -> dict[str, Any]:
    objective = _mapping(result.get("objective"), "objective")
    if "value" in objective:
        value = _number(objective["value"], "objective.value", allow_null=True)
        if not math.isfinite(value):
            raise _Malformed(reasons.TRAINING_DIVERGED, "objective.value is not a finite number: every trial diverged")
        objective["value"] = value
    trials = {k: _count(v, f"trials.{k}") for k, v in _mapping(result.get("trials"), "trials").items()}
    best = _objects(result.get("bestTrials"), "bestTrials")
    for i, trial in enumerate(best):
        value = _number(trial.get("value"), f"bestTrials[{i}].value", allow_null=True)
        trial["value"] = value if math.isfinite(value) else None
    return {**result, "objective": objective, "trials": trials, "bestTrials": best,
            "hyperparameters": _mapping(result.get("hyperparameters"), "hyperparameters")}


def _train(result: dict[str, Any]) -> dict[str, Any]:
    metrics = _metrics(result.get("metrics"), "metrics")
    _require_finite(metrics, "metrics")
    lineage = _mapping(result.get("lineage"), "lineage")
    lineage["data"] = _objects(lineage.get("data"), "lineage.data")
    out = {**result, "metrics": metrics, "lineage": lineage}
    if "recipes" in result and not isinstance(result["recipes"], Mapping):
        out.pop("recipes")  # an explanation only; nothing is decided on it
    return out


def _challenge(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    challenge = _mapping(value, "challenge")
    out = {**challenge, "rows": _count(challenge.get("rows"), "challenge.rows"),
           "candidate": finite_only(_metrics(challenge.get("candidate"), "challenge.candidate")),
           "baseline": finite_only(_metrics(challenge.get("baseline"), "challenge.baseline"))}
    if challenge.get("totalRows") is not None:
        out["totalRows"] = _count(challenge["totalRows"], "challenge.totalRows")
    if challenge.get("excludedRows") is not None:
        out["excludedRows"] = {k: _count(v, f"challenge.excludedRows.{k}")
                               for k, v in _mapping(challenge["excludedRows"], "challenge.excludedRows").items()}
    if challenge.get("pValue") is not None:
        p_value = _number(challenge["pValue"], "challenge.pValue")
        if not 0.0 <= p_value <= 1.0:
            raise _Malformed(reasons.MALFORMED_RESULT, f"challenge.pValue: {p_value!r} is not a probability")
        out["pValue"] = p_value
    return out


def _validate(result: dict[str, Any]) -> dict[str, Any]:
    baseline = result.get("baselineMetrics")
    return {**result, "metrics": _metrics(result.get("metrics"), "metrics"),
            "baselineMetrics": _metrics(baseline, "baselineMetrics") if baseline else None,
            "challenge": _challenge(result.get("challenge")),
            "lineage": _mapping(result.get("lineage"), "lineage")}


def _ranked(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    ranked = _mapping(value, "drift.ranked")
    out: dict[str, Any] = {}
    for key, raw in ranked.items():
        if key == "meetsFloor":
            if not isinstance(raw, str) or set(raw) - {"0", "1"}:
                raise _Malformed(reasons.MALFORMED_RESULT, f"drift.ranked.meetsFloor: expected a string of 0 and 1, "
                                                           f"got {raw!r}")
            out[key] = raw
        elif key == "floor":
            out[key] = _mapping(raw, "drift.ranked.floor")
        elif key == "pValue":
            items = enumerate(_list(raw, "drift.ranked.pValue"))
            out[key] = [_number(p, f"drift.ranked.pValue[{i}]") for i, p in items]
            if any(not 0.0 <= p <= 1.0 for p in out[key]):
                raise _Malformed(reasons.MALFORMED_RESULT, "drift.ranked.pValue: every p-value must lie in [0, 1]")
        else:  # effect sizes: unknown (null or non-finite) ones stay None
            values = [_number(e, f"drift.ranked.{key}[{i}]", allow_null=True) for i, e in enumerate(_list(raw, key))]
            out[key] = [e if math.isfinite(e) else None for e in values]
    return out


def _drift(value: Any) -> dict[str, Any]:
    drift = _mapping(value, "drift")
    if not drift:
        return {}
    out = {**drift, "rows": _count(drift.get("rows"), "drift.rows"),
           "tested": _count(drift.get("tested"), "drift.tested"), "ranked": _ranked(drift.get("ranked")),
           "features": _objects(drift.get("features"), "drift.features")}
    if out["ranked"] is None:
        out.pop("ranked")
    if drift.get("referenceRows") is not None:
        out["referenceRows"] = _count(drift["referenceRows"], "drift.referenceRows")
    for key in ("maxPsi", "maxJs", "maxKs"):
        if key in drift:
            number = _number(drift[key], f"drift.{key}", allow_null=True)
            if math.isfinite(number):
                out[key] = number
            else:
                out.pop(key)
    return out


def _evaluate(result: dict[str, Any]) -> dict[str, Any]:
    lineage = _mapping(result.get("lineage"), "lineage")
    if lineage:
        lineage["data"] = _mapping(lineage.get("data"), "lineage.data")
        lineage["retrainInputs"] = _objects(lineage.get("retrainInputs"), "lineage.retrainInputs")
    out = {**result, "metrics": _metrics(result.get("metrics"), "metrics"), "rows": _count(result.get("rows"), "rows"),
           "drift": _drift(result.get("drift")), "lineage": lineage}
    if result.get("totalRows") is not None:
        out["totalRows"] = _count(result["totalRows"], "totalRows")
    if result.get("excludedRows") is not None:
        out["excludedRows"] = {k: _count(v, f"excludedRows.{k}")
                               for k, v in _mapping(result["excludedRows"], "excludedRows").items()}
    return out


_PARSERS = {"tune": _tune, "train": _train, "validate": _validate, "evaluate": _evaluate}


def parse_stage_result(stage: str, succeeded: bool, result: Any) -> StageOutcome:
    """What a finished run of `stage` means: a checked result, or a failure with its reason and message."""
    if not isinstance(result, Mapping):
        return StageOutcome(False, reason=reasons.MALFORMED_RESULT,
                            message=f"{stage} result: expected a JSON object, got {type(result).__name__}")
    if not succeeded or "error" in result:
        # the failed result stays readable for what it explains (a SchemaViolation's schemaCheck block)
        return StageOutcome(False, dict(result), reason=str(result.get("reason") or reasons.STAGE_FAILED),
                            message=str(result.get("error") or "the stage failed without a result"))
    try:
        return StageOutcome(True, _PARSERS[stage](dict(result)))
    except _Malformed as bad:
        return StageOutcome(False, reason=bad.reason, message=f"{stage} result: {bad.message}")
