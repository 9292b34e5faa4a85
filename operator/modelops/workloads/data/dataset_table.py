"""The numeric Dataset (CSV of numbers, NPZ) as a Table: one numeric column per feature, named by the file.

A stop-gap seam: the stages work on Tables; until the typed readers (CSV/TFRecord/NPZ -> Table) replace
`tables.load_dataset`, an all-numeric file reaches them through this adapter, so its served signature is
already one float32 input per column (NPZ: named by `feature_names`, else f0, f1, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from modelops.workloads.data.table import Table
from modelops.workloads.data.tables import Dataset


def numeric_table(x: np.ndarray, feature_names: Sequence[str], labels: np.ndarray, source: str = "",
                  sha256: str = "") -> Table:
    """Columns of a feature matrix [n, f] as a Table of numeric columns (float64, NaN kept)."""
    columns = {name: np.asarray(x[:, index], dtype=np.float64) for index, name in enumerate(feature_names)}
    return Table(columns, dict.fromkeys(columns, "numeric"), np.asarray(labels), source, sha256)


def dataset_table(data: Dataset) -> Table:
    return numeric_table(data.x, data.feature_names, data.y, data.source, data.sha256)
