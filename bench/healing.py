"""Pointless retrains per day on clean data, and detection delay for a real shift, at a 5-minute interval.

    python bench/healing.py [--days 7] [--shift-trials 20] [--shift-sd 1.0] [--seed 28]

The real lifecycle core (`modelops.lifecycle.decide`) is driven through evaluations whose drift numbers come
from the real measurement (profile -> `compute_drift` -> summary, `modelops.workloads.drift.trials`). Each
5-minute evaluation reads a fresh batch (distinct content hash) drawn from the training distribution (clean)
or with feature 0 shifted by --shift-sd standard deviations (shift, from the first evaluation on). Quality
rules are left out: they act at once and are not what alarms on clean data (issue #28); drift's policy is
Alert, so an alarm the core would retrain on is counted without running training, and the votes are cleared
after it as a new version's would be. Shapes: the issue's breast-cancer and wine-like tables (13 x 36, 10 x 88)
and the churn example (8 features x 500 live rows). Printed per shape: alarms of the single evaluation (what
every alarm cost before confirmation), confirmed alarms (retrains now) per day, and the delay in intervals
until a shift is confirmed. The last line is the headline:
`pointless_retrains_per_day=<now> per_week=<now> binomial_per_week=<expected> unconfirmed_per_day=<before>
delay_mean=<n> delay_max=<n>` (binomial_per_week: the rate expected from the measured single-alarm rate,
for events too rare to count in a simulated week).
"""

from __future__ import annotations

import argparse
import copy
import time
from datetime import UTC, datetime, timedelta
from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from modelops.api import parse_model_deployment
from modelops.lifecycle import Context, Reconcile, ServingObserved, StageFinished, decide
from modelops.workloads.drift.measure import compute_drift, summarize_drift
from modelops.workloads.drift.profile import build_profile
from modelops.workloads.drift.trials import mixed_table

SAMPLE = Path(__file__).resolve().parents[1] / "manifests" / "samples" / "binary-classification.yaml"
SHAPES = {"breast-cancer-like": (13, 36, 142), "wine-like": (10, 88, 354), "churn-like": (8, 500, 1500)}
INTERVAL = timedelta(minutes=5)
PER_DAY = int(timedelta(days=1) / INTERVAL)


class Core:
    """One deployment in the pure core, serving version 1, evaluated every interval."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec, self.now, self.status = spec, datetime(2026, 1, 1, tzinfo=UTC), {}
        self.feed(Reconcile())
        self.finish({"metrics": {"loss": 0.3}})
        self.finish({"metrics": {"accuracy": 0.9, "auc": 0.93}})
        self.feed(ServingObserved(frozenset({1}), {"stable": 1, "canary": None}))

    def feed(self, observation: Any) -> None:
        self.status = decide(Context(self.spec, 1, self.now), copy.deepcopy(self.status), observation).status

    def finish(self, result: dict[str, Any]) -> None:
        self.feed(StageFinished(self.status["stage"]["id"], True, result))

    def evaluate(self, drift: dict[str, Any], batch: int) -> dict[str, Any]:
        self.now += INTERVAL
        self.feed(Reconcile())
        lineage = {"data": {"role": "monitoring", "sha256": f"{batch:064x}", "rows": drift["rows"]}}
        self.finish({"metrics": {"accuracy": 0.9}, "rows": drift["rows"], "drift": drift, "lineage": lineage})
        return self.status["lastEvaluation"]


def _spec() -> dict[str, Any]:
    doc = yaml.safe_load(SAMPLE.read_text())
    monitoring = doc["spec"]["monitoring"]
    monitoring.update(degradation=[], onDrift="Alert", drift={"alpha": 0.05, "metric": "psi", "threshold": 0.1})
    return parse_model_deployment(doc).spec


def _run(shape: tuple[int, int, int], evaluations: int, rng: np.random.Generator, shift_sd: float,
         stop_at_first: bool) -> tuple[int, int, int | None]:
    """(single-evaluation alarms, confirmed alarms, evaluations until the first confirmed one)."""
    features, live_rows, train_rows = shape
    names = [f"f{j}" for j in range(features)]
    train = mixed_table(train_rows, features, rng)
    profile = build_profile(train, names, seed=int(rng.integers(0, 2**31)))
    core, raw, confirmed, first = Core(_spec()), 0, 0, None
    for i in range(evaluations):
        live = mixed_table(live_rows, features, rng)
        live[:, 0] += shift_sd * train[:, 0].std()
        last = core.evaluate(summarize_drift(compute_drift(profile, live, names)), i)
        raw += last["drift"]["verdict"] == "Drifted"
        if last.get("degraded"):
            confirmed += 1
            first = i + 1 if first is None else first
            if stop_at_first:
                break
            core.status["driftVotes"] = []  # a retrain would serve a new version: its votes start afresh
    return raw, confirmed, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0, help="clean days simulated per shape")
    parser.add_argument("--shift-trials", type=int, default=20)
    parser.add_argument("--shift-sd", type=float, default=1.0, help="shift of feature 0 in the shift trials")
    parser.add_argument("--seed", type=int, default=28)
    args = parser.parse_args()
    started, rng = time.monotonic(), np.random.default_rng(args.seed)
    clean_evaluations = int(args.days * PER_DAY)
    total_raw = total_confirmed = 0
    delays: list[int] = []
    for name, shape in SHAPES.items():
        raw, confirmed, _ = _run(shape, clean_evaluations, rng, 0.0, stop_at_first=False)
        total_raw, total_confirmed = total_raw + raw, total_confirmed + confirmed
        shape_delays = [_run(shape, 50, rng, args.shift_sd, stop_at_first=True)[2] or 50
                        for _ in range(args.shift_trials)]
        delays += shape_delays
        print(f"{name:>19} ({shape[0]} features x {shape[1]} live rows): clean {clean_evaluations} evaluations: "
              f"{raw} single alarms ({raw / args.days:.2f}/day), {confirmed} confirmed ({confirmed / args.days:.3f}"
              f"/day); shift {args.shift_sd:g} sd: delay mean {np.mean(shape_delays):.2f}, max {max(shape_delays)} "
              f"intervals over {args.shift_trials} trials")
    days = args.days * len(SHAPES)
    # Too rare to count in a week: the binomial rate for the measured single-alarm rate p, with the default
    # rule (3 of 4, the newest drifted): p * P(at least 2 of the 3 before) per evaluation.
    p = total_raw / (clean_evaluations * len(SHAPES))
    expected = PER_DAY * 7 * p * sum(comb(3, j) * p ** j * (1 - p) ** (3 - j) for j in (2, 3))
    print(f"{time.monotonic() - started:.1f}s; single-alarm rate {p:.4f} per clean evaluation")
    print(f"pointless_retrains_per_day={total_confirmed / days:.4f} per_week={7 * total_confirmed / days:.3f} "
          f"binomial_per_week={expected:.3f} unconfirmed_per_day={total_raw / days:.2f} "
          f"delay_mean={np.mean(delays):.2f} delay_max={max(delays)}")


if __name__ == "__main__":
    main()
