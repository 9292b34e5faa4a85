"""The train stage: fit the model and publish version N atomically.

Everything is written into `<deployment dir>/.tmp-<N>-<random>/` and renamed to `<N>/` only when
complete: TF Serving loads any numeric directory it sees, so it must never see a half-written one,
and a killed run leaves only a dot-directory that the next attempt at the same version removes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from modelops.contract.gang import GangError, GangMember, member_from_env
from modelops.contract.result import write_json
from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.data.recipes import RECIPES, better, recipe_data
from modelops.workloads.data.row_identity import save_row_sets
from modelops.workloads.data.tables import infer_num_classes
from modelops.workloads.data.training_set import TrainingData, load_training_data
from modelops.workloads.distributed.multi_worker import fit_on_workers, remove_backup
from modelops.workloads.drift.profile import build_profile
from modelops.workloads.errors import INVALID_CONFIG, VERSION_EXISTS, WorkloadError
from modelops.workloads.stages.leftovers import remove_leftovers
from modelops.workloads.stages.tune import attach_search, remove_search

PROFILE_FILE = "profile.json"
REPORT_FILE = "report.json"
LOGS_DIR = "logs"


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


def _monitor(cfg: WorkloadConfig, has_validation: bool) -> tuple[str, str | None]:
    """The early-stopping monitor, falling back from val_X to X (with a note) when there is no split."""
    monitor = cfg.hyperparameters.early_stopping.monitor
    produced = {"loss", "mae" if cfg.task == "regression" else "accuracy"}
    base = monitor.removeprefix("val_")
    if base not in produced:
        allowed = sorted(produced | {f"val_{m}" for m in produced})
        raise WorkloadError(INVALID_CONFIG, f"config.hyperparameters.earlyStopping.monitor: {monitor!r} is not "
                                            f"produced by training (one of {', '.join(allowed)})")
    if monitor.startswith("val_") and not has_validation:
        return base, f"no validation rows (validationSplit); early stopping monitors {base!r} instead of {monitor!r}"
    return monitor, None


def _epoch_log_callback() -> Any:
    """One line per epoch on stderr: stdout is reserved for the result summary."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            shown = " ".join(f"{k}={v:.5g}" for k, v in (logs or {}).items())
            print(f"epoch {epoch + 1}: {shown}", file=sys.stderr, flush=True)

    return EpochLog()


def run_train(cfg: WorkloadConfig) -> dict[str, Any]:
    """Train version `cfg.version`; returns the summary. Raises WorkloadError on expected failures."""
    started = time.monotonic()
    final_dir = cfg.version_dir()
    data = load_training_data(cfg)
    if final_dir.exists():
        adopted = _adopt_published(cfg, final_dir, data)
        if adopted is None:
            raise version_exists_error(final_dir, cfg.version)
        return adopted
    num_classes = None
    if cfg.task == "multiclass-classification":
        num_classes = cfg.model.num_classes or infer_num_classes(data.y, data.primary.source)
    member = _gang_member(cfg)
    if member is not None and not member.is_chief:
        return {**_train_into(cfg, data, num_classes, None, member), "member": member.index}

    cfg.deployment_dir.mkdir(parents=True, exist_ok=True)
    removed = remove_stale_temporaries(cfg.deployment_dir, cfg.version) + remove_leftovers(cfg.deployment_dir,
                                                                                           cfg.version)
    tmp_dir = cfg.deployment_dir / f".tmp-{cfg.version}-{secrets.token_hex(4)}"
    tmp_dir.mkdir()
    try:
        if cfg.recipes is not None and cfg.recipes.count > 1 and member is None and data.held_y.size:
            report = _train_recipes(cfg, data, num_classes, tmp_dir)
        else:
            report = _train_into(cfg, data, num_classes, tmp_dir, member)
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
    if "distributed" in report:
        summary["distributed"] = report["distributed"]
    if "recipes" in report:
        summary["recipes"] = report["recipes"]
    return summary


