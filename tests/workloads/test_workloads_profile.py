"""The training profile and the per-feature drift measurement (scipy tests, smoothed PSI / JS)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from modelops.contract.result import render_summary
from modelops.workloads.data.synthetic import make_dataset
from modelops.workloads.drift.measure import (
    bin_count_for,
    coarse_edges,
    compute_drift,
    pooled_table,
    psi,
    summarize_drift,
)
from modelops.workloads.drift.profile import build_profile, reservoir_sample_indices


def test_profile_types_features_and_keeps_what_their_tests_need():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=5000), rng.integers(0, 3, size=5000), np.full(5000, 2.0)])
    profile = build_profile(x, ["n", "c", "k"], seed=1)
    numeric, categorical = profile["features"]["n"], profile["features"]["c"]
    assert numeric["type"] == "numeric" and len(numeric["binCounts"]) == 20 and sum(numeric["binCounts"]) == 5000
    assert np.allclose(numeric["binCounts"], 250, atol=2)  # training quantile bins: equal mass
    assert len(numeric["sample"]) == 1000 and set(numeric["sample"]) <= set(x[:, 0].tolist())
    assert categorical["type"] == "categorical" and categorical["categories"] == [0.0, 1.0, 2.0]
    assert categorical["counts"] == np.bincount(x[:, 1].astype(int)).tolist()
    assert profile["features"]["k"]["type"] == "categorical" and profile["features"]["k"]["counts"] == [5000]


def test_ks_and_chi2_are_scipys_on_the_stored_reference():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(size=3000), rng.integers(0, 4, size=3000)])
    profile = build_profile(x, ["n", "c"], seed=2)
    live = np.column_stack([rng.normal(0.2, 1.0, size=400), rng.integers(0, 4, size=400)])
    by_name = {f["name"]: f for f in compute_drift(profile, live, ["n", "c"])["features"]}
    expected = stats.ks_2samp(profile["features"]["n"]["sample"], live[:, 0])
    assert by_name["n"]["test"] == "ks" and by_name["n"]["pValue"] == pytest.approx(expected.pvalue)
    assert by_name["n"]["statistic"] == pytest.approx(expected.statistic) == by_name["n"]["ks"]
    table = np.vstack([np.bincount(x[:, 1].astype(int)), np.bincount(live[:, 1].astype(int))])
    assert by_name["c"]["test"] == "chi2"
    assert by_name["c"]["pValue"] == pytest.approx(stats.chi2_contingency(table).pvalue)


def test_bin_rule_merges_training_quantiles_for_small_samples():
    assert [bin_count_for(n) for n in (5, 30, 36, 88, 199, 200, 5000)] == [2, 2, 2, 4, 9, 10, 10]
    edges, counts = coarse_edges(list(range(21)), np.full(20, 5.0), 4)
    assert edges == [0, 5, 10, 15, 20] and counts.tolist() == [25.0] * 4


def test_smoothing_keeps_small_sample_psi_near_zero_without_drift():
    # The case: 13 features, 36 live rows split at random from the same data.
    psi_max = []
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = rng.normal(size=(178, 13))
        profile = build_profile(x[:142], [f"f{i}" for i in range(13)], seed=0)
        psi_max.append(compute_drift(profile, x[142:], [f"f{i}" for i in range(13)])["maxPsi"])
    assert np.median(psi_max) < 0.15  # unsmoothed 10-bin PSI gave 1.57 here
    assert np.isfinite(psi(np.array([5.0, 5.0, 0.0]), np.array([0.0, 5.0, 5.0])))


def test_sparse_categories_are_pooled_and_a_new_value_is_still_caught():
    table = pooled_table(np.array([900.0, 90.0, 6.0, 4.0]), np.array([27.0, 3.0, 0.0, 0.0]))
    assert table.shape[1] >= 1 and table.min(initial=np.inf) >= 0 and table.sum() == 1030
    x = np.full((1000, 1), 1.0)  # constant in training...
    profile = build_profile(x, ["flag"], seed=0)
    live = np.full((40, 1), 2.0)  # ...a value never seen before: Fisher's exact test still answers
    [feature] = compute_drift(profile, live, ["flag"])["features"]
    assert feature["test"] == "fisher" and feature["pValue"] < 1e-10
    [same] = compute_drift(profile, np.full((40, 1), 1.0), ["flag"])["features"]
    assert same["test"] is None and same["pValue"] is None


def test_a_shift_is_measured_and_the_summary_stays_small():
    x, _, names = make_dataset("binary-classification", 4000, 40, seed=1)
    profile = build_profile(x, names, seed=1)
    same, _, _ = make_dataset("binary-classification", 2000, 40, seed=2)
    shifted = same.copy()
    shifted[:, 7] += 1.0
    calm, drifted = compute_drift(profile, same, names), compute_drift(profile, shifted, names)
    assert calm["maxPsi"] < 0.05 and calm["maxKs"] < 0.08 and calm["tested"] == 40
    assert drifted["driftedFeature"] == "f7" and drifted["features"][0]["pValue"] < 1e-30
    assert drifted["features"][0]["psi"] > 0.5
    summary = summarize_drift(drifted)
    assert len(summary["ranked"]["pValue"]) == 40 and summary["ranked"]["pValue"] == sorted(summary["ranked"]["pValue"])
    assert summary["features"][0]["name"] == "f7" and len(summary["features"]) == 5
    text = render_summary({"stage": "evaluate", "version": 1, "metrics": {"accuracy": 0.9}, "drift": summary})
    assert '"truncated"' not in text and len(text.encode()) <= 4096


def test_format_one_profiles_still_measure():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2000, 1))
    old = {"format": 1, "rows": 2000, "featureNames": ["a"], "features": {"a": {
        "binEdges": np.quantile(x[:, 0], np.linspace(0, 1, 11)).tolist(), "binFractions": [0.1] * 10,
        "sample": x[:1000, 0].tolist()}}}
    [feature] = compute_drift(old, rng.normal(1.0, 1.0, size=(300, 1)), ["a"])["features"]
    assert feature["test"] == "ks" and feature["pValue"] < 1e-10 and feature["psi"] > 0.5


def test_reservoir_sample_is_uniform_over_rows():
    counts = np.zeros(50)
    rng = np.random.default_rng(3)
    for _ in range(400):
        counts[reservoir_sample_indices(50, 10, rng)] += 1
    assert counts.sum() == 4000 and counts.min() > 40 and counts.max() < 130
