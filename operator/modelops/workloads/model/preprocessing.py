"""Raw named features -> prepared tensors, with Keras preprocessing layers adapted on the training Table.

Everything here is inside the model, so the SavedModel that is validated is the one served, and a client
sends raw cells (the served contract of `data/table.py`): one scalar input per feature under the column's
name, float32 with NaN for a missing numeric cell, string with "" for a missing categorical cell.

The prepared-inputs contract (what a model body, built-in or the user's `spec.training.model`, receives):
`prepared` is a dict with one entry per feature, keyed by the column name, in the Table's column order;
each value is a float32 KerasTensor of shape [batch, width] with no NaN:
- numeric and integer: [batch, 2] = (value normalised with the training mean and variance, the missing
  value imputed as the training mean, i.e. 0 after normalisation; missing indicator 0/1).
  Integer-coded columns are treated as numbers (an order and a distance mean something: counts, years,
  ratings); a column of integer codes without order is declared `categorical` in the column settings.
- boolean: [batch, 2] = (0/1, the missing value imputed as the training rate of 1s; missing indicator).
- categorical: a StringLookup over the training vocabulary (sorted, distinct, non-missing) with one
  out-of-vocabulary bucket (index 0, where unseen categories go), then either
  one-hot [batch, 1 + V] (V <= MAX_ONE_HOT) or a trained Embedding [batch, embedding_width(V)] for larger
  vocabularies, followed by the missing indicator: width 1 + V + 1 or embedding_width(V) + 1.
  A missing cell ("") counts as out of vocabulary and sets the indicator.
`concatenate_prepared(prepared)` joins them in column order into one [batch, sum of widths] tensor: the
input of the built-in body.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from modelops.workloads.data.table import Table

MAX_ONE_HOT = 64  # larger vocabularies are embedded: a one-hot that wide is mostly zeros the Dense reads
MISSING_STRING = ""


def embedding_width(vocabulary_size: int) -> int:
    """A common rule of thumb (about the fourth root of the vocabulary, times a few), capped."""
    return int(min(32, max(4, math.ceil(2 * (vocabulary_size + 1) ** 0.25))))


def input_dtype(kind: str) -> str:
    return "string" if kind == "categorical" else "float32"


def raw_inputs(table: Table) -> dict[str, Any]:
    """One scalar Keras input per feature, named by its column (the served signature's inputs)."""
    import keras

    return {name: keras.Input(shape=(), dtype=input_dtype(table.kinds[name]), name=name)
            for name in table.feature_names}


def prepare(table: Table, inputs: dict[str, Any]) -> dict[str, Any]:
    """The prepared tensors of the module docstring, the layers adapted on `table` (the training rows)."""
    prepared = {}
    for name in table.feature_names:
        kind, values = table.kinds[name], table.columns[name]
        if kind == "categorical":
            prepared[name] = _categorical(name, values, inputs[name])
        else:
            prepared[name] = _numeric(name, values.astype(np.float64), inputs[name], normalise=kind != "boolean")
    return prepared


def concatenate_prepared(prepared: dict[str, Any]) -> Any:
    import keras

    parts = list(prepared.values())
    return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="prepared")(parts)


def _numeric(name: str, values: np.ndarray, raw: Any, *, normalise: bool) -> Any:
    import keras

    from modelops.workloads.model.layers import ImputeWithIndicator

    column = keras.layers.Reshape((1,), name=f"{_safe(name)}_column")(raw)
    present = values[~np.isnan(values)]
    if normalise:
        norm = keras.layers.Normalization(name=f"{_safe(name)}_normalization")
        norm.adapt(present.reshape(-1, 1) if present.size else np.zeros((1, 1)))
        return ImputeWithIndicator(0.0, name=f"{_safe(name)}_impute")(norm(column))
    fill = float(present.mean()) if present.size else 0.0
    return ImputeWithIndicator(fill, name=f"{_safe(name)}_impute")(column)


def _categorical(name: str, values: np.ndarray, raw: Any) -> Any:
    import keras

    from modelops.workloads.model.layers import StringMissingIndicator

    vocabulary = sorted({v for v in values if v is not None and v != MISSING_STRING})
    if not vocabulary:  # StringLookup needs one term; a column never filled has only the OOV bucket to use
        vocabulary = ["<none>"]
    lookup = keras.layers.StringLookup(vocabulary=vocabulary, num_oov_indices=1, output_mode="int",
                                       name=f"{_safe(name)}_lookup")
    indices = lookup(raw)
    size = len(vocabulary) + 1
    if len(vocabulary) <= MAX_ONE_HOT:
        encoded = keras.layers.CategoryEncoding(size, output_mode="one_hot", name=f"{_safe(name)}_one_hot")(
            keras.layers.Reshape((1,), name=f"{_safe(name)}_index")(indices))
    else:
        encoded = keras.layers.Embedding(size, embedding_width(len(vocabulary)),
                                         name=f"{_safe(name)}_embedding")(indices)
    missing = StringMissingIndicator(name=f"{_safe(name)}_missing")(raw)
    return keras.layers.Concatenate(name=f"{_safe(name)}_prepared")([encoded, missing])


def _safe(name: str) -> str:
    """Layer names allow fewer characters than column names."""
    cleaned = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)
    return f"f_{cleaned}" if not cleaned or not cleaned[0].isalpha() else cleaned