def _train_recipes(cfg: WorkloadConfig, data: TrainingData, num_classes: int | None, tmp_dir: Path
                   ) -> dict[str, Any]:
    """Train each data recipe (`recipes.py`) beside `tmp_dir`, score it on the held-out rows, and leave the
    best one's files in `tmp_dir` (the others are removed); the report says what was tried."""
    from modelops.workloads.model.keras_model import load_predictor
    from modelops.workloads.quality.metrics import compute_metrics

    assert cfg.recipes is not None
    metric, tried = cfg.recipes.metric, []
    best: tuple[str, float, Path, dict[str, Any]] | None = None
    for name in RECIPES[:cfg.recipes.count]:
        out = tmp_dir.parent / f"{tmp_dir.name}-{name}"  # `.tmp-<N>-*`: a killed run's leftovers are removed
        out.mkdir()
        variant = recipe_data(data, name)
        report = _train_into(cfg, variant, num_classes, out)
        value = compute_metrics(cfg.task, data.held_y, load_predictor(out, cfg.task)(data.held_x)).get(metric)
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
    return {**best[3], "recipes": {"metric": metric, "heldOutRows": int(data.held_y.size), "chosen": best[0],
                                   "tried": tried}}


def _gang_member(cfg: WorkloadConfig) -> GangMember | None:
    """This process's place in a multi-worker training (None when one process trains alone)."""
    if cfg.distribution is None or cfg.distribution.workers <= 1:
        return None
    try:
        return member_from_env(os.environ, cfg.distribution.workers)
    except GangError as exc:
        raise WorkloadError(INVALID_CONFIG, f"config.distribution: {exc}") from exc


def _adopt_published(cfg: WorkloadConfig, final_dir: Path, data: TrainingData) -> dict[str, Any] | None:
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
        and (model.get("hiddenLayers"), model.get("activation"), model.get("dropout"))
        == (list(cfg.model.hidden_layers), cfg.model.activation, cfg.model.dropout)
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


