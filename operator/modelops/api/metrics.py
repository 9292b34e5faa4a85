"""Metric names the API accepts, per task, and the direction in which each one is better.

The direction is what turns a gate's `maxRegression` into a comparison: a regression is a move in the
metric's worse direction, whatever the sign of the raw difference.
"""

from __future__ import annotations

from typing import Final

TASKS: Final = ("binary-classification", "multiclass-classification", "regression")

HIGHER_IS_BETTER: Final = frozenset({"accuracy", "precision", "recall", "f1", "auc"})
LOWER_IS_BETTER: Final = frozenset({"loss", "mse", "rmse", "mae"})
ALL_METRICS: Final = tuple(sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER))

METRICS_BY_TASK: Final[dict[str, tuple[str, ...]]] = {
    "binary-classification": ("accuracy", "precision", "recall", "f1", "auc", "loss"),
    "multiclass-classification": ("accuracy", "precision", "recall", "f1", "loss"),
    "regression": ("mse", "rmse", "mae", "loss"),
}

# One unit per exported series (Prometheus: a metric name has one unit): scores in [0, 1] (`_ratio`),
# the training objective (`loss`), errors in the label's own unit (rmse, mae) and in its square (mse).
UNIT_FAMILY: Final[dict[str, str]] = {
    **{name: "score_ratio" for name in HIGHER_IS_BETTER},
    "loss": "loss",
    "rmse": "error",
    "mae": "error",
    "mse": "squared_error",
}

# The metric shown in `kubectl get` and used when a rule does not name one.
PRIMARY_METRIC: Final[dict[str, str]] = {
    "binary-classification": "accuracy",
    "multiclass-classification": "accuracy",
    "regression": "rmse",
}


def higher_is_better(metric: str) -> bool:
    """True for metrics where larger values are better; raises for names the API does not know."""
    if metric in HIGHER_IS_BETTER:
        return True
    if metric in LOWER_IS_BETTER:
        return False
    raise KeyError(f"unknown metric {metric!r} (expected one of {', '.join(ALL_METRICS)})")


def worsening(metric: str, candidate: float, reference: float) -> float:
    """How much worse `candidate` is than `reference`, in the metric's own direction (negative = better)."""
    diff = candidate - reference
    return -diff if higher_is_better(metric) else diff
