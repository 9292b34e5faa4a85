"""Which rows a degradation candidate's gates read: change gates on the recent world, floors on validation.

A degradation retrain is made for the world that moved; the static validation set describes the old one.
Comparing it with the serving version there (maxRegression) rejects exactly the model a concept shift
needs (issue #28: breast-cancer, v2 rejected on the old world's data while the 0.66 model kept serving).
So, with `retraining.changeGatesOn: recent` (the default), its change gates compare both versions on the
monitoring rows neither was trained on (the challenge's rows); the static validation set stays the
stated secondary guard for the absolute bounds (min / max). `validation` keeps every gate on the
validation set; `both` requires the change gates to pass on both. Every result says which rows it read
(`data`). Without enough unseen rows the change gates stay on validation (and the challenge is
Inconclusive anyway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from modelops.lifecycle import reasons
from modelops.lifecycle.gates import Gate, GateOutcome, GateResult, GateSummary, evaluate_gates

RECENT = "heldOutRecentRows"


def _recent_metrics(challenge: Mapping[str, Any], min_rows: int) -> tuple[dict[str, float], dict[str, float]] | None:
    candidate, baseline = challenge.get("candidate") or {}, challenge.get("baseline") or {}
    if int(challenge.get("rows") or 0) < min_rows or not candidate or not baseline:
        return None
    return ({k: float(v) for k, v in candidate.items()}, {k: float(v) for k, v in baseline.items()})


def judge_gates(gates: Sequence[Gate], metrics: Mapping[str, float], baseline: Mapping[str, float] | None,
                baseline_version: int | None, challenge: Mapping[str, Any] | None, where: str,
                min_rows: int) -> GateOutcome:
    """The gate outcome of one validation; `challenge` only for a degradation candidate."""
    recent = _recent_metrics(challenge or {}, min_rows) if where != "validation" else None
    if recent is None:
        return evaluate_gates(gates, metrics, baseline, baseline_version)
    floors = [Gate(g.metric, min=g.min, max=g.max) for g in gates if g.min is not None or g.max is not None]
    changes = [Gate(g.metric, max_regression=g.max_regression) for g in gates if g.max_regression is not None]
    results: list[GateResult] = list(evaluate_gates(floors, metrics, baseline, baseline_version).results)
    if where == "both":
        results += evaluate_gates(changes, metrics, baseline, baseline_version).results
    on_recent = evaluate_gates(changes, recent[0], recent[1], baseline_version).results
    results += [replace(r, data=RECENT) for r in on_recent]
    summary = GateSummary.of(results)
    passed = not summary.failed
    return GateOutcome(passed, results, reasons.GATES_PASSED if passed else reasons.GATE_FAILED, summary.text())
