"""Drift maths: PSI over stored quantile bins and the two-sample KS statistic (fast, numpy only)."""

from __future__ import annotations

import numpy as np

from modelops.workloads.profile import build_profile, compute_drift, ks_statistic, psi, reservoir_sample_indices
from modelops.workloads.synthetic import make_dataset


def _brute_force_ks(a: np.ndarray, b: np.ndarray) -> float:
    return max(abs(np.mean(a <= t) - np.mean(b <= t)) for t in np.concatenate([a, b]))


def test_ks_matches_definition():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(0.3, 1.2, size=200)
    assert abs(ks_statistic(a, b) - _brute_force_ks(a, b)) < 1e-12
    assert ks_statistic(a, a) == 0.0


def test_psi_formula_and_empty_bins():
    expected, actual = [0.25, 0.25, 0.5], [0.5, 0.25, 0.25]
    manual = (0.5 - 0.25) * np.log(0.5 / 0.25) + (0.25 - 0.5) * np.log(0.25 / 0.5)
    assert abs(psi(expected, actual) - manual) < 1e-12
    assert np.isfinite(psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]))


def test_profile_has_ten_quantile_bins_and_bounded_sample():
    x, _, names = make_dataset("regression", 5000, 3, seed=1)
    profile = build_profile(x, names, seed=1)
    stats = profile["features"]["f1"]
    assert len(stats["binEdges"]) == 11 and len(stats["binFractions"]) == 10
    assert np.allclose(stats["binFractions"], 0.1, atol=0.002)
    assert len(stats["sample"]) == 1000 and set(stats["sample"]) <= set(x[:, 1].tolist())
    assert stats["min"] == x[:, 1].min() and abs(stats["mean"] - x[:, 1].mean()) < 1e-12


def test_same_distribution_barely_drifts_and_a_shift_does():
    x, _, names = make_dataset("binary-classification", 4000, 4, seed=1)
    profile = build_profile(x, names, seed=1)
    same, _, _ = make_dataset("binary-classification", 2000, 4, seed=2)
    shifted, _, _ = make_dataset("binary-classification", 2000, 4, seed=2, shift=1.0)
    calm, drifted = compute_drift(profile, same, names), compute_drift(profile, shifted, names)
    assert calm["maxPsi"] < 0.05 and calm["maxKs"] < 0.08
    assert drifted["maxPsi"] > 0.5 and drifted["maxKs"] > 0.3
    assert drifted["driftedFeature"] in names and set(drifted["features"]) == set(names)


def test_constant_feature_has_a_single_bin_and_no_spurious_drift():
    x = np.column_stack([np.full(100, 3.0), np.arange(100.0)])
    profile = build_profile(x, ["c", "n"], seed=0)
    assert profile["features"]["c"]["binFractions"] == [1.0]
    assert compute_drift(profile, x, ["c", "n"])["features"]["c"]["psi"] == 0.0


def test_reservoir_sample_is_uniform_over_rows():
    counts = np.zeros(50)
    rng = np.random.default_rng(3)
    for _ in range(400):
        counts[reservoir_sample_indices(50, 10, rng)] += 1
    assert counts.sum() == 4000 and counts.min() > 40 and counts.max() < 130
