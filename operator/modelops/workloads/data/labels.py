"""Class names and their order: the part of a version a classifier's outputs are read against.

The order is stable and documented: the spec's `classes` when it lists them, otherwise the sorted distinct
labels (numerically for integer-coded labels, so 2 sorts before 10). A binary task's positive class is
the spec's `positiveClass`, by default the second in that order, and precision, recall and AUC refer to it.
The classes are fixed at training time and stored with the version: later data is encoded against them,
and a label the version never saw is named, never silently mapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelops.workloads.errors import LABEL_OUT_OF_RANGE, WorkloadError

CLASSIFICATION_TASKS = frozenset({"binary-classification", "multiclass-classification"})
MAX_NAMED = 10


@dataclass(frozen=True)
class ClassNames:
    """The classes of a classifier, in output order; index `positive` is the binary positive class."""

    names: tuple[str, ...]
    positive: int | None = None  # binary tasks only

    def to_json(self) -> dict[str, object]:
        positive = None if self.positive is None else self.names[self.positive]
        return {"classes": list(self.names), "positiveClass": positive}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClassNames:
        names = tuple(str(n) for n in data["classes"])  # type: ignore[union-attr]
        positive = data.get("positiveClass")
        return cls(names, None if positive is None else names.index(str(positive)))


def label_text(value: object) -> str:
    """A label cell as a class name: integer-valued numbers lose their ".0" (1.0 -> "1")."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def infer_classes(labels: np.ndarray, task: str, listed: Sequence[str] | None = None,
                  positive: str | None = None, *, source: str = "", column: str = "label") -> ClassNames:
    """The classes of a training set: `listed` if given (every label must be one of them), else sorted."""
    texts = [label_text(v) for v in labels]
    seen = set(texts)
    if listed:
        names = tuple(str(n) for n in listed)
        _refuse_unknown(texts, names, source, column, "not one of the listed classes")
    elif labels.dtype.kind in "fiu":
        names = tuple(label_text(v) for v in sorted({float(v) for v in labels}))
    else:
        names = tuple(sorted(seen))
    if task == "binary-classification":
        if len(names) != 2:
            raise WorkloadError(LABEL_OUT_OF_RANGE, f"{source}: column {column!r}: binary-classification needs "
                                                    f"exactly 2 classes, found {len(names)}: {_listed(names)}")
        if positive is None:
            return ClassNames(names, 1)
        if positive not in names:
            raise WorkloadError(LABEL_OUT_OF_RANGE, f"positiveClass {positive!r} is not one of the classes "
                                                    f"{_listed(names)} of {source} column {column!r}")
        return ClassNames(names, names.index(positive))
    if len(names) < 2:
        raise WorkloadError(LABEL_OUT_OF_RANGE, f"{source}: column {column!r}: a classifier needs at least 2 "
                                                f"classes, found {_listed(names)}")
    return ClassNames(names)


def infer_num_classes(labels: np.ndarray, source: str, column: str = "label") -> int:
    """K of integer-coded multiclass labels when the spec does not state numClasses: the largest label + 1
    (every index 0..K-1 is a class, even one without a row); at least two classes."""
    count = int(np.max(labels)) + 1 if labels.size else 0
    if count < 2:
        raise WorkloadError(LABEL_OUT_OF_RANGE, f"{source}: column {column!r}: multiclass-classification needs "
                                                f"at least two classes, labels only reach {count - 1}")
    return count


def encode_labels(labels: np.ndarray, classes: ClassNames, *, source: str = "",
                  column: str = "label") -> np.ndarray:
    """Class indices (int32) of the labels against a version's classes; an unseen label is an error."""
    texts = [label_text(v) for v in labels]
    _refuse_unknown(texts, classes.names, source, column, "a class this version was not trained on")
    index = {name: i for i, name in enumerate(classes.names)}
    return np.fromiter((index[t] for t in texts), dtype=np.int32, count=len(texts))


def _refuse_unknown(texts: list[str], names: Sequence[str], source: str, column: str, why: str) -> None:
    known = set(names)
    bad = [(row, text) for row, text in enumerate(texts) if text not in known]
    if bad:
        shown = ", ".join(f"row {row + 1}: {text!r}" for row, text in bad[:MAX_NAMED])
        more = f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        raise WorkloadError(LABEL_OUT_OF_RANGE, f"{source}: column {column!r}: {len(bad)} labels are {why} "
                                                f"{_listed(names)}: {shown}{more}")


def _listed(names: Sequence[str]) -> str:
    return "[" + ", ".join(repr(n) for n in names) + "]"
