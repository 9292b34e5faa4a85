"""Reading a published version back: what it was trained on, so new data can be checked against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.data.labels import ClassNames
from modelops.workloads.data.row_identity import RowSets, load_row_sets
from modelops.workloads.errors import INVALID_CONFIG, MODEL_NOT_FOUND, WorkloadError
from modelops.workloads.stages.fit import CLASSES_FILE
from modelops.workloads.stages.train import PROFILE_FILE, REPORT_FILE


@dataclass(frozen=True)
class VersionInfo:
    version: int
    path: Path
    task: str
    num_classes: int | None
    feature_names: tuple[str, ...]
    report: dict[str, Any]
    classes: ClassNames | None = None  # classifiers: the output order and the positive class (classes.json)

    def profile(self) -> dict[str, Any]:
        return _read_json(self.path / PROFILE_FILE, self.version)

    def row_sets(self) -> RowSets:
        """The rows it learned from and its drift reference rows (no judgement may score them)."""
        return load_row_sets(self.path)


def _read_json(path: Path, version: int) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WorkloadError(MODEL_NOT_FOUND, f"version {version}: {path} is missing") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkloadError(MODEL_NOT_FOUND, f"version {version}: {path} is unreadable: {exc}") from exc


def load_version(cfg: WorkloadConfig, version: int) -> VersionInfo:
    """A trained version's metadata; ModelNotFound if it was never published, InvalidConfig if the task differs."""
    path = cfg.version_dir(version)
    if not (path / "saved_model.pb").is_file():
        raise WorkloadError(MODEL_NOT_FOUND, f"version {version} not found: no SavedModel at {path}")
    report = _read_json(path / REPORT_FILE, version)
    task = report.get("task")
    if task != cfg.task:
        raise WorkloadError(INVALID_CONFIG, f"config.task: {cfg.task!r}, but version {version} was trained "
                                            f"for {task!r}")
    label = report.get("label") or {}
    num_classes = label.get("numClasses") if task == "multiclass-classification" else None
    classes = None
    if task != "regression":
        classes = _read_classes(path, version, report, num_classes)
        num_classes = len(classes.names) if task == "multiclass-classification" else None
    return VersionInfo(version, path, task, num_classes, tuple(report.get("featureNames", ())), report, classes)


def _read_classes(path: Path, version: int, report: dict[str, Any], num_classes: int | None) -> ClassNames:
    """classes.json; a version trained before it existed had integer classes 0..K-1 (binary: 0 and 1)."""
    if (path / CLASSES_FILE).is_file():
        return ClassNames.from_json(_read_json(path / CLASSES_FILE, version))
    count = num_classes or 2
    return ClassNames(tuple(str(i) for i in range(count)), 1 if report.get("task") == "binary-classification" else None)
