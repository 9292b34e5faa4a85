"""Training-data profile, stored beside each version so later data can be tested against it.

Per feature the profile keeps what the drift tests need, and no more:
- numeric features: counts over 20 training-quantile bins (merged into fewer bins when the live sample
  is small, see `measure.py`) and a uniform sample of 1000 training values for the two-sample KS test;
- categorical features (at most 20 distinct training values, and at most one per 10 rows): every
  category with its exact training count, for the chi-squared test.
A full copy of the data would not fit the version directory's purpose; 1000 values are a sample the KS
test accounts for (its p-value uses both sample sizes).
This is the profile of a numeric feature matrix (format 2). New versions store a Table's profile, by feature
kind, with missing cells and string categories (`by_type.build_table_profile`, format 3, built on the same
pieces); format 2 stays because versions published before it keep theirs (`by_type.compute_table_drift`
measures them with `measure.compute_drift`), and the seeded drift trials of numeric matrices
(`trials.trial_summary`, bench/drift.py, bench/healing.py) use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

FINE_BINS = 20
SAMPLE_SIZE = 1000
MAX_CATEGORIES = 20
ROWS_PER_CATEGORY = 10
PROFILE_FORMAT = 2


def reservoir_sample_indices(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Algorithm R over row indices: a uniform sample of k of n rows (works on streams).

    Row i (i >= k) replaces slot j ~ U{0..i} when j < k; the draws are made at once and only the
    ~k·ln(n/k) replacements loop in Python.
    """
    reservoir = np.arange(min(n, k))
    if n <= k:
        return reservoir
    rows = np.arange(k, n)
    slots = rng.integers(0, rows + 1)
    accepted = slots < k
    for i, j in zip(rows[accepted].tolist(), slots[accepted].tolist(), strict=True):
        reservoir[j] = i
    return np.sort(reservoir)


def bin_counts(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Values per bin; bins are [e_i, e_{i+1}) with the first and last open to -inf / +inf."""
    inner = np.asarray(edges[1:-1], dtype=np.float64)
    return np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)


def low_cardinality(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(categories, counts) when the feature is categorical / low-cardinality, else None."""
    limit = min(MAX_CATEGORIES, max(2, values.size // ROWS_PER_CATEGORY))
    categories, counts = np.unique(values, return_counts=True)
    return (categories, counts) if categories.size <= limit else None


def feature_profile(values: np.ndarray, sample_rows: np.ndarray) -> dict[str, Any]:
    stats = {"mean": float(values.mean()), "std": float(values.std()),
             "min": float(values.min()), "max": float(values.max())}
    found = low_cardinality(values)
    if found is not None:
        return {"type": "categorical", "categories": found[0].tolist(), "counts": found[1].tolist(), **stats}
    # Repeated quantiles (ties) collapse: unique edges keep every bin non-empty.
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, FINE_BINS + 1)))
    return {"type": "numeric", "binEdges": edges.tolist(), "binCounts": bin_counts(values, edges).tolist(),
            **stats, "sample": values[sample_rows].tolist()}


def build_profile(x: np.ndarray, feature_names: Sequence[str], seed: int) -> dict[str, Any]:
    """Per feature: its type, what its drift test needs, and mean/std/min/max for people."""
    x = np.asarray(x, dtype=np.float64)
    sample_rows = reservoir_sample_indices(x.shape[0], SAMPLE_SIZE, np.random.default_rng(seed))
    features = {name: feature_profile(x[:, col], sample_rows) for col, name in enumerate(feature_names)}
    return {"format": PROFILE_FORMAT, "rows": int(x.shape[0]), "featureNames": list(feature_names),
            "features": features}


def numeric_reference(stored: dict[str, Any], rows: int) -> tuple[list[float], np.ndarray]:
    """(bin edges, training counts) of a numeric feature; format-1 profiles stored fractions instead."""
    if "binCounts" in stored:
        return stored["binEdges"], np.asarray(stored["binCounts"], dtype=np.float64)
    return stored["binEdges"], np.asarray(stored["binFractions"], dtype=np.float64) * rows
