"""Validation gates with TFMA semantics: absolute bounds and change against the serving baseline.

Formulas (stated once, used everywhere):
  min:           passes when value >= min
  max:           passes when value <= max
  maxRegression: diff = candidate - baseline (same validation data, same Job); the candidate is worse by
                 `worsening = -diff` for higher-is-better metrics and `+diff` for lower-is-better ones;
                 passes when worsening <= maxRegression. Skipped (and recorded) only when nothing served
                 (no baseline was asked for); a baseline that was asked for and did not come back FAILS.
Every comparison is the one in lifecycle/bounds.py, shared with the degradation rules: the same TOLERANCE
for float rounding (0.90 - 0.88 passes maxRegression 0.02 as a user expects), and a metric that is missing
or not finite fails its gate: a gate that cannot be checked must not bless.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.bounds import (
    NOT_FINITE,
    NOT_PRODUCED,
    TOLERANCE,
    BoundCheck,
    check_max,
    check_min,
    check_worsening,
)

__all__ = ["TOLERANCE", "Gate", "GateOutcome", "GateResult", "evaluate_gate", "evaluate_gates"]


@dataclass(frozen=True)
class Gate:
    metric: str
    min: float | None = None
    max: float | None = None
    max_regression: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gate:
        return cls(
            metric=str(data["metric"]),
            min=_optional_float(data.get("min")),
            max=_optional_float(data.get("max")),
            max_regression=_optional_float(data.get("maxRegression")),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"metric": self.metric}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.max_regression is not None:
            out["maxRegression"] = self.max_regression
        return out


@dataclass(frozen=True)
class GateResult:
    metric: str
    kind: str  # "min" | "max" | "maxRegression"
    value: float | None
    bound: float
    passed: bool
    baseline: float | None = None
    diff: float | None = None
    skipped: bool = False
    reason: str = ""
    data: str = "validation"  # the rows both were scored on: validation | heldOutRecentRows

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class GateOutcome:
    passed: bool
    results: list[GateResult] = field(default_factory=list)
    reason: str = reasons.GATES_PASSED
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "message": self.message,
            "results": [r.to_dict() for r in self.results],
        }


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _unmeasured_text(check: BoundCheck) -> str:
    return {NOT_PRODUCED: "metric not produced by validation", NOT_FINITE: "metric is not finite"}.get(
        check.unmeasured, check.unmeasured)


def _absolute(check: BoundCheck) -> GateResult:
    return GateResult(check.metric, check.kind, check.value, check.bound, passed=check.passed,
                      reason=_unmeasured_text(check) if check.unmeasured else "")


def _check_regression(gate: Gate, candidate: Mapping[str, float], baseline: Mapping[str, float] | None,
                      baseline_version: int | None) -> GateResult:
    assert gate.max_regression is not None
    if baseline is None:
        value = candidate.get(gate.metric)
        shown = value if value is not None and math.isfinite(value) else None
        if baseline_version is not None:
            return GateResult(gate.metric, "maxRegression", shown, gate.max_regression, passed=False,
                              reason=f"no metrics came back for baseline version {baseline_version}")
        if shown is not None:
            return GateResult(gate.metric, "maxRegression", shown, gate.max_regression, passed=True, skipped=True,
                              reason="no baseline: first version, change gate skipped")
    check = check_worsening(candidate, baseline or {}, gate.metric, gate.max_regression)
    if check.unmeasured:
        reason = _unmeasured_text(check) if check.value is None else f"baseline has no finite {gate.metric}"
        return GateResult(gate.metric, "maxRegression", check.value, gate.max_regression, passed=False, reason=reason)
    assert check.value is not None and check.reference is not None
    return GateResult(gate.metric, "maxRegression", check.value, gate.max_regression, passed=check.passed,
                      baseline=check.reference, diff=check.value - check.reference)


def evaluate_gate(gate: Gate, candidate: Mapping[str, float], baseline: Mapping[str, float] | None,
                  baseline_version: int | None = None) -> list[GateResult]:
    """All results of one gate, each judged by the one bound comparison (lifecycle/bounds.py): a missing or
    non-finite candidate metric fails every bound it carries."""
    results: list[GateResult] = []
    if gate.min is not None:
        results.append(_absolute(check_min(candidate, gate.metric, gate.min)))
    if gate.max is not None:
        results.append(_absolute(check_max(candidate, gate.metric, gate.max)))
    if gate.max_regression is not None:
        results.append(_check_regression(gate, candidate, baseline, baseline_version))
    return results


def describe_gate_failure(result: GateResult) -> str:
    """One failed check, in the metric's own terms: `accuracy 0.71 < min 0.8`."""
    if result.reason:
        return f"{result.metric} {result.kind}: {result.reason}"
    if result.kind == "maxRegression":
        worse = abs(result.diff) if result.diff is not None else float("nan")
        where = " on held-out recent rows" if result.data == "heldOutRecentRows" else ""
        return (f"{result.metric} regressed{where} by {worse:.4g} from baseline {_num(result.baseline)} to "
                f"{_num(result.value)} (maxRegression {result.bound:.4g})")
    op = "<" if result.kind == "min" else ">"
    return f"{result.metric} {_num(result.value)} {op} {result.kind} {result.bound:.4g}"


@dataclass(frozen=True)
class GateSummary:
    """Counts of one validation's gate checks; skipped change gates are neither passed nor failed."""

    passed: int
    failed: tuple[GateResult, ...]
    skipped: int

    @classmethod
    def of(cls, results: Iterable[GateResult | Mapping[str, Any]]) -> GateSummary:
        items = [r if isinstance(r, GateResult) else GateResult.from_dict(r) for r in results]
        failed = tuple(r for r in items if not r.passed and not r.skipped)
        skipped = sum(1 for r in items if r.skipped)
        return cls(len(items) - len(failed) - skipped, failed, skipped)

    @property
    def checked(self) -> int:
        return self.passed + len(self.failed)

    def text(self) -> str:
        """`passed 2/2 gate checks; 1 change gate skipped: no baseline (first version)`, or the failures
        first (`accuracy 0.71 < min 0.8 (failed 1/3 gate checks)`): the reason a user acts on leads."""
        skipped = ""
        if self.skipped:
            gates = "gate" if self.skipped == 1 else "gates"
            skipped = f"{self.skipped} change {gates} skipped: no baseline (first version)"
        if self.failed:
            why = "; ".join(describe_gate_failure(r) for r in self.failed)
            return f"{why} (failed {len(self.failed)}/{self.checked} gate checks{'; ' + skipped if skipped else ''})"
        if not self.checked and not self.skipped:
            return "no gates configured"
        return f"passed {self.passed}/{self.checked} gate checks" + (f"; {skipped}" if skipped else "")


def gate_text(results: Iterable[GateResult | Mapping[str, Any]]) -> str:
    return GateSummary.of(results).text()


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def evaluate_gates(gates: Sequence[Gate], candidate: Mapping[str, float],
                   baseline: Mapping[str, float] | None, baseline_version: int | None = None) -> GateOutcome:
    """Check every gate; the first failure names the outcome's reason, all results are kept.

    `baseline_version` is the version the core asked to be scored as the baseline (None: nothing
    served); with it set, missing `baseline` metrics fail every change gate instead of skipping it."""
    results = [r for gate in gates for r in evaluate_gate(gate, candidate, baseline, baseline_version)]
    summary = GateSummary.of(results)
    if summary.failed:
        return GateOutcome(False, results, reasons.GATE_FAILED, summary.text())
    return GateOutcome(True, results, reasons.GATES_PASSED, summary.text())
