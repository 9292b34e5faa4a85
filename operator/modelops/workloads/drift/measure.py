"""Drift measurement: one statistical test per feature against the training profile, plus effect sizes.

Tests (scipy.stats), each reporting its statistic and p-value:
- numeric: two-sample Kolmogorov-Smirnov of the live column against the stored training sample;
- categorical: chi-squared test of homogeneity on the 2 x K table of training and live counts, with
  categories whose expected count in either sample is below 5 pooled (the test's validity rule); when
  pooling leaves fewer than two columns, Fisher's exact test on "most frequent category vs the rest".
Effect sizes, over the same bins: PSI and the Jensen-Shannon distance (base 2, in [0, 1]), plus the KS
statistic D for every feature.
- Bin rule (numeric): B = clamp(live rows // 20, 2, 10) bins of about equal training mass (adjacent
  training 20-quantile bins merged), so every bin expects at least 20 live rows.
- Smoothing: 0.5 is added to every bin count of both samples before they become fractions, so an
  empty bin costs a bounded amount instead of ln(1e-4). Without drift, PSI then averages about
  (B - 1)(1/n + 1/N): at most ~0.05 plus (B - 1)/N at any live size n, instead of 1.5 at 36 rows.
Which features count as drifted, and whether the dataset drifted, is decided by the lifecycle
(`modelops.lifecycle.drift`) from the p-values and effect sizes reported here.
`compute_drift` measures a numeric-matrix profile (format 2: versions published before typed profiles, and
the numeric drift trials); a Table against a typed profile is `by_type.compute_table_drift`, which shares
the tests, bins and report here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

from modelops.workloads.drift.profile import bin_counts, numeric_reference

MIN_ROWS_PER_BIN = 20
MAX_BINS = 10
MIN_EXPECTED = 5.0
SMOOTHING = 0.5
TOP_FEATURES = 5
MAX_RANKED_P_VALUES = 200  # the summary's p-values: enough for any correction (missing tail = p of 1)
MAX_RANKED_EFFECTS = 50


def bin_count_for(rows: int) -> int:
    """The bin rule: at least MIN_ROWS_PER_BIN expected live rows per bin, between 2 and 10 bins."""
    return int(min(MAX_BINS, max(2, rows // MIN_ROWS_PER_BIN)))


def smoothed_fractions(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64) + SMOOTHING
    return counts / counts.sum()


def psi(expected_counts: np.ndarray, actual_counts: np.ndarray) -> float:
    """Population stability index, sum((a - e) * ln(a / e)), over smoothed fractions."""
    e, a = smoothed_fractions(expected_counts), smoothed_fractions(actual_counts)
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(expected_counts: np.ndarray, actual_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (square root of the divergence, base 2) over smoothed fractions."""
    return float(jensenshannon(smoothed_fractions(expected_counts), smoothed_fractions(actual_counts), base=2))


def coarse_edges(edges: Sequence[float], counts: np.ndarray, bins: int) -> tuple[list[float], np.ndarray]:
    """Merge adjacent fine bins into at most `bins` groups of about equal training mass."""
    fine = len(counts)
    if fine <= bins:
        return list(edges), counts
    groups = np.array_split(np.arange(fine), bins)
    merged_edges = [edges[0]] + [edges[g[-1] + 1] for g in groups]
    return merged_edges, np.array([counts[g].sum() for g in groups])


def ks_d_on_counts(categories: np.ndarray, train_counts: np.ndarray, live: np.ndarray) -> float:
    """KS statistic D between a training distribution given as counts per value and live values."""
    points = np.union1d(categories, live)
    cdf_train = np.concatenate([[0.0], np.cumsum(train_counts)])[np.searchsorted(categories, points, "right")]
    cdf_live = np.searchsorted(np.sort(live), points, side="right") / live.size
    return float(np.max(np.abs(cdf_train / train_counts.sum() - cdf_live)))


