"""Fit the model of one version on a Table and export it: the part of the train stage that is about the model.

`fit_table` takes the learned rows as a Table (features of known kinds, raw labels) with the version's
ClassNames, builds the model (`model/keras_model.py`: preprocessing adapted on the training rows -> body ->
head), fits it in one process or on a gang of workers, and exports the SavedModel with its signatures
(`model/export.py`) and `classes.json`. The body is the built-in dense stack unless `body` is given
(the seam for spec.training.model).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np

from modelops.contract.gang import GangMember
from modelops.contract.result import write_json
from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.data.labels import ClassNames, encode_labels, infer_classes, infer_num_classes
from modelops.workloads.data.table import Table
from modelops.workloads.errors import INVALID_CONFIG, WorkloadError
from modelops.workloads.model.keras_model import Body

CLASSES_FILE = "classes.json"
LOGS_DIR = "logs"


def training_classes(cfg: WorkloadConfig, labels: np.ndarray, source: str) -> ClassNames | None:
    """The version's classes (None for regression). Integer-coded labels keep every index 0..K-1 as a class
    (K = model.numClasses, else the largest label + 1; binary: 0 and 1) even when a class has no row."""
    if cfg.task == "regression":
        return None
    listed = None
    if labels.dtype.kind in "fiu":
        if cfg.task == "binary-classification":
            listed = ["0", "1"]
        else:
            count = cfg.model.num_classes or infer_num_classes(labels, source, cfg.dataset.label_column)
            listed = [str(i) for i in range(count)]
    return infer_classes(labels, cfg.task, listed, source=source, column=cfg.dataset.label_column)


def training_targets(cfg: WorkloadConfig, labels: np.ndarray, classes: ClassNames | None, source: str) -> np.ndarray:
    """What the head is fitted to: binary 1.0 for the positive class, multiclass the class index, regression
    the value."""
    from modelops.workloads.model.keras_model import training_targets as targets

    if classes is None:
        return np.asarray(labels, dtype=np.float32)
    encoded = encode_labels(labels, classes, source=source, column=cfg.dataset.label_column)
    return targets(cfg.task, encoded, classes)


def monitor_for(cfg: WorkloadConfig, has_validation: bool) -> tuple[str, str | None]:
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


def epoch_log_callback() -> Any:
    """One line per epoch on stderr: stdout is reserved for the result summary."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            shown = " ".join(f"{k}={v:.5g}" for k, v in (logs or {}).items())
            print(f"epoch {epoch + 1}: {shown}", file=sys.stderr, flush=True)

    return EpochLog()


def model_body(cfg: WorkloadConfig, classes: ClassNames | None) -> Body | None:
    """The body the spec asks for: a user module's (spec.training.model.module | path), else None = the
    built-in dense stack."""
    from modelops.workloads.model.user_module import user_body

    return user_body(cfg.model.user, cfg.storage_root, cfg.task, None if classes is None else len(classes.names))


