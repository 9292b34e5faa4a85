"""Drift by feature type on Tables: categorical vocabularies with an out-of-vocabulary bucket, unseen categories,
booleans, missing shares; one test per feature, and older numeric profiles still measured."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from modelops.contract.result import render_summary
from modelops.lifecycle.drift import judge_drift
from modelops.workloads.data.table import Table
from modelops.workloads.drift import by_type
from modelops.workloads.drift.by_type import build_table_profile, compute_table_drift
from modelops.workloads.drift.measure import summarize_drift
from modelops.workloads.drift.profile import build_profile
from modelops.workloads.drift.trials import DEFAULT_RULE, mixed_typed_table

ISLANDS = ("Biscoe", "Dream", "Torgersen")


def island_table(rows: int, rng: np.random.Generator, p: tuple[float, ...] = (0.5, 0.35, 0.15),
                 values: tuple[str, ...] = ISLANDS, missing: float = 0.0) -> Table:
    picked = [None if rng.random() < missing else str(v) for v in rng.choice(values, size=rows, p=p)]
    return Table({"island": np.array(picked, dtype=object), "mass": rng.normal(4200.0, 800.0, rows),
                  "male": (rng.random(rows) < 0.5).astype(np.float64)},
                 {"island": "categorical", "mass": "numeric", "male": "boolean"}, np.zeros(rows), "t", "")


def _by_name(report: dict) -> dict:
    return {f["name"]: f for f in report["features"]}


def test_categorical_drift_fires_on_a_shifted_vocabulary_and_not_on_a_clean_split() -> None:
    rng = np.random.default_rng(4)  # a seeded clean split (the false-alarm rate is test_drift_simulation's)
    profile = build_table_profile(island_table(1500, rng), seed=1)
    clean = _by_name(compute_table_drift(profile, island_table(400, rng)))["island"]
    shifted = _by_name(compute_table_drift(profile, island_table(400, rng, p=(0.3, 0.35, 0.35))))["island"]
    assert clean["type"] == "categorical" and clean["kind"] == "categorical" and clean["test"] == "chi2"
    assert clean["pValue"] > 0.05 and shifted["pValue"] < 1e-6
    assert shifted["psi"] > clean["psi"] and shifted["js"] > clean["js"] and shifted["ks"] > clean["ks"]
    assert judge_drift(DEFAULT_RULE, summarize_drift(compute_table_drift(profile, island_table(
        400, rng, p=(0.3, 0.35, 0.35)))))["driftedFeature"] == "island"


def test_chi2_is_scipys_over_the_vocabulary_oov_and_missing_buckets() -> None:
    rng = np.random.default_rng(4)
    train = island_table(1000, rng, missing=0.05)
    live = island_table(300, rng, values=("Biscoe", "Dream", "Atlantis"), missing=0.2)
    feature = _by_name(compute_table_drift(build_table_profile(train, seed=1), live))["island"]
    def buckets(values: np.ndarray) -> list[int]:
        items = values.tolist()
        return [items.count("Biscoe"), items.count("Dream"), items.count("Torgersen"),
                sum(v not in (*ISLANDS, None) for v in items), items.count(None)]
    expected = np.array([buckets(train.columns["island"]), buckets(live.columns["island"])], dtype=float)
    expected = expected[:, expected.sum(axis=0) > 0]  # no training out-of-vocabulary values: the bucket is empty
    assert feature["pValue"] == stats.chi2_contingency(expected)[1]
    assert feature["unseen"] == live.columns["island"].tolist().count("Atlantis")
    assert feature["missingRate"] == live.columns["island"].tolist().count(None) / 300
    assert abs(feature["referenceMissingRate"] - 0.05) < 0.02


def test_rare_training_values_share_the_out_of_vocabulary_bucket_and_are_not_unseen(monkeypatch) -> None:
    monkeypatch.setattr(by_type, "DRIFT_VOCABULARY", 2)
    rng = np.random.default_rng(5)
    train, live = island_table(900, rng), island_table(300, rng)
    feature = _by_name(compute_table_drift(build_table_profile(train, seed=1), live))["island"]
    counts = [[c.tolist().count("Biscoe"), c.tolist().count("Dream"), c.tolist().count("Torgersen")]
              for c in (train.columns["island"], live.columns["island"])]  # Torgersen: out of the tested vocabulary
    assert feature["unseen"] == 0 and feature["bins"] == 3  # 2 tested values + OOV (no missing cells)
    assert feature["pValue"] == stats.chi2_contingency(np.array(counts))[1]


def test_booleans_are_categorical_of_two_values() -> None:
    rng = np.random.default_rng(6)
    train = island_table(1000, rng)
    profile = build_table_profile(train, seed=1)
    assert profile["features"]["male"]["categories"] == [0.0, 1.0]
    live = replace(island_table(300, rng), columns={**island_table(300, rng).columns,
                                                    "male": (rng.random(300) < 0.8).astype(np.float64)})
    male = _by_name(compute_table_drift(profile, live))["male"]
    assert (male["type"], male["kind"], male["test"]) == ("categorical", "boolean", "chi2") and male["pValue"] < 1e-9


def test_a_missing_share_change_in_a_numeric_feature_is_counted_beside_ks() -> None:
    rng = np.random.default_rng(7)
    profile = build_table_profile(island_table(1000, rng), seed=1)
    live = island_table(300, rng)
    mass = live.columns["mass"].copy()
    mass[:90] = np.nan  # 30 % missing, none in training; the present values are from the same distribution
    feature = _by_name(compute_table_drift(profile, replace(live, columns={**live.columns, "mass": mass})))["mass"]
    p_ks = stats.ks_2samp(profile["features"]["mass"]["sample"], mass[90:]).pvalue
    p_missing = stats.fisher_exact([[0, 1000], [90, 210]])[1]
    assert feature["test"] == "ks+fisher" and feature["pValue"] == min(1.0, 2 * min(p_ks, p_missing))
    assert feature["missingRate"] == 0.3 and feature["referenceMissingRate"] == 0.0
    untouched = _by_name(compute_table_drift(profile, live))["mass"]
    assert untouched["test"] == "ks" and untouched["pValue"] == stats.ks_2samp(
        profile["features"]["mass"]["sample"], live.columns["mass"]).pvalue


def test_one_test_per_feature_and_a_summary_that_names_kinds() -> None:
    rng = np.random.default_rng(8)
    train, live = mixed_typed_table(800, 10, rng), mixed_typed_table(200, 10, rng)
    report = compute_table_drift(build_table_profile(train, seed=1), live)
    assert report["tested"] == 10 and len(report["features"]) == 10
    summary = summarize_drift(report)
    assert {f["kind"] for f in report["features"]} == {"categorical", "numeric", "boolean", "integer"}
    assert all("kind" in f for f in summary["features"]) and len(render_summary(summary)) < 2600


def test_a_column_missing_or_read_as_another_kind_is_left_to_the_schema_check() -> None:
    rng = np.random.default_rng(9)
    profile = build_table_profile(island_table(500, rng), seed=1)
    live = island_table(100, rng)
    text = np.array(["heavy"] * 100, dtype=object)
    changed = replace(live, columns={"island": live.columns["island"], "mass": text},
                      kinds={"island": "categorical", "mass": "categorical"})
    by_name = _by_name(compute_table_drift(profile, changed))
    assert by_name["mass"]["pValue"] is None and "schema check" in by_name["mass"]["note"]
    assert by_name["male"]["pValue"] is None and "missing from the data" in by_name["male"]["note"]
    assert by_name["island"]["pValue"] is not None


def test_an_older_numeric_profile_is_still_measured_from_a_table() -> None:
    rng = np.random.default_rng(10)
    x = np.column_stack([rng.normal(size=800), rng.integers(0, 3, size=800)])
    old = build_profile(x, ["a", "b"], seed=1)
    live_x = np.column_stack([rng.normal(0.5, 1.0, 200), rng.integers(0, 3, size=200)])
    table = Table({"a": live_x[:, 0], "b": live_x[:, 1].astype(np.float64)}, {"a": "numeric", "b": "integer"},
                  np.zeros(200), "t", "")
    from modelops.workloads.drift.measure import compute_drift

    assert compute_table_drift(old, table) == compute_drift(old, live_x, ["a", "b"])
