"""The train stage: fit the model and publish version N atomically.

Everything is written into `<deployment dir>/.tmp-<N>-<random>/` and renamed to `<N>/` only when
complete: TF Serving loads any numeric directory it sees, so it must never see a half-written one,
and a killed run leaves only a dot-directory that the next attempt at the same version removes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from modelops.contract.gang import GangError, GangMember, member_from_env
from modelops.contract.result import write_json
from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.data.labels import ClassNames
from modelops.workloads.data.recipes import RECIPES, better, recipe_table
from modelops.workloads.data.row_identity import save_row_sets
from modelops.workloads.data.schema import infer_schema, schema_summary, write_schema
from modelops.workloads.data.training_set import TrainingTable, load_training_table
from modelops.workloads.distributed.multi_worker import remove_backup
from modelops.workloads.drift.by_type import build_table_profile
from modelops.workloads.errors import INVALID_CONFIG, VERSION_EXISTS, WorkloadError
from modelops.workloads.quality.metrics import scored_labels
from modelops.workloads.stages.fit import fit_table, model_body, training_classes
from modelops.workloads.stages.leftovers import remove_leftovers
from modelops.workloads.stages.tune import attach_search, remove_search

PROFILE_FILE = "profile.json"
REPORT_FILE = "report.json"


def version_exists_error(path: Path, version: int) -> WorkloadError:
    return WorkloadError(VERSION_EXISTS, f"version {version} already exists at {path}; versions are never "
                                         "overwritten (train a new version number)")


def remove_stale_temporaries(deployment_dir: Path, version: int) -> list[str]:
    """Remove leftovers of earlier killed attempts at this same version (never other versions')."""
    removed = []
    for stale in deployment_dir.glob(f".tmp-{version}-*"):
        shutil.rmtree(stale, ignore_errors=True)
        removed.append(stale.name)
    return removed


def run_train(cfg: WorkloadConfig) -> dict[str, Any]:
    """Train version `cfg.version`; returns the summary. Raises WorkloadError on expected failures."""
    started = time.monotonic()
    final_dir = cfg.version_dir()
    data = load_training_table(cfg)
    if final_dir.exists():
        adopted = _adopt_published(cfg, final_dir, data)
        if adopted is None:
            raise version_exists_error(final_dir, cfg.version)
        return adopted
    classes = training_classes(cfg, data.table.labels, data.primary.source)
    member = _gang_member(cfg)
    if member is not None and not member.is_chief:
        return {**_train_into(cfg, data, classes, None, member), "member": member.index}

    cfg.deployment_dir.mkdir(parents=True, exist_ok=True)
    removed = remove_stale_temporaries(cfg.deployment_dir, cfg.version) + remove_leftovers(cfg.deployment_dir,
                                                                                           cfg.version)
    tmp_dir = cfg.deployment_dir / f".tmp-{cfg.version}-{secrets.token_hex(4)}"
    tmp_dir.mkdir()
    try:
        if cfg.recipes is not None and cfg.recipes.count > 1 and member is None and data.held.rows:
            report = _train_recipes(cfg, data, classes, tmp_dir)
        else:
            report = _train_into(cfg, data, classes, tmp_dir, member)
        report["durationSeconds"] = round(time.monotonic() - started, 3)
        report["removedStaleTemporaries"] = removed
        if (search := attach_search(cfg, tmp_dir)) is not None:
            report["tuning"] = search
        write_json(tmp_dir / REPORT_FILE, report)
        _publish(tmp_dir, final_dir, cfg.version)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    if member is not None:
        remove_backup(cfg)
    remove_search(cfg)
    summary = {"stage": "train", "version": cfg.version, "metrics": report["metrics"], "epochs": report["epochs"],
               "rows": data.rows, "lineage": {"data": data.lineage}, "durationSeconds": report["durationSeconds"]}
    if data.dropped_unlabelled:  # rows whose label was empty: left out, never guessed
        summary["droppedUnlabelled"] = data.dropped_unlabelled
    if data.schema_check is not None:  # the extra (monitoring) datasets against the primary's features
        summary["schemaCheck"] = data.schema_check
    if "schema" in report:  # features by kind, classes (status.versions[].schema)
        summary["schema"] = report["schema"]
    if "distributed" in report:
        summary["distributed"] = report["distributed"]
    if "recipes" in report:
        summary["recipes"] = report["recipes"]
    return summary


def _train_recipes(cfg: WorkloadConfig, data: TrainingTable, classes: ClassNames | None, tmp_dir: Path
                   ) -> dict[str, Any]:
    """Train each data recipe (`recipes.py`) beside `tmp_dir`, score it on the held-out rows, and leave the
    best one's files in `tmp_dir` (the others are removed); the report says what was tried."""
    from modelops.workloads.model.export import load_predictor
    from modelops.workloads.quality.metrics import compute_metrics

    assert cfg.recipes is not None
    metric, tried = cfg.recipes.metric, []
    # the held-out rows come from the monitoring datasets with a holdout: their label columns name the labels
    held_column = ", ".join(dict.fromkeys(s.label_column for s in cfg.extra_datasets if s.holdout is not None))
    best: tuple[str, float, Path, dict[str, Any]] | None = None
    for name in RECIPES[:cfg.recipes.count]:
        out = tmp_dir.parent / f"{tmp_dir.name}-{name}"  # `.tmp-<N>-*`: a killed run's leftovers are removed
        out.mkdir()
        variant = recipe_table(data, name)
        report = _train_into(cfg, variant, classes, out)
        held = data.held
        outputs = load_predictor(out, cfg.task)(held.features())
        labels = scored_labels(cfg.task, held.labels, classes, source=f"dataset {held.source}", column=held_column)
        value = compute_metrics(cfg.task, labels, outputs).get(metric)
        tried.append({"name": name, "rows": variant.rows, "value": value})
        if value is not None and better(metric, float(value), best[1] if best else None):
            if best is not None:
                shutil.rmtree(best[2], ignore_errors=True)
            best = (name, float(value), out, report)
        else:
            shutil.rmtree(out, ignore_errors=True)
    if best is None:
        raise WorkloadError(INVALID_CONFIG, f"config.recipes.metric: {metric!r} was not measured for task {cfg.task}")
    tmp_dir.rmdir()
    os.rename(best[2], tmp_dir)
    return {**best[3], "recipes": {"metric": metric, "heldOutRows": data.held.rows, "chosen": best[0],
                                   "tried": tried}}


def _gang_member(cfg: WorkloadConfig) -> GangMember | None:
    """This process's place in a multi-worker training (None when one process trains alone)."""
    if cfg.distribution is None or cfg.distribution.workers <= 1:
        return None
    try:
        return member_from_env(os.environ, cfg.distribution.workers)
    except GangError as exc:
        raise WorkloadError(INVALID_CONFIG, f"config.distribution: {exc}") from exc


def _adopt_published(cfg: WorkloadConfig, final_dir: Path, data: TrainingTable) -> dict[str, Any] | None:
    """A run killed after publishing but before reporting (or a Job pod retried) must not fail the version:
    when the published report says the same data and settings made it, that run's summary is this run's."""
    try:
        report = json.loads((final_dir / REPORT_FILE).read_text())
    except (OSError, ValueError):
        return None
    hp, model = report.get("hyperparameters") or {}, report.get("model") or {}
    same = (
        [d.get("sha256") for d in (report.get("lineage") or {}).get("data") or []]
        == [d["sha256"] for d in data.lineage]
        and report.get("task") == cfg.task
        and (hp.get("epochs"), hp.get("batchSize"), hp.get("learningRate"), hp.get("optimizer"), hp.get("seed"))
        == (cfg.hyperparameters.epochs, cfg.hyperparameters.batch_size, cfg.hyperparameters.learning_rate,
            cfg.hyperparameters.optimizer, cfg.hyperparameters.seed)
        and (model.get("hiddenLayers"), model.get("activation"), model.get("dropout"), model.get("user"))
        == ((None, None, None, cfg.model.user.to_json()) if cfg.model.user is not None
            else (list(cfg.model.hidden_layers), cfg.model.activation, cfg.model.dropout, None))
    )
    if not same:
        return None
    return {"stage": "train", "version": cfg.version, "metrics": report["metrics"], "epochs": report["epochs"],
            "rows": (report.get("data") or {}).get("rows"), "durationSeconds": report.get("durationSeconds"),
            "lineage": {"data": data.lineage}, "adopted": True}


def _publish(tmp_dir: Path, final_dir: Path, version: int) -> None:
    """rename(2) is atomic on one filesystem and refuses to replace a non-empty directory."""
    for root, _dirs, files in os.walk(tmp_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
    if final_dir.exists():
        raise version_exists_error(final_dir, version)
    try:
        os.rename(tmp_dir, final_dir)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise version_exists_error(final_dir, version) from exc
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(final_dir.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _train_into(cfg: WorkloadConfig, data: TrainingTable, classes: ClassNames | None, out_dir: Path | None,
                member: GangMember | None = None) -> dict[str, Any]:
    """Fit and (with an `out_dir`) export, then store what later stages check new data against: the schema
    of the learned rows, the drift profile of the reference rows, the fingerprints of both."""
    report = fit_table(cfg, data.table, classes, out_dir, member, body=model_body(cfg, classes))
    if out_dir is None:
        return report
    schema = infer_schema(data.table, cfg.task, cfg.dataset.label_column, classes)
    write_schema(out_dir, schema)
    write_json(out_dir / PROFILE_FILE, build_table_profile(data.reference, cfg.hyperparameters.seed))
    save_row_sets(out_dir, data.trained_hashes, data.reference_hashes)  # which rows no judgement may score
    report["schema"] = schema_summary(schema)
    report["data"] = {**report["data"], "rows": data.rows, "droppedUnlabelled": data.dropped_unlabelled}
    # every dataset read (a retrain adds the monitoring data), with the column names behind `schema`
    report["lineage"] = {"data": [{**entry, "featureNames": list(data.feature_names)} for entry in data.lineage]}
    return report
