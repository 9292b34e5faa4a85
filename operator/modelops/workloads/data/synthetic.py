"""Generated datasets for tests, benchmarks and examples (no downloads anywhere in the project).

`shift` moves every feature by that many standard deviations AFTER the labels are computed, so a shifted
monitoring set both drifts (PSI/KS rise) and degrades a model trained on shift=0 (its boundary no longer
matches): the two signals the lifecycle reacts to.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

TASKS = ("binary-classification", "multiclass-classification", "regression")


def make_dataset(task: str, rows: int, features: int, seed: int, shift: float = 0.0, *,
                 num_classes: int = 3, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (x float64 [rows, features], y [rows], feature names f0..f{n-1}).

    The concept (weights) depends only on `features` and `num_classes`, not on `seed`, so a training set
    and a monitoring set drawn with different seeds share one ground truth.
    `noise` flips that fraction of classification labels (or adds that much Gaussian noise to targets).
    """
    if task not in TASKS:
        raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
    if rows < 1 or features < 1:
        raise ValueError(f"rows and features must be >= 1, got rows={rows} features={features}")
    concept = np.random.default_rng(10_000 + features * 31 + num_classes)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    if task == "binary-classification":
        weights = concept.normal(size=features)
        y = (x @ weights > 0).astype(np.int64)
        y = _flip(y, noise, 2, rng)
    elif task == "multiclass-classification":
        weights = concept.normal(size=(features, num_classes))
        y = np.argmax(x @ weights, axis=1).astype(np.int64)
        y = _flip(y, noise, num_classes, rng)
    else:
        weights = concept.normal(size=features)
        y = x @ weights + 0.5 + noise * rng.normal(size=rows)
    return x + shift, y, [f"f{i}" for i in range(features)]


def _flip(y: np.ndarray, fraction: float, classes: int, rng: np.random.Generator) -> np.ndarray:
    if fraction <= 0:
        return y
    flip = rng.random(y.shape[0]) < fraction
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, classes, size=int(flip.sum()))) % classes
    return y


def write_csv(path: str | Path, x: np.ndarray, y: np.ndarray, feature_names: Sequence[str],
              label_column: str = "label") -> Path:
    """Write features and label with a header; floats round-trip exactly (repr), integer labels stay ints."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    integer_labels = np.issubdtype(np.asarray(y).dtype, np.integer)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*feature_names, label_column])
        for row, label in zip(np.asarray(x).tolist(), np.asarray(y).tolist(), strict=True):
            writer.writerow([*map(repr, row), str(int(label)) if integer_labels else repr(float(label))])
    return path


def write_npz(path: str | Path, x: np.ndarray, y: np.ndarray, feature_names: Sequence[str]) -> Path:
    """Write the NPZ layout the workloads read: arrays x, y and feature_names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez(handle, x=np.asarray(x), y=np.asarray(y), feature_names=np.asarray(list(feature_names)))
    return path
