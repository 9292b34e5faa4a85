"""`modelops status --plot FILE.png`: metric history per version over time.

One panel per evaluated metric (plus drift when measured): each version is a line of its live
evaluations, and a star marks the value its validation measured — so a degradation reads as a line
falling away from its star, and a retrain as a new line starting near its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

MAX_METRIC_PANELS = 4


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _series(evaluations: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, list[tuple[datetime, float]]]]:
    """metric -> version -> [(time, value)], from evaluation history lines."""
    series: dict[str, dict[int, list[tuple[datetime, float]]]] = defaultdict(lambda: defaultdict(list))
    for evaluation in evaluations:
        when, version = _time(evaluation.get("time")), evaluation.get("version")
        if when is None or not isinstance(version, int):
            continue
        for metric, value in (evaluation.get("metrics") or {}).items():
            if isinstance(value, (int, float)):
                series[metric][version].append((when, float(value)))
        drift = (evaluation.get("drift") or {}).get("maxPsi")
        if isinstance(drift, (int, float)):
            series["drift (max PSI)"][version].append((when, float(drift)))
    return series


def plot_history(status: Mapping[str, Any], evaluations: Sequence[Mapping[str, Any]], path: Path,
                 title: str) -> Path:
    """Draw the history to `path` (PNG); raises ValueError when there is nothing to draw yet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series(evaluations)
    validated = {rec.get("version"): rec for rec in status.get("versions") or [] if isinstance(rec, Mapping)}
    metrics = [m for m in series if m != "drift (max PSI)"][:MAX_METRIC_PANELS]
    if "drift (max PSI)" in series:
        metrics.append("drift (max PSI)")
    if not metrics:
        raise ValueError("no evaluations recorded yet: nothing to plot (wait for the first evaluation)")
    figure, axes = plt.subplots(len(metrics), 1, figsize=(9, 2.6 * len(metrics)), sharex=True, squeeze=False)
    for axis, metric in zip(axes[:, 0], metrics, strict=True):
        for version in sorted(series[metric]):
            points = sorted(series[metric][version])
            line = axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"v{version}")[0]
            record = validated.get(version) or {}
            value = (record.get("metrics") or {}).get(metric)
            when = _time(record.get("validatedAt") or record.get("createdAt"))
            if isinstance(value, (int, float)) and when is not None:
                axis.plot([when], [value], marker="*", markersize=12, color=line.get_color(), linestyle="none")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend(loc="best", fontsize="small")
    axes[0, 0].set_title(f"{title}: live evaluations per version (star = validation value)")
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