def _train_into(cfg: WorkloadConfig, data: TrainingData, num_classes: int | None, out_dir: Path | None,
                member: GangMember | None = None) -> dict[str, Any]:
    """Fit and (with an `out_dir`) export; `member` trains as one worker of a gang, without `out_dir`
    when it is not the chief."""
    import keras
    import tensorflow as tf

    from modelops.workloads.model.keras_model import INPUT_KEY, build_model, export_saved_model
    from modelops.workloads.quality.metrics import OUTPUT_KEY

    hp = cfg.hyperparameters
    keras.utils.set_random_seed(hp.seed)
    # Keras takes the validation split from the END of the data: shuffle first so a file sorted by
    # label does not validate on one class only.
    order = np.random.default_rng(hp.seed).permutation(data.rows)
    x, y = data.x[order], data.y[order]
    weights = data.weights[order] if data.weights is not None else None
    validation_rows = int(data.rows * hp.validation_split)
    split = hp.validation_split if validation_rows >= 1 else 0.0
    notes = [] if split == hp.validation_split else ["validationSplit leaves no validation rows; none used"]
    train_rows = data.rows - validation_rows if split else data.rows
    monitor, note = _monitor(cfg, split > 0)
    notes += [note] if note else []

    def build(x_train: np.ndarray) -> Any:
        return build_model(cfg.task, cfg.model, x_train, num_classes, hp.optimizer, hp.learning_rate)

    distributed: dict[str, Any] = {}
    if member is None:
        model, history, best_epoch = _fit_one_process(cfg, build(x[:train_rows]), x, y, weights, split, monitor,
                                                      out_dir)
    else:
        outcome = fit_on_workers(cfg, member, build, x, y, weights, data.rows - train_rows, monitor,
                                 out_dir / LOGS_DIR if out_dir is not None else None)
        model, history, best_epoch = outcome.model, outcome.history, outcome.best_epoch
        assert cfg.distribution is not None
        distributed = {"workers": cfg.distribution.workers, "communication": cfg.distribution.communication,
                       "perWorkerBatchSize": hp.batch_size // cfg.distribution.workers,
                       "resumedFromEpoch": outcome.resumed_from_epoch, "epochsThisRun": outcome.epochs_trained_now}
    epochs_run = len(history.get("loss", []))
    final_metrics = {k: float(v[best_epoch]) for k, v in history.items() if len(v) > best_epoch}
    if out_dir is None:  # a worker that is not the chief: the chief publishes and reports
        return {"stage": "train", "version": cfg.version, "epochs": epochs_run, "metrics": final_metrics,
                "distributed": distributed}
    if member is not None:  # export from a plain copy: the trained model's variables are mirrored
        trained, model = model, build(x[:train_rows])
        model.set_weights(trained.get_weights())

    export_saved_model(model, out_dir, cfg.task, x.shape[1])
    write_json(out_dir / PROFILE_FILE, build_profile(data.reference_x, data.feature_names, hp.seed))
    save_row_sets(out_dir, data.trained_hashes, data.reference_hashes)  # which rows no judgement may score
    return {
        "stage": "train", "version": cfg.version, "task": cfg.task,
        "deployment": {"namespace": cfg.deployment.namespace, "name": cfg.deployment.name},
        "createdAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "metrics": final_metrics, "epochs": epochs_run, "bestEpoch": best_epoch + 1,
        "stoppedEarly": epochs_run < hp.epochs,
        "history": {k: [float(v) for v in values] for k, values in history.items()},
        "hyperparameters": {
            "epochs": hp.epochs, "batchSize": hp.batch_size, "learningRate": hp.learning_rate,
            "optimizer": hp.optimizer, "seed": hp.seed, "validationSplit": hp.validation_split,
            "earlyStopping": {"enabled": hp.early_stopping.enabled, "patience": hp.early_stopping.patience,
                              "monitor": monitor, "minDelta": hp.early_stopping.min_delta}},
        "model": {"hiddenLayers": list(cfg.model.hidden_layers), "activation": cfg.model.activation,
                  "dropout": cfg.model.dropout, "numClasses": num_classes, "parameters": model.count_params()},
        "data": {"uri": data.primary.source, "sha256": data.primary.sha256, "rows": data.rows,
                 "trainRows": train_rows, "validationRows": data.rows - train_rows},
        # every dataset read (a retrain adds the monitoring data), with the column names behind `schema`
        "lineage": {"data": [{**entry, "featureNames": list(data.feature_names)} for entry in data.lineage]},
        "featureNames": list(data.feature_names),
        "label": _label_info(cfg, data, num_classes),
        "signature": {"name": "serving_default", "input": INPUT_KEY, "output": OUTPUT_KEY[cfg.task],
                      "features": x.shape[1]},
        "tensorflowVersion": tf.__version__, "kerasVersion": keras.__version__,
        "notes": notes,
        **({"distributed": distributed} if distributed else {}),
    }


def _fit_one_process(cfg: WorkloadConfig, model: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None,
                     split: float, monitor: str, out_dir: Path) -> tuple[Any, dict[str, list[float]], int]:
    """Keras' own fit loop: (model, history, best epoch index)."""
    import keras

    hp = cfg.hyperparameters
    callbacks = [_epoch_log_callback(), keras.callbacks.TensorBoard(log_dir=str(out_dir / LOGS_DIR))]
    stopper = None
    if hp.early_stopping.enabled:
        stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=hp.early_stopping.patience,
                                                min_delta=hp.early_stopping.min_delta, restore_best_weights=True)
        callbacks.append(stopper)
    history = model.fit(x, y, sample_weight=weights, epochs=hp.epochs, batch_size=hp.batch_size,
                        validation_split=split, callbacks=callbacks, verbose=0, shuffle=True)
    # restore_best_weights puts the best epoch's weights back: its metrics describe the exported model
    epochs_run = len(history.history.get("loss", []))
    return model, history.history, stopper.best_epoch if stopper is not None else epochs_run - 1


def _label_info(cfg: WorkloadConfig, data: TrainingData, num_classes: int | None) -> dict[str, Any]:
    info: dict[str, Any] = {"column": cfg.dataset.label_column, "task": cfg.task, "numClasses": num_classes}
    if cfg.task == "regression":
        info.update(mean=float(data.y.mean()), std=float(data.y.std()), min=float(data.y.min()),
                    max=float(data.y.max()))
    else:
        counts = np.bincount(data.y.astype(np.int64), minlength=num_classes or 2)
        info["classCounts"] = {str(i): int(c) for i, c in enumerate(counts)}
        info["numClasses"] = num_classes or 2
    return info
