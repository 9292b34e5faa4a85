"""A table as every stage sees it: named feature columns of known kinds, labels, optional weights and ids.

This is the contract between the readers (CSV, NPZ, TFRecord), the schema, the model's preprocessing
layers and the serving clients, so it is fixed here and nowhere else:
- numeric, integer and boolean columns are float64 arrays, a missing cell is NaN (booleans are 0.0/1.0);
- categorical columns are object arrays of `str`, a missing cell is `None`;
- `labels` are the raw label cells of the kept rows: float64 (regression, integer-coded classes) or object
  `str` (class names); rows whose label cell is empty are dropped at reading and counted in
  `dropped_unlabelled`, never guessed.
The served signature takes one input per feature under the column's name (scalar per row: float32 for
numeric kinds with NaN for missing, string for categorical with "" for missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

FeatureKind = Literal["numeric", "integer", "boolean", "categorical"]
FEATURE_KINDS: tuple[FeatureKind, ...] = ("numeric", "integer", "boolean", "categorical")
NUMERIC_KINDS: frozenset[str] = frozenset({"numeric", "integer", "boolean"})


@dataclass(frozen=True)
class Table:
    """One dataset after reading: the features in file order, the kind of each, and the labels."""

    columns: Mapping[str, np.ndarray]
    kinds: Mapping[str, FeatureKind]
    labels: np.ndarray
    source: str
    sha256: str
    weights: np.ndarray | None = None
    ids: np.ndarray | None = None
    dropped_unlabelled: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)  # reader notes for the stage report

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def take(self, indices: np.ndarray) -> Table:
        """The same table restricted to `indices` (row order as given), e.g. a held-out split."""
        return replace(
            self,
            columns={name: values[indices] for name, values in self.columns.items()},
            labels=self.labels[indices],
            weights=None if self.weights is None else self.weights[indices],
            ids=None if self.ids is None else self.ids[indices],
        )

    def features(self) -> dict[str, np.ndarray]:
        """Model inputs by name: float32 for numeric kinds (NaN kept), str for categorical ("" for missing)."""
        out: dict[str, np.ndarray] = {}
        for name, values in self.columns.items():
            if self.kinds[name] == "categorical":
                out[name] = np.array(["" if v is None else v for v in values], dtype=object)
            else:
                out[name] = values.astype(np.float32)
        return out
