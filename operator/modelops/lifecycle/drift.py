"""The drift decision: which features drifted at the configured level, and whether the dataset did.

The evaluate stage measures (per-feature test p-values and effect sizes, most significant first); this
module decides, in pure Python, so every runtime judges with the spec's rules:
1. fewer live rows than `minRows` (rows the version trained on or built its reference from are not
   counted), a reference of fewer rows, or no testable feature: Inconclusive (never Degraded);
2. p-values are corrected for the number of features tested, m (Bonferroni: p·m; Benjamini-Hochberg:
   step-up adjusted p(i) = min over j >= i of p(j)·m/j), so m features are not m chances of a false alarm;
3. a feature drifted when its adjusted p-value <= alpha and its effect size `metric` >= `threshold`
   (practical significance: large samples make negligible shifts significant; 0 turns the floor off),
   checked for every tested feature (the worker's `ranked.meetsFloor`), not only the 50 whose effect sizes
   the summary lists: 60 negligible features are NoDrift exactly like 50;
4. the dataset drifted when at least max(1, ceil(minDriftedShare · m)) features drifted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from modelops.api.spec_view import DriftRuleView, drift_rule

TOP_FEATURES = 5


def adjusted_p_values(p_sorted: Sequence[float], tests: int, method: str) -> list[float]:
    """Adjusted p-values of ascending p-values out of `tests` tests (untold ones count as p = 1)."""
    m = max(tests, len(p_sorted))
    if method == "bonferroni":
        return [min(1.0, p * m) for p in p_sorted]
    adjusted, running = [0.0] * len(p_sorted), 1.0
    for i in range(len(p_sorted) - 1, -1, -1):  # step-up: the running minimum from the largest p down
        running = min(running, p_sorted[i] * m / (i + 1))
        adjusted[i] = running
    return adjusted


def required_drifted(tested: int, min_share: float) -> int:
    """How many drifted features make dataset drift: at least one, and at least the share."""
    return max(1, math.ceil(min_share * tested - 1e-9))


def floor_flags(ranked: Mapping[str, Any], metric: str, threshold: float | None) -> list[bool] | None:
    """Per ranked feature, whether its effect reaches the floor, for EVERY ranked feature.

    The worker checks the floor it was given on every tested feature (`meetsFloor`); the summary's
    effect sizes reach only the first 50. A floor that differs from the spec's (an edit while the
    evaluation ran) falls back to the effect sizes, and a feature without a known effect size is not
    counted as drifted: the floor cannot be shown to be met, and one evaluation later it is."""
    if not threshold:
        return None
    floor = ranked.get("floor") or {}
    flags = ranked.get("meetsFloor")
    if isinstance(flags, str) and floor.get("metric") == metric and float(floor.get("threshold", -1)) == threshold:
        return [c == "1" for c in flags]
    effects = list(ranked.get(metric) or [])
    return [e is not None and float(e) >= threshold for e in effects]


def _effect_ok(flags: Sequence[bool] | None, rank: int) -> bool:
    if flags is None:
        return True
    return rank < len(flags) and flags[rank]


def judge_drift(rule: DriftRuleView | Mapping[str, Any], measured: Mapping[str, Any]) -> dict[str, Any]:
    """status.lastEvaluation.drift: the verdict, its numbers and the top features, from one evaluation."""
    if not isinstance(rule, DriftRuleView):
        rule = drift_rule(rule)
    alpha, method, metric, threshold = rule.alpha, rule.correction, rule.metric, rule.threshold
    top = [dict(f) for f in (measured.get("features") or [])[:TOP_FEATURES]]
    # Every verdict has the same keys: a merge patch of status then leaves no stale numbers behind.
    base: dict[str, Any] = {
        "rows": int(measured.get("rows", 0)), "tested": int(measured.get("tested", 0)), "drifted": 0,
        "driftedShare": 0.0, "alpha": alpha, "correction": method,
        "features": [{**f, "adjustedPValue": None, "drifted": False} for f in top],
        **{k: measured[k] for k in ("maxPsi", "maxJs", "maxKs") if k in measured}, "driftedFeature": None,
        "referenceRows": int(measured.get("referenceRows") or 0), "confirmed": False, "confirmation": "",
    }
    rows, tested, min_rows = base["rows"], base["tested"], rule.min_rows
    ranked = measured.get("ranked")
    if not rule.enabled:
        return {**base, "verdict": "Disabled", "message": "drift.enabled is false"}
    if not isinstance(ranked, Mapping):
        return {**base, "verdict": "Inconclusive", "message": "the evaluation reported no per-feature drift tests"}
    if rows < min_rows:
        return {**base, "verdict": "Inconclusive",
                "message": f"{rows} live rows < drift.minRows {min_rows}: too few to tell drift from chance (rows "
                           "the version was trained on or built its drift reference from are not counted)"}
    reference_rows = measured.get("referenceRows")
    if reference_rows is not None and int(reference_rows) < min_rows:
        return {**base, "verdict": "Inconclusive",
                "message": f"the version's drift reference has {reference_rows} rows < drift.minRows {min_rows}: "
                           "it cannot judge drift yet"}
    if tested == 0:
        return {**base, "verdict": "Inconclusive", "message": "no feature could be tested"}
    p_values = [float(p) for p in ranked.get("pValue") or []]
    adjusted = adjusted_p_values(p_values, tested, method)
    flags = floor_flags(ranked, metric, threshold or None)
    drifted = [i for i, q in enumerate(adjusted) if q <= alpha and _effect_ok(flags, i)]
    needed = required_drifted(tested, rule.min_drifted_share)
    features = [{**f, "adjustedPValue": adjusted[i] if i < len(adjusted) else None, "drifted": i in drifted}
                for i, f in enumerate(top)]
    names = [f["name"] for f in features if f["drifted"]]
    floor = f", {metric} >= {threshold:g}" if threshold else ""
    more = f" and {len(drifted) - len(names)} more" if len(drifted) > len(names) else ""
    message = (f"{len(drifted)} of {tested} features drifted (dataset drift needs {needed}) at alpha {alpha:g} "
               f"({method}{floor})" + (f": {', '.join(names)}{more}" if names else ""))
    return {**base, "verdict": "Drifted" if len(drifted) >= needed else "NoDrift", "message": message,
            "driftedFeature": names[0] if names else None,  # never name a feature when none drifted
            "drifted": len(drifted), "driftedShare": round(len(drifted) / tested, 4), "features": features}
