"""Better beats perfect: a candidate that fails an absolute gate the serving version fails too.

Rejecting such a candidate keeps a model that is worse on the very floor being enforced. With
`validation.floorPolicy: BeatServing` (the default) a candidate whose only failures are absolute bounds
(min / max) that the serving version, scored on the same validation rows in the same Job, also fails —
and that beats the serving version on each of those metrics by at least `retraining.minImprovement` —
is blessed; the floors it still misses are kept on the version (`floorsUnmet`) and the deployment stays
Degraded (`FloorUnmet`) saying which. `Strict` rejects any candidate that fails a gate.
Change gates (maxRegression) are never waived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelops.api.metrics import worsening
from modelops.api.spec_view import SpecView
from modelops.lifecycle.gates import TOLERANCE, GateResult

BEAT_SERVING, STRICT = "BeatServing", "Strict"


def _fails(kind: str, value: float, bound: float) -> bool:
    return value < bound - TOLERANCE if kind == "min" else value > bound + TOLERANCE


def waived_floors(results: Sequence[GateResult], baseline: Mapping[str, float] | None, policy: str,
                  min_improvement: float) -> list[str] | None:
    """The texts of the floors a candidate may miss under `policy`, or None when it may not be blessed."""
    failed = [r for r in results if not r.passed and not r.skipped]
    if policy != BEAT_SERVING or not failed or not baseline:
        return None
    unmet = []
    for result in failed:
        served = baseline.get(result.metric)
        if result.kind not in ("min", "max") or result.value is None or served is None:
            return None
        if not _fails(result.kind, float(served), result.bound):
            return None  # the serving version meets this floor: the candidate really is worse there
        improvement = -worsening(result.metric, float(result.value), float(served))
        if improvement < min_improvement - TOLERANCE or improvement <= 0:
            return None
        op = "<" if result.kind == "min" else ">"
        unmet.append(f"{result.metric} {result.value:.4g} {op} {result.kind} {result.bound:.4g} (serving "
                     f"{float(served):.4g})")
    return unmet


def floor_policy(v: SpecView) -> tuple[str, float]:
    """(validation.floorPolicy, the margin retraining.minImprovement)."""
    return v.validation.floor_policy, v.retraining.min_improvement
