"""NPZ archives -> columns of cells: arrays `x` [rows, features] and `y` [rows], optional `feature_names`.

Every feature is numeric (the array's dtype is a number type; NaN is a missing cell). `y` is numeric
(NaN: unlabelled) or text (a unicode array of class names, "" unlabelled); the label column takes the
dataset's labelColumn name. Archives are read without pickle, so object arrays are refused.
"""

from __future__ import annotations

import io
import math

import numpy as np

from modelops.workloads.data.columns import Cell
from modelops.workloads.data.raw_columns import RawColumns
from modelops.workloads.errors import MALFORMED_DATASET, MISSING_LABEL_COLUMN, NON_NUMERIC_VALUE, WorkloadError


def read_npz(raw: bytes, source: str, label_column: str) -> RawColumns:
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: not a readable .npz archive: {exc}") from exc
    with archive:
        missing = [k for k in ("x", "y") if k not in archive.files]
        if missing:
            raise WorkloadError(MISSING_LABEL_COLUMN if missing == ["y"] else MALFORMED_DATASET,
                                f"dataset {source}: npz has no array {missing[0]!r} (arrays: {archive.files})")
        x, y = archive["x"], archive["y"]
        names_raw = archive["feature_names"] if "feature_names" in archive.files else None
    if x.ndim == 1 and x.shape[0] == 0:
        x = x.reshape(0, 0)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: expected x [n, f] and y [n], got x "
                                               f"{list(x.shape)} and y {list(y.shape)}")
    if x.dtype.kind not in "biuf":
        raise WorkloadError(NON_NUMERIC_VALUE, f"dataset {source}: array 'x' has non-numeric dtype {x.dtype}")
    if y.dtype.kind not in "biufU":
        raise WorkloadError(NON_NUMERIC_VALUE, f"dataset {source}: array 'y' has dtype {y.dtype} (numbers or "
                                               "text expected)")
    names = [f"f{i}" for i in range(x.shape[1])] if names_raw is None else [str(n) for n in names_raw]
    if len(names) != x.shape[1] or len(set(names)) != len(names) or label_column in names:
        raise WorkloadError(MALFORMED_DATASET, f"dataset {source}: feature_names must be {x.shape[1]} unique "
                                               f"names other than the label column {label_column!r}, got {names}")
    values = x.astype(np.float64)
    cells: dict[str, list[Cell]] = {name: [None if math.isnan(v) else v for v in values[:, i].tolist()]
                                    for i, name in enumerate(names)}
    if y.dtype.kind == "U":
        cells[label_column] = [str(v).strip() or None for v in y.tolist()]
    else:
        cells[label_column] = [None if math.isnan(v) else v for v in y.astype(np.float64).tolist()]
    return RawColumns([*names, label_column], cells, int(x.shape[0]), lambda row: f"row {row + 1}",
                      {name: "numeric" for name in names})