def fit_table(cfg: WorkloadConfig, table: Table, classes: ClassNames | None, out_dir: Path | None,
              member: GangMember | None = None, body: Body | None = None) -> dict[str, Any]:
    """Fit on `table` and (with an `out_dir`) export; `member` trains as one worker of a gang, without
    `out_dir` when it is not the chief. Returns the report's model part."""
    import keras
    import tensorflow as tf

    from modelops.workloads.distributed.multi_worker import fit_on_workers
    from modelops.workloads.model.export import SIGNATURE, export_saved_model
    from modelops.workloads.model.keras_model import build_model
    from modelops.workloads.quality.metrics import OUTPUT_KEY

    hp = cfg.hyperparameters
    keras.utils.set_random_seed(hp.seed)
    # Keras takes the validation split from the END of the data: shuffle first so a file sorted by
    # label does not validate on one class only.
    order = np.random.default_rng(hp.seed).permutation(table.rows)
    table = table.take(order)
    features, y = table.features(), training_targets(cfg, table.labels, classes, table.source)
    weights = table.weights.astype(np.float32) if table.weights is not None else None
    validation_rows = int(table.rows * hp.validation_split)
    split = hp.validation_split if validation_rows >= 1 else 0.0
    notes = [] if split == hp.validation_split else ["validationSplit leaves no validation rows; none used"]
    train_rows = table.rows - validation_rows if split else table.rows
    monitor, note = monitor_for(cfg, split > 0)
    notes += [note] if note else []
    learned = table.take(np.arange(train_rows))  # the preprocessing is adapted on these rows only

    def build() -> Any:
        return build_model(learned, cfg.task, classes, spec=cfg.model, optimizer=hp.optimizer,
                           learning_rate=hp.learning_rate, body=body)

    distributed: dict[str, Any] = {}
    if member is None:
        model, history, best_epoch = _fit_one_process(cfg, build(), features, y, weights, split, monitor, out_dir)
    else:
        outcome = fit_on_workers(cfg, member, build, features, y, weights, table.rows - train_rows, monitor,
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
        trained, model = model, build()
        model.set_weights(trained.get_weights())

    export_saved_model(model, out_dir, cfg.task, table.kinds, classes)
    if classes is not None:
        write_json(out_dir / CLASSES_FILE, classes.to_json())
    outputs = [OUTPUT_KEY[cfg.task]] + (["classes"] if classes is not None else [])
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
        "model": {**({"hiddenLayers": list(cfg.model.hidden_layers), "activation": cfg.model.activation,
                      "dropout": cfg.model.dropout} if cfg.model.user is None else {"user": cfg.model.user.to_json()}),
                  "numClasses": None if classes is None else len(classes.names),
                  "parameters": model.count_params(), "body": "built-in" if body is None else "user"},
        "data": {"uri": table.source, "sha256": table.sha256, "rows": table.rows,
                 "trainRows": train_rows, "validationRows": table.rows - train_rows},
        "featureNames": list(table.feature_names),
        "featureKinds": dict(table.kinds),
        "label": label_info(cfg, table, classes),
        "signature": {"name": SIGNATURE, "inputs": list(table.feature_names), "outputs": outputs,
                      "task": "classify" if classes is not None else "regress", "features": len(table.kinds)},
        "tensorflowVersion": tf.__version__, "kerasVersion": keras.__version__,
        "notes": notes,
        **({"distributed": distributed} if distributed else {}),
    }


def _fit_one_process(cfg: WorkloadConfig, model: Any, features: dict[str, np.ndarray], y: np.ndarray,
                     weights: np.ndarray | None, split: float, monitor: str, out_dir: Path | None
                     ) -> tuple[Any, dict[str, list[float]], int]:
    """Keras' own fit loop: (model, history, best epoch index)."""
    import keras

    hp = cfg.hyperparameters
    callbacks = [epoch_log_callback()]
    if out_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out_dir / LOGS_DIR)))
    stopper = None
    if hp.early_stopping.enabled:
        stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=hp.early_stopping.patience,
                                                min_delta=hp.early_stopping.min_delta, restore_best_weights=True)
        callbacks.append(stopper)
    history = model.fit(features, y, sample_weight=weights, epochs=hp.epochs, batch_size=hp.batch_size,
                        validation_split=split, callbacks=callbacks, verbose=0, shuffle=True)
    # restore_best_weights puts the best epoch's weights back: its metrics describe the exported model
    epochs_run = len(history.history.get("loss", []))
    return model, history.history, stopper.best_epoch if stopper is not None else epochs_run - 1


def label_info(cfg: WorkloadConfig, table: Table, classes: ClassNames | None) -> dict[str, Any]:
    info: dict[str, Any] = {"column": cfg.dataset.label_column, "task": cfg.task, "numClasses": None,
                            "droppedUnlabelledRows": table.dropped_unlabelled}
    if classes is None:
        y = np.asarray(table.labels, dtype=np.float64)
        info.update(mean=float(y.mean()), std=float(y.std()), min=float(y.min()), max=float(y.max()))
    else:
        counts = np.bincount(encode_labels(table.labels, classes), minlength=len(classes.names))
        info["classCounts"] = {name: int(c) for name, c in zip(classes.names, counts, strict=True)}
        info["numClasses"] = len(classes.names)
        info.update(classes.to_json())
    return info