def pooled_table(train: np.ndarray, live: np.ndarray) -> np.ndarray:
    """2 x K table with every category expected >= MIN_EXPECTED times in both samples (small ones pooled)."""
    table = np.vstack([train, live]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    n_train, n_live = table.sum(axis=1)
    need = MIN_EXPECTED * (n_train + n_live) / max(min(n_train, n_live), 1.0)
    small = table.sum(axis=0) < need
    kept, pooled = table[:, ~small], table[:, small].sum(axis=1, keepdims=True)
    if pooled.sum() == 0:
        return kept
    if pooled.sum() >= need or kept.shape[1] == 0:
        return np.hstack([kept, pooled])
    smallest = int(np.argmin(kept.sum(axis=0)))
    kept[:, smallest:smallest + 1] += pooled
    return kept


def _categorical(stored: Mapping[str, Any], values: np.ndarray) -> dict[str, Any]:
    categories = np.asarray(stored["categories"], dtype=np.float64)
    train_counts = np.asarray(stored["counts"], dtype=np.float64)
    position = np.minimum(np.searchsorted(categories, values), categories.size - 1)
    known = categories[position] == values
    live_counts = np.bincount(position[known], minlength=categories.size).astype(np.float64)
    raw = np.vstack([np.append(train_counts, 0.0), np.append(live_counts, float((~known).sum()))])
    return {**counts_test(raw), "ks": ks_d_on_counts(categories, train_counts, values)}


def counts_test(raw: np.ndarray) -> dict[str, Any]:
    """Homogeneity of a 2 x K table of training and live counts per bucket (categories, out-of-vocabulary,
    missing): chi-squared after pooling sparse buckets, Fisher's exact test on top-vs-rest when too sparse."""
    table = pooled_table(raw[0], raw[1])
    out: dict[str, Any] = {"type": "categorical", "bins": int(table.shape[1]),
                           "psi": psi(table[0], table[1]), "js": js_distance(table[0], table[1])}
    if table.shape[1] >= 2:
        statistic, p_value, _, _ = stats.chi2_contingency(table)
        return {**out, "test": "chi2", "statistic": float(statistic), "pValue": float(p_value)}
    if int((raw.sum(axis=0) > 0).sum()) >= 2:  # too sparse for chi-squared: exact test on top-vs-rest
        top = int(np.argmax(raw[0]))
        two = np.column_stack([raw[:, top], raw.sum(axis=1) - raw[:, top]])
        statistic, p_value = stats.fisher_exact(two)
        return {**out, "test": "fisher", "statistic": float(statistic), "pValue": float(p_value)}
    return {**out, "test": None, "statistic": None, "pValue": None, "note": "a single category: nothing to test"}


def _numeric_effects(stored: Mapping[str, Any], values: np.ndarray, rows: int) -> dict[str, Any]:
    edges, counts = numeric_reference(dict(stored), rows)
    edges, counts = coarse_edges(edges, counts, bin_count_for(values.size))
    live = bin_counts(values, edges)
    return {"type": "numeric", "bins": len(counts), "psi": psi(counts, live), "js": js_distance(counts, live)}


def _numeric_tests(samples: list[np.ndarray], live: np.ndarray) -> list[tuple[float, float]]:
    """(D, p) per column; one vectorised call when the training samples share a length (they do)."""
    if not samples:
        return []
    if len({s.size for s in samples}) == 1:
        result = stats.ks_2samp(np.column_stack(samples), live, axis=0)
        return list(zip(np.atleast_1d(result.statistic).tolist(), np.atleast_1d(result.pvalue).tolist(),
                        strict=True))
    return [(float(r.statistic), float(r.pvalue))
            for r in (stats.ks_2samp(s, live[:, i]) for i, s in enumerate(samples))]


def natural_key(name: str) -> tuple[Any, ...]:
    """f2 before f10: digit runs compare as numbers (ties in p-value then read in column order)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _sort_key(feature: Mapping[str, Any]) -> tuple[float, tuple[Any, ...]]:
    p = feature.get("pValue")
    return (2.0 if p is None else float(p), natural_key(str(feature["name"])))


def drift_report(table: Mapping[str, Mapping[str, Any]], rows: int, stored_rows: int) -> dict[str, Any]:
    """The report from per-feature results: most significant first, with the largest effect sizes."""
    features = sorted(({"name": n, **v} for n, v in table.items()), key=_sort_key)
    tested = [f for f in features if f.get("pValue") is not None]
    return {
        "rows": rows, "referenceRows": stored_rows, "tested": len(tested), "features": features,
        "maxPsi": max((f["psi"] for f in tested), default=0.0), "maxJs": max((f["js"] for f in tested), default=0.0),
        "maxKs": max((f.get("ks", 0.0) for f in tested), default=0.0),
        "driftedFeature": tested[0]["name"] if tested else None,
    }


def compute_drift(profile: Mapping[str, Any], x: np.ndarray, feature_names: Sequence[str]) -> dict[str, Any]:
    """The full per-feature table (most significant first) and the largest effect sizes."""
    x = np.asarray(x, dtype=np.float64)
    rows, stored_rows = int(x.shape[0]), int(profile.get("rows", 0))
    table: dict[str, dict[str, Any]] = {}
    numeric: list[tuple[str, int]] = []
    for col, name in enumerate(feature_names):
        stored = profile["features"][name]
        if rows == 0:
            table[name] = {"type": stored.get("type", "numeric"), "test": None, "statistic": None, "pValue": None,
                           "note": "no live rows"}
        elif stored.get("type") == "categorical":
            table[name] = _categorical(stored, x[:, col])
        else:
            table[name] = _numeric_effects(stored, x[:, col], stored_rows)
            numeric.append((name, col))
    if rows:
        samples = [np.asarray(profile["features"][n]["sample"], dtype=np.float64) for n, _ in numeric]
        tests = _numeric_tests(samples, x[:, [c for _, c in numeric]])
        for (name, _), (d, p) in zip(numeric, tests, strict=True):
            table[name].update(test="ks", statistic=float(d), pValue=float(p), ks=float(d))
    return drift_report(table, rows, stored_rows)


def _sig(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def _compact(feature: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("name", "type", "kind", "test", "statistic", "pValue", "psi", "js", "ks", "missingRate",
            "referenceMissingRate", "unseen")
    exact = ("name", "type", "kind", "test", "unseen")
    return {k: (_sig(feature.get(k), 4) if k not in exact else feature.get(k)) for k in keys if k in feature}


def summarize_drift(report: Mapping[str, Any], top: int = TOP_FEATURES, floor: Any = None) -> dict[str, Any]:
    """The stage summary's part: every p-value the correction needs, top features by name, < ~2.5 KiB.

    `ranked` lists the tested features' p-values (ascending) and effect sizes in the same order, so
    the lifecycle can correct for all of them without their names. Effect sizes fit for the first
    MAX_RANKED_EFFECTS only, so with the drift rule's `floor` (metric, threshold) `ranked.meetsFloor`
    says for every listed p-value, as one '1'/'0' character, whether that feature's effect reaches it:
    the lifecycle applies the floor to every tested feature (issue #26), still deciding itself.
    """
    tested = [f for f in report["features"] if f.get("pValue") is not None]
    effects = tested[:MAX_RANKED_EFFECTS]
    ranked: dict[str, Any] = {"pValue": [_sig(f["pValue"]) for f in tested[:MAX_RANKED_P_VALUES]],
                              **{k: [_sig(f[k]) for f in effects] for k in ("psi", "js", "ks")}}
    if floor is not None:
        ranked["floor"] = {"metric": floor.metric, "threshold": floor.threshold}
        ranked["meetsFloor"] = "".join("1" if f[floor.metric] is not None and f[floor.metric] >= floor.threshold
                                       else "0" for f in tested[:MAX_RANKED_P_VALUES])
    return {
        "rows": report["rows"], "referenceRows": report.get("referenceRows"), "tested": len(tested),
        "ranked": ranked,
        "features": [_compact(f) for f in report["features"][:top]],
        **{k: _sig(report[k], 4) for k in ("maxPsi", "maxJs", "maxKs")},
        "driftedFeature": report["driftedFeature"],
    }
