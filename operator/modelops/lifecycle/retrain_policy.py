"""Does this violation retrain? Answered here and nowhere else.

Each kind of violated rule has its own policy: quality rules follow `monitoring.onDegradation`, drift follows
`monitoring.onDrift` (unset: the same as onDegradation). Everything that depends on "could a retrain follow"
asks this module: whether the latest evaluation asks for a retrain (planning, progress conditions), and
whether evaluations must fingerprint what a retrain would read (planning), so the RetrainWouldRepeat guard
(lifecycle/retraining.py) holds whichever policy retrains. Before this module, planning fingerprinted only
when onDegradation was Retrain: with `onDegradation: Alert, onDrift: Retrain` the guard was off and a
deployment retrained on identical data again and again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.api.spec_view import MonitoringView

QUALITY, DRIFT = "Quality", "Drift"
RETRAIN = "Retrain"


def policy_for(monitoring: MonitoringView, cause: str) -> str:
    """The policy of one kind of violation: Retrain, Alert (or Ignore, for drift)."""
    if cause == DRIFT:
        return monitoring.on_drift or monitoring.on_degradation
    return monitoring.on_degradation


def drift_policy(monitoring: MonitoringView) -> str:
    return policy_for(monitoring, DRIFT)


def may_retrain(monitoring: MonitoringView) -> bool:
    """Whether any violation could retrain: then every evaluation fingerprints the retrain inputs."""
    return any(policy_for(monitoring, cause) == RETRAIN for cause in (QUALITY, DRIFT))


def retrain_wanted(monitoring: MonitoringView, evaluation: Mapping[str, Any] | None) -> bool:
    """Whether the latest evaluation's fired rules ask for retraining under their own policies."""
    if not evaluation or not evaluation.get("degraded"):
        return False
    fired = evaluation.get("causes")
    if fired is None:  # recorded before evaluations said which kind fired
        fired = [QUALITY]
    return any(policy_for(monitoring, str(cause)) == RETRAIN for cause in fired)
