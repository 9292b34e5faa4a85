"""Predict request encoding: every float32 reaches the server exactly (fast, no TensorFlow)."""

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
    decoded = np.asarray(json.loads(encode_instances(batch))["instances"], dtype=np.float32).reshape(batch.shape)
    np.testing.assert_array_equal(decoded, batch)


def test_random_bit_patterns_round_trip_and_are_shorter_than_float64_repr():
    bits = np.random.default_rng(0).integers(0, 2**32, size=40_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    batch = values[np.isfinite(values)][:32_000].reshape(-1, 8)
    text = encode_instances(batch)
    np.testing.assert_array_equal(np.asarray(json.loads(text)["instances"], dtype=np.float32), batch)
    assert len(text) < len(json.dumps({"instances": batch.tolist()}))


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="non-finite"):
        encode_instances(np.array([[1.0, np.nan]], dtype=np.float32))
