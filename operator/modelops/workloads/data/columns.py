"""One column's cells -> a typed array of the Table contract: what kind it is and what each cell means.

Cells come from a reader as `None` (missing), `str` (CSV text, TFRecord bytes_list), `float`
(float_list, NPZ) or `int` (int64_list). The kind rule, applied to a column's non-missing cells when the
dataset does not state it (`columnTypes`):
- every cell is one of true/false/yes/no (any case) -> boolean;
- every cell is a number: whole numbers with at most MAX_INTEGER_LEVELS distinct values -> integer
  (an integer-coded category or a small count, e.g. a year or a 1-5 rating), otherwise numeric;
- anything else -> categorical (text as written, surrounding spaces removed);
- a column with no value at all -> numeric (all missing).
Typed sources keep their type: TFRecord float_list is numeric, int64_list integer, bytes_list categorical;
NPZ arrays are numeric. A stated type is checked on every cell, never coerced: a cell that does not fit
(text in a numeric column, 2.5 in an integer one, "maybe" in a boolean one) is an error naming it.
A stated boolean column also takes 1/0. Numbers must be finite: "inf" is an error, and "nan" is only
missing when missingValues lists it (the default list has "NaN").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from modelops.workloads.data.table import FeatureKind

DEFAULT_MISSING_VALUES: tuple[str, ...] = ("", "NA", "N/A", "NaN", "null")
MAX_INTEGER_LEVELS = 20
TRUE_WORDS = frozenset({"true", "yes"})
FALSE_WORDS = frozenset({"false", "no"})
STATED_TRUE = TRUE_WORDS | {"1", "1.0"}  # a stated boolean column also takes 1/0
STATED_FALSE = FALSE_WORDS | {"0", "0.0"}
# Python's float() also takes "1_000" and surrounding text variants; a data file's number is plainer.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?|nan)", re.IGNORECASE)

Cell = str | float | int | None
Locate = Callable[[int], str]  # a row index -> "line 14" (CSV) or "example 14" / "row 14"


def parse_number(cell: Cell) -> float | None:
    """The cell as a number, or None when it is not one (booleans are not numbers here)."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell)
    if isinstance(cell, str) and _NUMBER.fullmatch(cell):
        return float(cell)
    return None


def column_numbers(cells: Sequence[Cell]) -> np.ndarray | None:
    """Every cell as a float64 (NaN where missing), or None when a non-missing cell is not a number.
    Vectorised (numpy parses the text as Python's float() does) unless a cell has a "_" or non-ASCII digits,
    which float() takes and a data file does not mean as a number."""
    if any(isinstance(c, str) and ("_" in c or not c.isascii()) for c in cells):
        numbers = [None if c is None else parse_number(c) for c in cells]
        if any(n is None for n, c in zip(numbers, cells, strict=True) if c is not None):
            return None
        return np.array([math.nan if n is None else n for n in numbers], dtype=np.float64)
    try:
        return np.array([math.nan if c is None else c for c in cells], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def infer_kind(cells: Sequence[Cell]) -> FeatureKind:
    """The documented kind rule over a column's cells (None = missing)."""
    distinct = {c for c in cells if c is not None}
    if not distinct:
        return "numeric"
    if all(isinstance(c, str) and c.lower() in TRUE_WORDS | FALSE_WORDS for c in distinct):
        return "boolean"
    numbers = column_numbers(list(distinct))
    if numbers is None:
        return "categorical"
    whole = bool(np.all(np.isfinite(numbers) & (numbers == np.round(numbers))))
    return "integer" if whole and np.unique(numbers).size <= MAX_INTEGER_LEVELS else "numeric"


def numbers_share(cells: Sequence[Cell]) -> float:
    """Share of the non-missing cells that are numbers (a note when a mostly-numeric column reads as text)."""
    present = [c for c in cells if c is not None]
    return sum(parse_number(c) is not None for c in present) / len(present) if present else 0.0


def convert(name: str, cells: Sequence[Cell], kind: FeatureKind, locate: Locate
            ) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The column as the Table contract stores it, and (row, message) for every cell that does not fit `kind`."""
    if kind == "categorical":
        return np.array([None if c is None else text_of(c) for c in cells], dtype=object), []
    numbers = column_numbers(cells) if kind != "boolean" else None
    if numbers is not None:  # the common case, vectorised: only the odd cells are looked at one by one
        present = np.array([c is not None for c in cells], dtype=bool)
        fits = np.isfinite(numbers) & ((numbers == np.round(numbers)) if kind == "integer" else True)
        odd = np.flatnonzero(present & ~fits)
        problems = [(int(row), f"{locate(int(row))} column {name!r}: "
                               f"{_misfit(cells[row], parse_number(cells[row]), kind)}") for row in odd]
        return np.where(present & fits, numbers, np.nan), problems
    out = np.full(len(cells), np.nan, dtype=np.float64)
    problems = []
    for row, cell in enumerate(cells):
        if cell is None:
            continue
        value = _boolean(cell) if kind == "boolean" else parse_number(cell)
        why = _misfit(cell, value, kind)
        if why:
            problems.append((row, f"{locate(row)} column {name!r}: {why}"))
        else:
            out[row] = value
    return out, problems


def _misfit(cell: Cell, value: float | None, kind: FeatureKind) -> str:
    """Why `cell` is not a `kind` value ("" when it is one)."""
    if value is None:
        expected = {"boolean": "a boolean (true/false, yes/no, 1/0)", "integer": "a whole number"}.get(kind, "a number")
        return f"{cell!r} is not {expected}"
    if not math.isfinite(value):
        return f"{cell!r} is not a finite number"
    if kind == "integer" and not value.is_integer():
        return f"{cell!r} is not a whole number"
    return ""


def _boolean(cell: Cell) -> float | None:
    text = text_of(cell).lower()
    if text in STATED_TRUE:
        return 1.0
    if text in STATED_FALSE:
        return 0.0
    return None


def text_of(cell: Cell) -> str:
    """A cell as category text: numbers without a spurious ".0" (a float 3.0 is the category "3")."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)
