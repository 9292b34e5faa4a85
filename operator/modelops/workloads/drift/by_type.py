"""Drift by feature type, on Tables: the profile a version stores and the per-feature test of later data.

One test per feature, so the multiple-comparison control (`lifecycle/drift.py`) counts features, not buckets:
- categorical (strings): chi-squared homogeneity over the DRIFT_VOCABULARY most frequent training values,
  one out-of-vocabulary bucket (rarer training values and values the version never saw) and one missing
  bucket; sparse buckets pooled, Fisher's exact test when too sparse (`measure.counts_test`). Live rows
  holding a value outside the KNOWN_VALUES remembered are counted as `unseen`. Its `ks` effect size is the
  L-infinity distance of the bucket shares (strings have no order for a KS statistic);
- boolean, and integer or numeric features of low cardinality (`profile.low_cardinality`): the same test
  over their values plus the missing bucket;
- numeric: two-sample Kolmogorov-Smirnov on the present values against a training sample of 1000; when
  either side has missing cells, also Fisher's exact test of the missing share, and the feature's p-value
  is the Bonferroni-combined min(1, 2 min(p_KS, p_missing)), still one test per feature.
PSI and Jensen-Shannon distance are computed over the same buckets (the missing one included).
A profile of format 2 (a numeric matrix, `profile.build_profile`) is still measured, column by column as
before, so versions published before typed profiles keep their drift reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from modelops.workloads.data.table import Table
from modelops.workloads.drift.measure import (
    bin_count_for,
    coarse_edges,
    compute_drift,
    counts_test,
    drift_report,
    js_distance,
    ks_d_on_counts,
    psi,
)
from modelops.workloads.drift.profile import (
    SAMPLE_SIZE,
    bin_counts,
    feature_profile,
    reservoir_sample_indices,
)

TYPED_PROFILE_FORMAT = 3
DRIFT_VOCABULARY = 30  # categories tested one by one; the rest share the out-of-vocabulary bucket
KNOWN_VALUES = 1000  # categories remembered to tell a rare training value from an unseen one


def _missing(kind: str, values: np.ndarray) -> np.ndarray:
    if kind == "categorical":
        return np.fromiter((v is None for v in values.tolist()), dtype=bool, count=values.shape[0])
    return np.isnan(values.astype(np.float64))


def _vocabulary_profile(values: np.ndarray, missing: int) -> dict[str, Any]:
    counts = Counter(v for v in values.tolist() if v is not None)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept, rest = ordered[:KNOWN_VALUES], ordered[KNOWN_VALUES:]
    return {"type": "vocabulary", "kind": "categorical", "values": [v for v, _ in kept],
            "counts": [c for _, c in kept], "otherCount": sum(c for _, c in rest), "missing": missing}


def _numeric_profile(kind: str, values: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    missing = int(values.shape[0] - present.size)
    if present.size == 0:
        return {"type": "numeric", "kind": kind, "missing": missing, "empty": True}
    if kind == "boolean":
        counts = [int((present == 0.0).sum()), int((present == 1.0).sum())]
        return {"type": "categorical", "kind": kind, "categories": [0.0, 1.0], "counts": counts,
                "missing": missing, "mean": float(present.mean())}
    sample_rows = reservoir_sample_indices(present.size, SAMPLE_SIZE, rng)
    return {**feature_profile(present, sample_rows), "kind": kind, "missing": missing}


def build_table_profile(table: Table, seed: int) -> dict[str, Any]:
    """The drift reference of a version from its training (or reference) Table."""
    rng = np.random.default_rng(seed)
    features: dict[str, Any] = {}
    for name, values in table.columns.items():
        kind = table.kinds[name]
        if kind == "categorical":
            features[name] = _vocabulary_profile(values, int(_missing(kind, values).sum()))
        else:
            features[name] = _numeric_profile(kind, values.astype(np.float64), rng)
    return {"format": TYPED_PROFILE_FORMAT, "rows": table.rows, "featureNames": list(table.columns),
            "features": features}


def _untested(stored: Mapping[str, Any], note: str) -> dict[str, Any]:
    kind = stored.get("kind", "numeric")
    return {"type": "categorical" if kind in ("categorical", "boolean") else "numeric", "kind": kind,
            "test": None, "statistic": None, "pValue": None, "note": note}


def _rates(stored: Mapping[str, Any], stored_rows: int, missing: int, rows: int) -> dict[str, float]:
    return {"missingRate": missing / rows if rows else 0.0,
            "referenceMissingRate": int(stored.get("missing", 0)) / stored_rows if stored_rows else 0.0}


def _vocabulary_drift(stored: Mapping[str, Any], values: np.ndarray, stored_rows: int) -> dict[str, Any]:
    known = {v: i for i, v in enumerate(stored["values"])}
    tested = min(DRIFT_VOCABULARY, len(known))
    train_counts = np.asarray(stored["counts"], dtype=np.float64)
    train = np.concatenate([train_counts[:tested], [train_counts[tested:].sum() + int(stored.get("otherCount", 0)),
                                                    int(stored.get("missing", 0))]])
    live = np.zeros(tested + 2)
    unseen = 0
    for value in values.tolist():
        if value is None:
            live[tested + 1] += 1
            continue
        index = known.get(value)
        unseen += index is None
        live[tested if index is None or index >= tested else index] += 1
    missing = int(live[tested + 1])
    # No order among strings, so no KS: its place is taken by the L-infinity distance of the bucket shares
    # (TFDV's drift_comparator `infinity_norm`), also in [0, 1].
    shares = np.abs(train / max(train.sum(), 1.0) - live / max(live.sum(), 1.0))
    return {**counts_test(np.vstack([train, live])), "kind": "categorical", "unseen": int(unseen),
            "ks": float(shares.max()), **_rates(stored, stored_rows, missing, values.shape[0])}


def _low_cardinality_drift(stored: Mapping[str, Any], values: np.ndarray, stored_rows: int) -> dict[str, Any]:
    categories = np.asarray(stored["categories"], dtype=np.float64)
    train_counts = np.asarray(stored["counts"], dtype=np.float64)
    absent = np.isnan(values)
    present = values[~absent]
    position = np.minimum(np.searchsorted(categories, present), categories.size - 1)
    matched = categories[position] == present
    live_counts = np.bincount(position[matched], minlength=categories.size).astype(np.float64)
    raw = np.vstack([np.concatenate([train_counts, [0.0, int(stored.get("missing", 0))]]),
                     np.concatenate([live_counts, [float((~matched).sum()), float(absent.sum())]])])
    ks = ks_d_on_counts(categories, train_counts, present) if present.size else 0.0
    return {**counts_test(raw), "kind": stored.get("kind", "numeric"), "ks": ks,
            **_rates(stored, stored_rows, int(absent.sum()), values.shape[0])}


def _numeric_drift(stored: Mapping[str, Any], values: np.ndarray, stored_rows: int) -> dict[str, Any]:
    absent = np.isnan(values)
    present = values[~absent]
    train_missing, live_missing = int(stored.get("missing", 0)), int(absent.sum())
    rates = _rates(stored, stored_rows, live_missing, values.shape[0])
    p_missing = None
    if train_missing + live_missing > 0:
        table = [[train_missing, stored_rows - train_missing], [live_missing, present.size]]
        p_missing = float(stats.fisher_exact(table)[1])
    if present.size == 0 or stored.get("empty"):
        if p_missing is None:
            return _untested(stored, "no present values to test")
        return {**_untested(stored, "only the missing share could be tested"), "test": "fisher",
                "pValue": p_missing, "statistic": None, "psi": 0.0, "js": 0.0, "ks": 0.0, **rates}
    edges, counts = coarse_edges(stored["binEdges"], np.asarray(stored["binCounts"], dtype=np.float64),
                                 bin_count_for(present.size))
    train = np.append(counts, train_missing)
    live = np.append(bin_counts(present, edges), live_missing)
    result = stats.ks_2samp(np.asarray(stored["sample"], dtype=np.float64), present)
    p_value, test = float(result.pvalue), "ks"
    if p_missing is not None:  # one test per feature: Bonferroni over its two parts
        p_value, test = min(1.0, 2.0 * min(p_value, p_missing)), "ks+fisher"
    return {"type": "numeric", "kind": stored.get("kind", "numeric"), "bins": len(train), "test": test,
            "statistic": float(result.statistic), "pValue": p_value, "ks": float(result.statistic),
            "psi": psi(train, live), "js": js_distance(train, live), **rates}


def compute_table_drift(profile: Mapping[str, Any], table: Table) -> dict[str, Any]:
    """Every feature of the profile tested on `table` (the report `summarize_drift` shortens)."""
    if int(profile.get("format", 1)) < TYPED_PROFILE_FORMAT:  # a numeric matrix profile of an older version
        names = list(profile["featureNames"])
        x = np.column_stack([np.asarray(table.columns[n], dtype=np.float64) for n in names]) if names else \
            np.zeros((table.rows, 0))
        return compute_drift(profile, x, names)
    rows, stored_rows = table.rows, int(profile.get("rows", 0))
    results: dict[str, dict[str, Any]] = {}
    for name in profile["featureNames"]:
        stored = profile["features"][name]
        vocabulary = stored["type"] == "vocabulary"
        if name not in table.columns:
            results[name] = _untested(stored, "the column is missing from the data (see the schema check)")
        elif (table.kinds[name] == "categorical") != vocabulary:
            results[name] = _untested(stored, f"read as {table.kinds[name]} (see the schema check)")
        elif rows == 0:
            results[name] = _untested(stored, "no live rows")
        elif vocabulary:
            results[name] = _vocabulary_drift(stored, table.columns[name], stored_rows)
        elif stored["type"] == "categorical":
            results[name] = _low_cardinality_drift(stored, table.columns[name].astype(np.float64), stored_rows)
        else:
            results[name] = _numeric_drift(stored, table.columns[name].astype(np.float64), stored_rows)
    return drift_report(results, rows, stored_rows)
