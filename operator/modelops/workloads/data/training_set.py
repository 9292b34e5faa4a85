"""What one training run learns from: the primary dataset plus any extra (a degradation retrain adds
the labelled monitoring data that revealed the problem), with row caps and sample weights.

Extra datasets must have the primary's features (reordered by name when only the order differs); a
`maxRows` cap keeps the LAST rows of a file, which for appended live data are the most recent ones.
A monitoring dataset with a `holdout` share is split (seeded, stratified by label for classification)
into rows the version learns from and rows nobody trains on; those held-out rows are the new version's
drift reference, and `rows.npz` (`row_identity.py`) records which rows it learned from, so no later
judgement scores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelops.workloads.config.stage import DatasetSpec, WorkloadConfig
from modelops.workloads.data.labels import label_text
from modelops.workloads.data.row_identity import holdout_split, row_hashes, table_row_hashes
from modelops.workloads.data.table import Table
from modelops.workloads.data.table_ops import align_table, concat_tables, last_rows
from modelops.workloads.data.table_reader import load_table
from modelops.workloads.data.table_report import table_fingerprint
from modelops.workloads.data.tables import Dataset, load_dataset


@dataclass(frozen=True)
class TrainingData:
    primary: Dataset
    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None  # None when every row weighs 1 (Keras then takes its fast path)
    lineage: list[dict[str, Any]]  # one fingerprint per dataset read, in order
    feature_names: tuple[str, ...]
    reference_x: np.ndarray  # the drift reference (see load_training_data)
    trained_hashes: np.ndarray  # row fingerprints of every row it learns from
    reference_hashes: np.ndarray  # row fingerprints of the drift reference rows
    roles: np.ndarray  # per learned row: True when it came from a monitoring dataset (recipes reweight them)
    held_x: np.ndarray  # the held-out monitoring rows (never trained on): what recipes are scored on
    held_y: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])


def _capped(data: Dataset, spec: DatasetSpec) -> tuple[np.ndarray, np.ndarray]:
    if spec.max_rows is None or data.rows <= spec.max_rows:
        return data.x, data.y
    return data.x[-spec.max_rows:], data.y[-spec.max_rows:]


def _held_out(spec: DatasetSpec, x: np.ndarray, y: np.ndarray, cfg: WorkloadConfig
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """(x, y to learn from, x, y held out, lineage fields) of one dataset; all rows learned without a holdout."""
    if spec.holdout is None:
        return x, y, x[:0], y[:0], {}
    stratify = cfg.task != "regression"
    learn, held = holdout_split(y, spec.holdout, cfg.hyperparameters.seed, stratify)
    fields = {"heldOutRows": int(held.size), "holdoutSeed": cfg.hyperparameters.seed, "stratified": stratify}
    return x[learn], y[learn], x[held], y[held], fields


def load_training_data(cfg: WorkloadConfig) -> TrainingData:
    primary = load_dataset(cfg.dataset, cfg.task, num_classes=cfg.model.num_classes)
    xs, ys, weights, lineage, held_x, held_y, roles = [], [], [], [], [], [], []
    learned_monitoring = []
    for spec, data in [(cfg.dataset, primary), *(
            (extra, load_dataset(extra, cfg.task, num_classes=cfg.model.num_classes,
                                 expected_features=primary.feature_names))
            for extra in cfg.extra_datasets)]:
        x, y = _capped(data, spec)
        x, y, hx, hy, fields = _held_out(spec, x, y, cfg)
        xs.append(x)
        ys.append(y)
        held_x.append(hx)
        held_y.append(hy)
        weights.append(np.full(x.shape[0], spec.weight, dtype=np.float32))
        lineage.append({**data.fingerprint(spec, rows_used=int(x.shape[0])), **fields})
        roles.append(np.full(x.shape[0], spec.role == "monitoring"))
        if spec.role == "monitoring":
            learned_monitoring.append(x)
    all_weights = np.concatenate(weights)
    uniform = bool(np.all(all_weights == 1.0))
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    trained = row_hashes(x_all, y_all)
    # Drift is judged against the world the version was trained FOR, from rows it never saw: the held-out
    # monitoring rows (a mixture with older training rows would read as drift forever, and rows it learned
    # from would read as no drift). Without a holdout, the monitoring rows it learned from (older specs).
    hx, hy = np.concatenate(held_x), np.concatenate(held_y)
    if hx.shape[0]:
        reference, reference_hashes = hx, row_hashes(hx, hy)
    elif learned_monitoring:
        reference = np.concatenate(learned_monitoring)
        reference_hashes = trained
    else:
        reference, reference_hashes = x_all, trained
    return TrainingData(primary, x_all, y_all, None if uniform else all_weights, lineage, primary.feature_names,
                        reference, trained, reference_hashes, np.concatenate(roles), hx, hy)


# --- The same run over Tables (typed named columns, raw labels): what the stages switch to. ---

@dataclass(frozen=True)
class TrainingTable:
    """What one run learns from, as Tables: `table` holds every learned row (weights: the dataset's `weight`
    times its weight column; None when every row weighs 1), `held` the held-out monitoring rows."""

    primary: Table
    table: Table
    lineage: list[dict[str, Any]]
    reference: Table  # the drift reference (see load_training_data)
    trained_hashes: np.ndarray
    reference_hashes: np.ndarray
    roles: np.ndarray  # per learned row: True when it came from a monitoring dataset
    held: Table

    @property
    def rows(self) -> int:
        return self.table.rows

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.primary.feature_names

    @property
    def dropped_unlabelled(self) -> int:
        """Rows left out of every dataset read because their label was empty (for the stage report)."""
        return sum(int(entry.get("droppedUnlabelled", 0)) for entry in self.lineage)


def _split_table(spec: DatasetSpec, table: Table, cfg: WorkloadConfig) -> tuple[Table, Table, dict[str, Any]]:
    """(rows to learn from, rows held out, lineage fields) of one dataset; all rows learned without a holdout."""
    if spec.holdout is None:
        return table, table.take(np.arange(0)), {}
    stratify = cfg.task != "regression"
    labels = np.array([label_text(v) for v in table.labels]) if stratify else table.labels
    learn, held = holdout_split(labels, spec.holdout, cfg.hyperparameters.seed, stratify)
    fields = {"heldOutRows": int(held.size), "holdoutSeed": cfg.hyperparameters.seed, "stratified": stratify}
    return table.take(learn), table.take(held), fields


def _weighted(table: Table, spec: DatasetSpec) -> np.ndarray:
    own = np.ones(table.rows) if table.weights is None else table.weights
    return own * spec.weight


def load_training_table(cfg: WorkloadConfig) -> TrainingTable:
    """`load_training_data` over Tables: extra datasets are read with the primary's kinds and column order."""
    primary = load_table(cfg.dataset, cfg.task)
    tables = [(cfg.dataset, primary)] + [
        (extra, align_table(load_table(extra, cfg.task, kinds=primary.kinds), primary.feature_names))
        for extra in cfg.extra_datasets]
    learned, held, weights, lineage, roles = [], [], [], [], []
    for spec, table in tables:
        capped = last_rows(table, spec.max_rows)
        learn, hold, fields = _split_table(spec, capped, cfg)
        learned.append(learn)
        held.append(hold)
        weights.append(_weighted(learn, spec))
        lineage.append({**table_fingerprint(table, spec, rows_used=learn.rows), **fields})
        roles.append(np.full(learn.rows, spec.role == "monitoring"))
    all_weights = np.concatenate(weights)
    uniform = bool(np.all(all_weights == 1.0))  # then None: Keras takes its fast path
    table = concat_tables(learned, [None if uniform else w for w in weights])
    trained = table_row_hashes(table)
    held_table = concat_tables(held)
    role_mask = np.concatenate(roles)
    # The drift reference, as load_training_data explains: held-out monitoring rows, else the monitoring
    # rows learned from, else everything learned.
    if held_table.rows:
        reference, reference_hashes = held_table, table_row_hashes(held_table)
    elif role_mask.any():
        reference, reference_hashes = table.take(np.flatnonzero(role_mask)), trained
    else:
        reference, reference_hashes = table, trained
    return TrainingTable(primary, table, lineage, reference, trained, reference_hashes, role_mask, held_table)
