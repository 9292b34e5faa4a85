"""Training-data profile (stored with each version) and drift of new data against it: PSI and KS.

PSI uses the training quantile bins, so each bin starts with ~10 % of the training data and a
shift shows up as mass moving between bins; the outer bins are open-ended so unseen extremes still
count. KS uses a reservoir sample of the training values: a full copy of the data would not fit the
version directory's purpose, and 1000 values bound the KS estimate's error to a few percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

BINS = 10
SAMPLE_SIZE = 1000
PSI_EPSILON = 1e-4
PROFILE_FORMAT = 1


def reservoir_sample_indices(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Algorithm R over row indices: a uniform sample of k of n rows in one pass (works on streams)."""
    reservoir = np.arange(min(n, k))
    for i in range(k, n):
        j = int(rng.integers(0, i + 1))
        if j < k:
            reservoir[j] = i
    return np.sort(reservoir)


def bin_fractions(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Fraction of values per bin; bins are [e_i, e_{i+1}) with the first and last open to -inf / +inf."""
    inner = np.asarray(edges[1:-1], dtype=np.float64)
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    return counts / max(len(values), 1)


def build_profile(x: np.ndarray, feature_names: Sequence[str], seed: int) -> dict[str, Any]:
    """Per feature: quantile bin edges + fractions, mean/std/min/max, and a sample for KS."""
    x = np.asarray(x, dtype=np.float64)
    indices = reservoir_sample_indices(x.shape[0], SAMPLE_SIZE, np.random.default_rng(seed))
    features = {}
    for col, name in enumerate(feature_names):
        values = x[:, col]
        # Constant or low-cardinality features give repeated quantiles; unique edges keep bins non-empty.
        edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, BINS + 1)))
        if edges.size < 2:
            edges = np.array([edges[0], edges[0]])
        features[name] = {
            "binEdges": edges.tolist(),
            "binFractions": bin_fractions(values, edges).tolist(),
            "mean": float(values.mean()), "std": float(values.std()),
            "min": float(values.min()), "max": float(values.max()),
            "sample": values[indices].tolist(),
        }
    return {"format": PROFILE_FORMAT, "rows": int(x.shape[0]), "featureNames": list(feature_names),
            "features": features}


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON) -> float:
    """Population stability index: sum((a - e) * ln(a / e)), fractions clipped at epsilon (empty bins)."""
    e = np.clip(np.asarray(expected, dtype=np.float64), epsilon, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), epsilon, None)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(sample_a: np.ndarray, sample_b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov D: the largest gap between the two empirical CDFs."""
    a = np.sort(np.asarray(sample_a, dtype=np.float64))
    b = np.sort(np.asarray(sample_b, dtype=np.float64))
    if a.size == 0 or b.size == 0:
        return 0.0
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def compute_drift(profile: Mapping[str, Any], x: np.ndarray, feature_names: Sequence[str]) -> dict[str, Any]:
    """Drift of every feature of `x` against the stored profile; the max-PSI feature is named."""
    per_feature: dict[str, dict[str, float]] = {}
    for col, name in enumerate(feature_names):
        stored = profile["features"][name]
        values = np.asarray(x[:, col], dtype=np.float64)
        per_feature[name] = {
            "psi": psi(stored["binFractions"], bin_fractions(values, stored["binEdges"])),
            "ks": ks_statistic(np.asarray(stored["sample"]), values),
        }
    if not per_feature:
        return {"features": {}, "maxPsi": 0.0, "maxKs": 0.0, "driftedFeature": None}
    drifted = max(per_feature, key=lambda n: per_feature[n]["psi"])
    return {"features": per_feature, "maxPsi": per_feature[drifted]["psi"],
            "maxKs": max(v["ks"] for v in per_feature.values()), "driftedFeature": drifted}
