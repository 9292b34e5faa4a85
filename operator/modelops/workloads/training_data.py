"""What one training run learns from: the primary dataset plus any extra (a degradation retrain adds
the labelled monitoring data that revealed the problem), with row caps and sample weights.

Extra datasets must have the primary's features (reordered by name when only the order differs); a
`maxRows` cap keeps the LAST rows of a file, which for appended live data are the most recent ones.
The drift reference of the new version is the monitoring data when a retrain learns from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelops.workloads.config import DatasetSpec, WorkloadConfig
from modelops.workloads.data import Dataset, load_dataset


@dataclass(frozen=True)
class TrainingData:
    primary: Dataset
    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None  # None when every row weighs 1 (Keras then takes its fast path)
    lineage: list[dict[str, Any]]  # one fingerprint per dataset read, in order
    feature_names: tuple[str, ...]
    reference_x: np.ndarray  # the drift reference: the newest data it learns from (see load_training_data)

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])


def _capped(data: Dataset, spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray]:
    if spec.max_rows is None or data.rows <= spec.max_rows:
        return data.x, data.y
    return data.x[-spec.max_rows:], data.y[-spec.max_rows:]


def load_training_data(cfg: WorkloadConfig) -> TrainingData:
    primary = load_dataset(cfg.dataset, cfg.task, num_classes=cfg.model.num_classes)
    xs, ys, weights, lineage = [], [], [], []
    for spec, data in [(cfg.dataset, primary), *(
            (extra, load_dataset(extra, cfg.task, num_classes=cfg.model.num_classes,
                                 expected_features=primary.feature_names))
            for extra in cfg.extra_datasets)]:
        x, y = _capped(data, spec)
        xs.append(x)
        ys.append(y)
        weights.append(np.full(x.shape[0], spec.weight, dtype=np.float32))
        lineage.append(data.fingerprint(spec, rows_used=int(x.shape[0])))
    all_weights = np.concatenate(weights)
    uniform = bool(np.all(all_weights == 1.0))
    # Drift is judged against the world the version was trained FOR: the monitoring rows a retrain adds
    # describe the present, while a mixture with older training rows would read as drift forever.
    monitoring = [x for spec, x in zip([cfg.dataset, *cfg.extra_datasets], xs, strict=True)
                  if spec.role == "monitoring"]
    reference = np.concatenate(monitoring) if monitoring else np.concatenate(xs)
    return TrainingData(primary, np.concatenate(xs), np.concatenate(ys), None if uniform else all_weights,
                        lineage, primary.feature_names, reference)
