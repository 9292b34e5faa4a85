"""Which rows a version saw: row fingerprints, the held-out split of a retrain, and the rows file.

Honest judgement needs one rule: nothing that decides about a version (the champion/challenger
challenge, the evaluation that declares it Recovered, its drift verdicts) scores a row the version was
trained on. A row is known by a 64-bit hash of its feature values and label (float64 bytes), so the rule
holds however the monitoring file changes (appended, rewritten, reordered). Each version keeps beside its
SavedModel `rows.npz` with two sorted hash arrays:
- `trained`: every row it learned from (training and monitoring data alike);
- `reference`: the rows its drift profile was built from (for a retrain: the held-out monitoring rows).
A degradation retrain splits the labelled monitoring rows it reads (seeded; stratified by label for
classification) into rows it learns from and rows nobody trains on (`holdout` of the dataset spec).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROWS_FILE = "rows.npz"


def row_hashes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One uint64 per row over its features and label as float64, so CSV and NPZ copies of a row agree."""
    table = np.concatenate([np.asarray(x, dtype=np.float64).reshape(len(y), -1),
                            np.asarray(y, dtype=np.float64).reshape(len(y), 1)], axis=1)
    table = np.ascontiguousarray(table + 0.0)  # -0.0 and 0.0 are the same value, give them the same bytes
    return np.fromiter((int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little")
                        for row in table), dtype=np.uint64, count=table.shape[0])


def holdout_split(y: np.ndarray, fraction: float, seed: int, stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """(learn, held-out) row indices, both sorted: `fraction` of the rows (of each label when
    `stratify`, rounded to nearest, at least one per label with two or more rows) never trained on."""
    rng = np.random.default_rng([seed, 2028])  # own stream: independent of the model's weight seeds
    n = len(y)
    groups = [np.flatnonzero(y == label) for label in np.unique(y)] if stratify else [np.arange(n)]
    held: list[np.ndarray] = []
    for rows in groups:
        take = round(fraction * rows.size)
        if stratify and rows.size >= 2:
            take = min(max(take, 1), rows.size - 1)
        held.append(rng.permutation(rows)[:take])
    held_out = np.sort(np.concatenate(held)) if held else np.array([], dtype=np.int64)
    learn = np.setdiff1d(np.arange(n), held_out)
    return learn, held_out


@dataclass(frozen=True)
class RowSets:
    trained: np.ndarray  # sorted uint64 hashes of rows the version learned from
    reference: np.ndarray  # sorted uint64 hashes of the rows its drift profile describes

    def unseen(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of rows the version did not learn from."""
        return ~np.isin(hashes, self.trained)

    def outside_reference(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of rows that are in neither the training rows nor the drift reference."""
        return self.unseen(hashes) & ~np.isin(hashes, self.reference)


def save_row_sets(directory: Path, trained: np.ndarray, reference: np.ndarray) -> None:
    np.savez_compressed(directory / ROWS_FILE, trained=np.unique(trained), reference=np.unique(reference))


def load_row_sets(directory: Path) -> RowSets:
    """A version's row sets; a version made before they were kept has none (empty sets: every row counts)."""
    path = directory / ROWS_FILE
    if not path.exists():
        empty = np.array([], dtype=np.uint64)
        return RowSets(empty, empty)
    with np.load(path) as stored:
        return RowSets(stored["trained"].astype(np.uint64), stored["reference"].astype(np.uint64))
