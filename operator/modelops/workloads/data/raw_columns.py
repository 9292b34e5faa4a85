"""What every reader hands the table builder: a file's columns as lists of cells, and how to name a row."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelops.workloads.data.columns import Cell, Locate
from modelops.workloads.data.table import FeatureKind


@dataclass
class RawColumns:
    """A file's columns in file order; `source_kinds` are the kinds its format states (TFRecord, NPZ)."""

    names: list[str]
    cells: dict[str, list[Cell]]
    rows: int
    locate: Locate
    source_kinds: dict[str, FeatureKind] = field(default_factory=dict)
