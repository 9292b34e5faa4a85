"""Seeded drift trials: how often the drift verdict fires on clean splits, and how often on a real shift.

Each trial draws one table of mixed features (normal, skewed, heavy-tailed, tied integers, low-cardinality
counts, binary flags, correlated pairs; or, typed, a Table with string categories, booleans and missing
cells), splits it at random into training and live rows (so the live split has, by construction, no drift),
builds the training profile, measures drift exactly as the evaluate stage does and judges it exactly as the
lifecycle does. Used by tests/workloads and bench/drift.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from modelops.lifecycle.drift import judge_drift
from modelops.workloads.data.table import FeatureKind, Table
from modelops.workloads.drift.by_type import build_table_profile, compute_table_drift
from modelops.workloads.drift.measure import compute_drift, summarize_drift
from modelops.workloads.drift.profile import build_profile

# (features, live rows, training rows): the two data sets, and 10-50 features, 30-5000 live rows.
NULL_SHAPES: tuple[tuple[int, int, int], ...] = (
    (13, 36, 142), (10, 88, 354), (10, 30, 500), (20, 200, 1000), (30, 1000, 3000), (50, 5000, 5000),
)
POWER_SHAPES: tuple[tuple[int, int, int], ...] = ((10, 500, 1500), (30, 1000, 3000), (50, 5000, 5000))
DEFAULT_RULE: Mapping[str, Any] = {"enabled": True, "alpha": 0.05, "correction": "benjamini-hochberg",
                                   "minDriftedShare": 0.0, "minRows": 30, "metric": "psi", "threshold": 0.1}
TESTS_ONLY_RULE: Mapping[str, Any] = {**DEFAULT_RULE, "threshold": 0.0}  # significance alone decides
KINDS = 7
# Mixed-type Tables (`mixed_typed_table`): penguins-sized and larger, with categorical, boolean and missing cells.
TYPED_NULL_SHAPES: tuple[tuple[int, int, int], ...] = ((7, 36, 142), (10, 88, 254), (15, 300, 1000),
                                                       (20, 1000, 2000))
TYPED_POWER_SHAPES: tuple[tuple[int, int, int], ...] = ((10, 500, 1500), (25, 1000, 3000))
TYPED_KINDS = 5


def mixed_table(rows: int, features: int, rng: np.random.Generator) -> np.ndarray:
    """rows x features, feature j of kind j % 7; kind 0 is a standard normal (the one a power trial shifts)."""
    out = np.empty((rows, features))
    for j in range(features):
        kind = j % KINDS
        if kind == 0:
            out[:, j] = rng.normal(size=rows)
        elif kind == 1:
            out[:, j] = rng.lognormal(0.0, 1.0, size=rows)
        elif kind == 2:
            out[:, j] = rng.standard_t(3, size=rows)
        elif kind == 3:
            out[:, j] = rng.integers(0, 60, size=rows)  # numeric with many ties
        elif kind == 4:
            out[:, j] = np.minimum(rng.poisson(2.0, size=rows), 9)  # low-cardinality: categorical
        elif kind == 5:
            out[:, j] = (rng.random(rows) < 0.3).astype(np.float64)  # binary flag
        else:
            out[:, j] = 0.8 * out[:, j - 6] + 0.6 * rng.normal(size=rows)  # correlated with a normal
    return out


def trial_summary(shape: tuple[int, int, int], rng: np.random.Generator, shift_sd: float = 0.0) -> dict[str, Any]:
    """One random split, measured; with shift_sd, live feature 0 moves by that many standard deviations."""
    features, live_rows, train_rows = shape
    table = mixed_table(live_rows + train_rows, features, rng)[rng.permutation(live_rows + train_rows)]
    train, live = table[:train_rows], table[train_rows:].copy()
    live[:, 0] += shift_sd * train[:, 0].std()
    names = [f"f{j}" for j in range(features)]
    profile = build_profile(train, names, seed=int(rng.integers(0, 2**31)))
    return summarize_drift(compute_drift(profile, live, names))


def mixed_typed_table(rows: int, features: int, rng: np.random.Generator) -> Table:
    """A Table of feature j of kind j % 5: a long-tailed categorical of 40 values (more than the drift test's
    vocabulary, so its out-of-vocabulary bucket is used; the one a power trial shifts), a normal with 5 %
    missing, a boolean with 2 % missing, an integer with many ties, a 3-value categorical with 10 % missing."""
    columns: dict[str, np.ndarray] = {}
    kinds: dict[str, FeatureKind] = {}
    tail = 1.0 / np.arange(1, 41) ** 1.1
    for j in range(features):
        name, kind = f"f{j}", j % TYPED_KINDS
        if kind == 0:
            picked = rng.choice(40, size=rows, p=tail / tail.sum())
            columns[name] = _with_missing(np.array([f"v{i}" for i in picked], dtype=object), 0.03, rng)
            kinds[name] = "categorical"
        elif kind == 1:
            columns[name], kinds[name] = _with_missing(rng.normal(size=rows), 0.05, rng), "numeric"
        elif kind == 2:
            flags = (rng.random(rows) < 0.3).astype(np.float64)
            columns[name], kinds[name] = _with_missing(flags, 0.02, rng), "boolean"
        elif kind == 3:
            columns[name], kinds[name] = rng.integers(0, 60, size=rows).astype(np.float64), "integer"
        else:
            picked = rng.choice(["red", "green", "blue"], size=rows, p=[0.5, 0.3, 0.2])
            columns[name] = _with_missing(np.array(picked.tolist(), dtype=object), 0.10, rng)
            kinds[name] = "categorical"
    return Table(columns, kinds, np.zeros(rows), "trial", "")


def _with_missing(values: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    gone = rng.random(values.shape[0]) < share
    values = values.copy()
    values[gone] = None if values.dtype == object else np.nan
    return values


def typed_trial_summary(shape: tuple[int, int, int], rng: np.random.Generator, shift: float = 0.0
                        ) -> dict[str, Any]:
    """One random split of a mixed-type Table, measured by type; with `shift`, that share of the live rows of
    feature 0 (categorical) take its fifth most frequent value."""
    features, live_rows, train_rows = shape
    table = mixed_typed_table(live_rows + train_rows, features, rng)
    order = rng.permutation(live_rows + train_rows)
    train, live = table.take(order[:train_rows]), table.take(order[train_rows:])
    if shift:
        moved = live.columns["f0"].copy()
        moved[rng.random(live_rows) < shift] = "v4"
        live = replace(live, columns={**live.columns, "f0": moved})
    profile = build_table_profile(train, seed=int(rng.integers(0, 2**31)))
    return summarize_drift(compute_table_drift(profile, live))


def alarm_rates(trials: int, seed: int, shapes: Sequence[tuple[int, int, int]], rules: Mapping[str, Mapping[str, Any]],
                shift_sd: float = 0.0, trial: Callable[..., dict[str, Any]] = trial_summary) -> dict[str, float]:
    """Per rule, the share of `trials` (spread evenly over `shapes`) judged Drifted; one measurement per trial.
    `trial` is `trial_summary` (numeric matrices, shift in sd) or `typed_trial_summary` (Tables, shift a share)."""
    rng = np.random.default_rng(seed)
    fired = dict.fromkeys(rules, 0)
    for i in range(trials):
        measured = trial(shapes[i % len(shapes)], rng, shift_sd)
        for name, rule in rules.items():
            fired[name] += judge_drift(rule, measured)["verdict"] == "Drifted"
    return {name: count / trials for name, count in fired.items()}
