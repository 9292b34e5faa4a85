"""Which rows a version saw: row fingerprints, the held-out split of a retrain, and the rows file.

Honest judgement needs one rule: nothing that decides about a version (the champion/challenger
challenge, the evaluation that declares it Recovered, its drift verdicts) scores a row the version was
trained on. A row is known by a 64-bit hash of its feature values and label (float64 bytes; a text cell
that is not a number by a marked UTF-8 run), so the rule holds however the monitoring file changes
(appended, rewritten, reordered) and whatever kind a reader gave a column (integer or numeric, a
categorical "3" or a numeric 3.0: the same row, the same hash). Each version keeps beside its
SavedModel `rows.npz` with two sorted hash arrays:
- `trained`: every row it learned from (training and monitoring data alike);
- `reference`: the rows its drift profile was built from (for a retrain: the held-out monitoring rows).
A degradation retrain splits the labelled monitoring rows it reads (seeded; stratified by label for
classification) into rows it learns from and rows nobody trains on (`holdout` of the dataset spec).
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelops.workloads.data.columns import parse_number
from modelops.workloads.data.table import Table

ROWS_FILE = "rows.npz"
# Before a text cell's bytes: a NaN payload no number cell produces (missing numbers hash as the plain NaN).
_TEXT_MARK = struct.pack("<Q", 0x7FF8_0000_5445_5854)
_MISSING = struct.pack("<d", math.nan)


def row_hashes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One uint64 per row over its features and label as float64, so CSV and NPZ copies of a row agree."""
    table = np.concatenate([np.asarray(x, dtype=np.float64).reshape(len(y), -1),
                            np.asarray(y, dtype=np.float64).reshape(len(y), 1)], axis=1)
    table = np.ascontiguousarray(table + 0.0)  # -0.0 and 0.0 are the same value, give them the same bytes
    return np.fromiter((int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little")
                        for row in table), dtype=np.uint64, count=table.shape[0])


def _as_served(values: np.ndarray) -> np.ndarray:
    """Numbers as the model reads them (float32, back in float64): two cells the model cannot tell apart are
    one row, and the hashes equal those of versions whose reader kept float32 features and labels."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def table_row_hashes(table: Table) -> np.ndarray:
    """`row_hashes` over a Table's features (in its column order) and labels, numbers at float32 precision;
    all-number tables take the vectorised path and give exactly the hashes `row_hashes` gives their float32
    x and y."""
    columns = list(table.columns.values())
    if table.labels.dtype.kind in "fiu" and all(c.dtype.kind == "f" for c in columns):
        x = np.column_stack(columns) if columns else np.zeros((table.rows, 0))
        x = np.where(np.isnan(x), np.nan, _as_served(x))  # one NaN bit pattern for every missing cell
        return row_hashes(x, _as_served(table.labels))
    return np.fromiter((_mixed_row_hash([c[row] for c in columns] + [table.labels[row]])
                        for row in range(table.rows)), dtype=np.uint64, count=table.rows)


def _mixed_row_hash(cells: list[object]) -> int:
    parts = []
    for cell in cells:
        number = None if cell is None else parse_number(cell)  # type: ignore[arg-type]
        if cell is None or (number is not None and math.isnan(number)):
            parts.append(_MISSING)
        elif number is not None and math.isfinite(float(np.float32(number))):
            parts.append(struct.pack("<d", float(np.float32(number)) + 0.0))
        else:
            text = str(cell).encode("utf-8")
            parts.append(_TEXT_MARK + struct.pack("<Q", len(text)) + text)
    return int.from_bytes(hashlib.blake2b(b"".join(parts), digest_size=8).digest(), "little")


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
