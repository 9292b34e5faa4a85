"""Predict request encoding: one object per row naming each feature; every float32 reaches the server
exactly, a missing cell as NaN / "" (fast, no TensorFlow)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelops.workloads.clients.rest_client import encode_instances


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=16),
                  elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))
def test_float32_values_round_trip_exactly(batch):
    decoded = _decoded(encode_instances(_named(batch)), batch.shape[1])
    np.testing.assert_array_equal(decoded, batch)


def _named(batch: np.ndarray) -> dict[str, np.ndarray]:
    return {f"f{i}": batch[:, i] for i in range(batch.shape[1])}


def _decoded(text: str, width: int) -> np.ndarray:
    rows = json.loads(text)["instances"]
    return np.asarray([[row[f"f{i}"] for i in range(width)] for row in rows], dtype=np.float32).reshape(-1, width)


def test_random_bit_patterns_round_trip_and_are_shorter_than_float64_repr():
    bits = np.random.default_rng(0).integers(0, 2**32, size=40_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    batch = values[np.isfinite(values)][:32_000].reshape(-1, 8)
    text = encode_instances(_named(batch))
    np.testing.assert_array_equal(_decoded(text, 8), batch)
    as_float64 = json.dumps({"instances": [{f"f{i}": float(v) for i, v in enumerate(row)} for row in batch]})
    assert len(text) < len(as_float64)


def test_missing_cells_travel_as_nan_and_empty_string_and_infinity_is_refused():
    text = encode_instances({"bill": np.array([1.5, np.nan], dtype=np.float32),
                             "island": np.array(["Dream", None], dtype=object), "note": np.array(['a "q"', "é"])})
    rows = json.loads(text)  # Python's reader, like TF Serving's (kParseNanAndInfFlag), takes NaN
    assert rows["instances"][0] == {"bill": 1.5, "island": "Dream", "note": 'a "q"'}
    assert np.isnan(rows["instances"][1]["bill"]) and rows["instances"][1]["island"] == ""
    assert rows["instances"][1]["note"] == "é"
    with pytest.raises(ValueError, match="infinite"):
        encode_instances({"x": np.array([1.0, np.inf], dtype=np.float32)})
