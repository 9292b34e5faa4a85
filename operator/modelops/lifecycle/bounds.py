"""The one bound comparison: validation gates and degradation rules judge a metric the same way.

A gate (`min`, `max`, `maxRegression`) and a degradation rule (`min`, `max`, `maxDrop`) are the same
question — is this metric inside its bound? — asked at validation and on live data. Asked twice with
two codes, the answers drifted apart ("accuracy 0.85 is 0.05 worse ... allowed 0.05" marked Degraded
while `maxRegression: 0.05` passed the same numbers), so both ask it here:

  min:            passes when value >= bound - TOLERANCE
  max:            passes when value <= bound + TOLERANCE
  worsening:      worse_by = reference - value for higher-is-better metrics, value - reference for
  (maxRegression  lower-is-better ones (api/metrics.py `worsening`); passes when
   and maxDrop)   worse_by <= bound + TOLERANCE
  missing value:  FAILS ("not produced"): a bound that cannot be checked must not pass
  non-finite:     FAILS ("not finite"): a NaN metric is a broken model, not a pass
  no finite reference (worsening only): FAILS ("no finite <metric> to compare with")

TOLERANCE absorbs float rounding, so 0.90 - 0.88 passes an allowed change of 0.02 as a user expects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from modelops.api.metrics import worsening

TOLERANCE = 1e-9
NOT_PRODUCED, NOT_FINITE = "not produced", "not finite"


@dataclass(frozen=True)
class BoundCheck:
    """One metric against one bound. `value` is None when it was missing or not finite (status is JSON);
    `unmeasured` then says which, and `passed` is False."""

    metric: str
    kind: str  # min | max | worsening
    bound: float
    passed: bool
    value: float | None
    reference: float | None = None
    worse_by: float | None = None
    unmeasured: str = ""  # "", NOT_PRODUCED, NOT_FINITE, or why the reference is unusable


def _measured(metrics: Mapping[str, float], metric: str) -> tuple[float | None, str]:
    value = metrics.get(metric)
    if value is None:
        return None, NOT_PRODUCED
    if not math.isfinite(value):
        return None, NOT_FINITE
    return float(value), ""


def check_min(metrics: Mapping[str, float], metric: str, bound: float) -> BoundCheck:
    value, why = _measured(metrics, metric)
    if value is None:
        return BoundCheck(metric, "min", bound, False, None, unmeasured=why)
    return BoundCheck(metric, "min", bound, value >= bound - TOLERANCE, value)


def check_max(metrics: Mapping[str, float], metric: str, bound: float) -> BoundCheck:
    value, why = _measured(metrics, metric)
    if value is None:
        return BoundCheck(metric, "max", bound, False, None, unmeasured=why)
    return BoundCheck(metric, "max", bound, value <= bound + TOLERANCE, value)


def check_worsening(metrics: Mapping[str, float], reference: Mapping[str, float], metric: str,
                    allowed: float) -> BoundCheck:
    """The value may be worse than the reference by at most `allowed`, in the metric's own direction."""
    value, why = _measured(metrics, metric)
    if value is None:
        return BoundCheck(metric, "worsening", allowed, False, None, unmeasured=why)
    base, base_why = _measured(reference, metric)
    if base is None:
        return BoundCheck(metric, "worsening", allowed, False, value,
                          unmeasured=f"no finite {metric} to compare with ({base_why})")
    worse_by = worsening(metric, value, base)
    return BoundCheck(metric, "worsening", allowed, worse_by <= allowed + TOLERANCE, value, base, worse_by)
