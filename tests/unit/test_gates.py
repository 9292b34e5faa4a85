"""Gate formulas: bounds, direction-aware regression, skipped change gates, missing metrics."""

from __future__ import annotations

import math

import pytest

from modelops.lifecycle.gates import Gate, evaluate_gates


@pytest.mark.parametrize(
    ("gate", "candidate", "baseline", "passed"),
    [
        (Gate("accuracy", min=0.8), {"accuracy": 0.8}, None, True),
        (Gate("accuracy", min=0.8), {"accuracy": 0.79}, None, False),
        (Gate("rmse", max=1.5), {"rmse": 1.5}, None, True),
        (Gate("rmse", max=1.5), {"rmse": 1.51}, None, False),
        # higher-is-better: worse by 0.02 allowed exactly
        (Gate("accuracy", max_regression=0.02), {"accuracy": 0.88}, {"accuracy": 0.90}, True),
        (Gate("accuracy", max_regression=0.02), {"accuracy": 0.87}, {"accuracy": 0.90}, False),
        # lower-is-better: a rise is a regression, a fall an improvement
        (Gate("rmse", max_regression=0.1), {"rmse": 1.25}, {"rmse": 1.2}, True),
        (Gate("rmse", max_regression=0.1), {"rmse": 1.35}, {"rmse": 1.2}, False),
        (Gate("loss", max_regression=0.0), {"loss": 0.1}, {"loss": 0.5}, True),
        (Gate("accuracy", max_regression=0.0), {"accuracy": 0.95}, {"accuracy": 0.90}, True),
    ],
)
def test_gate_formulas(gate: Gate, candidate: dict, baseline: dict | None, passed: bool) -> None:
    assert evaluate_gates([gate], candidate, baseline).passed is passed


def test_regression_result_records_baseline_and_diff() -> None:
    outcome = evaluate_gates([Gate("auc", max_regression=0.01)], {"auc": 0.85}, {"auc": 0.9})
    [result] = outcome.results
    assert result.baseline == 0.9 and result.diff == pytest.approx(-0.05) and not result.passed
    assert outcome.reason == "GateFailed" and "auc regressed" in outcome.message


def test_no_baseline_skips_change_gate_but_keeps_absolute_ones() -> None:
    outcome = evaluate_gates([Gate("accuracy", min=0.95, max_regression=0.01)], {"accuracy": 0.9}, None)
    kinds = {r.kind: r for r in outcome.results}
    assert kinds["maxRegression"].skipped and kinds["maxRegression"].passed
    assert not kinds["min"].passed and not outcome.passed


@pytest.mark.parametrize("value", [None, math.nan, math.inf])
def test_missing_or_non_finite_metric_fails(value: float | None) -> None:
    candidate = {} if value is None else {"f1": value}
    outcome = evaluate_gates([Gate("f1", min=0.1)], candidate, None)
    assert not outcome.passed and outcome.results[0].reason


def test_from_dict_reads_camel_case() -> None:
    assert Gate.from_dict({"metric": "mae", "maxRegression": 0.2, "max": 3}) == Gate("mae", None, 3.0, 0.2)


def test_a_baseline_that_was_asked_for_and_did_not_come_back_fails_the_change_gate() -> None:
    """A result summary without baseline metrics must never bless a candidate that could have regressed."""
    gates = [Gate("accuracy", min=0.5, max_regression=0.02)]
    skipped = evaluate_gates(gates, {"accuracy": 0.9}, None, baseline_version=None)
    assert skipped.passed and skipped.results[1].skipped
    missing = evaluate_gates(gates, {"accuracy": 0.9}, None, baseline_version=3)
    assert not missing.passed and missing.reason == "GateFailed"
    assert "baseline version 3" in missing.results[1].reason and not missing.results[1].skipped
