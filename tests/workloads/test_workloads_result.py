"""The ≤ 4 KiB summary: shrinking keeps what runtimes decide on; parsing refuses garbage (fast)."""

from __future__ import annotations

import json

import pytest

from modelops.contract.result import DECISION_KEYS, MAX_SUMMARY_BYTES, read_result, render_summary, write_summary


def _big_evaluate_summary(features: int) -> dict:
    drift = {f"feature_with_a_long_name_{i}": {"psi": 0.1 * i, "ks": 0.01 * i} for i in range(features)}
    return {"stage": "evaluate", "version": 7, "metrics": {"accuracy": 0.91, "loss": 0.2},
            "drift": {"features": drift, "maxPsi": 4.2, "maxKs": 0.5, "driftedFeature": "feature_with_a_long_name_3"},
            "rows": 1000}


def test_small_summary_is_kept_whole():
    summary = _big_evaluate_summary(3)
    assert json.loads(render_summary(summary)) == summary


def test_per_feature_drift_is_dropped_first_and_essentials_stay():
    text = render_summary(_big_evaluate_summary(200))
    assert len(text.encode()) <= MAX_SUMMARY_BYTES
    result = json.loads(text)
    assert result["truncated"] is True
    assert result["metrics"] == {"accuracy": 0.91, "loss": 0.2}
    assert result["drift"] == {"maxPsi": 4.2, "maxKs": 0.5, "driftedFeature": "feature_with_a_long_name_3"}


def _largest(stage: str) -> dict:
    """A summary with every decision key at its largest plus kilobytes of detail and a long error."""
    metrics = {m: 0.123456789012345 for m in ("accuracy", "precision", "recall", "f1", "auc", "loss")}
    fingerprint = {"role": "monitoring", "uri": "/models/datasets/" + "d" * 200 + ".csv", "sha256": "f" * 64,
                   "rows": 10**9, "rowsUsed": 10**9, "columns": 4096, "schema": "a" * 16, "maxRows": 10**6,
                   "weight": 99.5}
    summary = {"stage": stage, "version": 123456, "metrics": metrics, "rows": 10**9,
               "notes": ["x" * 500] * 10, "durationSeconds": 1.5, "error": "e" * 3000, "reason": "InternalError"}
    if stage == "validate":
        summary.update(baselineVersion=123455, baselineMetrics=dict(metrics), lineage=fingerprint,
                       challenge={"rows": 10**9, "candidate": dict(metrics), "baseline": dict(metrics),
                                  "data": fingerprint})
    if stage == "train":
        summary["lineage"] = {"data": [fingerprint] * 8}
    if stage == "evaluate":
        summary.update(drift={"maxPsi": 4.2, "maxKs": 0.5, "driftedFeature": "f" * 100,
                              "features": {f"feature_{i}": {"psi": 0.1, "ks": 0.2} for i in range(300)}},
                       lineage={"data": fingerprint, "retrainInputs": [fingerprint] * 2})
    return summary


@pytest.mark.parametrize("stage", ["train", "validate", "evaluate"])
def test_largest_summaries_fit_and_keep_every_decision_key(stage):
    """The 4 KiB limit never drops what the core decides on (e.g. baselineMetrics for change gates)."""
    summary = _largest(stage)
    text = render_summary(summary)
    assert len(text.encode()) <= MAX_SUMMARY_BYTES
    result = json.loads(text)
    for key in DECISION_KEYS[stage]:
        if key in summary and key != "drift":
            assert result[key] == summary[key], key
    assert result["reason"] == "InternalError" and result["error"].startswith("e")
    if stage == "validate":
        assert result["baselineMetrics"]["accuracy"] == pytest.approx(0.123456789012345)
    if stage == "evaluate":
        assert result["drift"]["maxPsi"] == 4.2 and "features" not in result["drift"]


def test_huge_error_is_cut_but_reason_kept(tmp_path):
    path = tmp_path / "termination-log"
    text = write_summary(path, {"stage": "train", "version": 1, "error": "boom " * 5000, "reason": "NonNumericValue"})
    assert path.read_text() == text and len(text.encode()) <= MAX_SUMMARY_BYTES
    result = read_result(text)
    assert result["reason"] == "NonNumericValue" and result["error"].startswith("boom")


def test_non_finite_metrics_become_null():
    assert json.loads(render_summary({"stage": "validate", "metrics": {"auc": float("nan")}}))["metrics"] == {
        "auc": None}


def test_read_result_takes_last_json_line_of_logs():
    logs = "epoch 1: loss=0.5\nsome warning\n" + json.dumps({"stage": "train", "version": 1, "metrics": {}})
    assert read_result(logs)["version"] == 1


@pytest.mark.parametrize("garbage", ["", "   ", "Traceback (most recent call last):\n  boom", "[1, 2]",
                                     '{"unrelated": true}'])
def test_read_result_raises_clearly_on_garbage(garbage):
    with pytest.raises(ValueError, match="workload result"):
        read_result(garbage)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=600))
_json_value = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=8) | st.dictionaries(
    st.text(max_size=20), inner, max_size=8), max_leaves=25)


@settings(max_examples=30, deadline=None)
@given(extra=st.dictionaries(st.text(max_size=30), _json_value, max_size=10),
       metrics=st.dictionaries(st.sampled_from(["accuracy", "auc", "loss", "f1"]), st.floats(0, 1)),
       error=st.none() | st.text(max_size=6000))
def test_any_summary_fits_and_keeps_its_essentials(extra, metrics, error):
    summary = {**extra, "stage": "validate", "version": 4, "passed": False, "metrics": metrics}
    if error is not None:
        summary["error"], summary["reason"] = error, "InternalError"
    text = render_summary(summary)
    assert len(text.encode()) <= MAX_SUMMARY_BYTES
    result = read_result(text)
    assert result["stage"] == "validate" and result["version"] == 4 and result["metrics"] == metrics
    if error is not None:
        assert result["reason"] == "InternalError" and error.startswith(result["error"].removesuffix("..."))
