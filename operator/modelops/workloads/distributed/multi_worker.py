"""Training on several workers with TensorFlow's MultiWorkerMirroredStrategy, resumable from a backup.

Keras 3's `Model.fit` does not run under MultiWorkerMirroredStrategy (keras-team/keras#20585: its epoch
iterator hands PerReplica values to ops), so this is TensorFlow's documented custom training loop for
that strategy: `strategy.run` of one step per global batch, gradients all-reduced by TensorFlow's
collectives, nothing exchanged by our code. The batch is global: `batchSize` rows per step over the
whole gang, `batchSize / workers` on each worker (tf.data auto-sharding by DATA over one seeded order
that every worker computes alike), so the model does not depend on the worker count.

Backup and restore: the role tf.keras' `BackupAndRestore` callback plays for `fit` is played here by what
that callback is built on, `tf.train.CheckpointManager`, on the storage volume: after every epoch each
worker saves (the chief into the backup directory, the others into scratch copies they delete, as
TensorFlow's multi-worker checkpointing requires), and the chief then records the loop state. A gang
restarted by the Job controller restores the latest checkpoint and continues with the next epoch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from modelops.contract.files import write_text_atomic
from modelops.contract.gang import GangMember, tf_config
from modelops.workloads.config.stage import WorkloadConfig
from modelops.workloads.errors import GANG_INCOMPLETE, WorkloadError

PEER_WAIT_SECONDS = 300.0
STATE_FILE = "loop-state.json"
BEST_WEIGHTS_FILE = "best-weights.npz"
EVAL_BATCH = 8192


class ModelFactory(Protocol):
    """Builds the compiled model (its preprocessing adapted on the training rows, which it closes over)."""

    def __call__(self) -> Any: ...


Features = dict[str, np.ndarray]  # model inputs by name (Table.features())


def _rows(features: Features, rows: slice) -> Features:
    return {name: values[rows] for name, values in features.items()}


@dataclass(frozen=True)
class FitOutcome:
    model: Any
    history: dict[str, list[float]]
    best_epoch: int  # 0-based index into history
    resumed_from_epoch: int  # epochs restored from the backup (0: a fresh start)
    epochs_trained_now: int  # epochs this attempt ran itself


def backup_dir(cfg: WorkloadConfig) -> Path:
    """A dot-directory beside the versions (TF Serving ignores it), one per version, kept until publish."""
    return cfg.deployment_dir / f".backup-{cfg.version}"


def fit_on_workers(cfg: WorkloadConfig, member: GangMember, build: ModelFactory, x: Features, y: np.ndarray,
                   weights: np.ndarray | None, validation_rows: int, monitor: str, log_dir: Path | None
                   ) -> FitOutcome:
    """Train with every member of the gang; each returns the same weights (they are mirrored)."""
    assert cfg.distribution is not None
    os.environ["TF_CONFIG"] = tf_config(resolve_members(member))
    import keras
    import tensorflow as tf

    implementation = {"auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
                      "ring": tf.distribute.experimental.CommunicationImplementation.RING}
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=tf.distribute.experimental
                                                         .CommunicationOptions(implementation=implementation[
                                                             cfg.distribution.communication]))
    hp = cfg.hyperparameters
    rows = len(y)
    train_rows = rows - validation_rows
    y = y.reshape(-1, 1) if cfg.task != "multiclass-classification" else y
    w = weights if weights is not None else np.ones(rows, dtype="float32")
    train, held = slice(0, train_rows), slice(train_rows, rows)
    with strategy.scope():
        model = build()
        checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    loss_fn = keras.losses.get(model.loss)
    metric_name = "mae" if cfg.task == "regression" else "accuracy"

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = (tf.data.Dataset.from_tensor_slices((_rows(x, train), y[train], w[train].astype("float32")))
               .shuffle(train_rows, seed=hp.seed, reshuffle_each_iteration=True)
               .batch(hp.batch_size).with_options(options))
    batches = strategy.experimental_distribute_dataset(dataset)

    def replica_step(xb: Any, yb: Any, wb: Any) -> Any:
        with tf.GradientTape() as tape:
            per_example = loss_fn(yb, model(xb, training=True)) * wb
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=hp.batch_size)
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def train_step(batch: Any) -> Any:
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_step, args=batch), axis=None)

    backup = backup_dir(cfg)
    state = _restore(backup, checkpoint, model)
    history: dict[str, list[float]] = state["history"]
    resumed_from = len(history.get("loss", []))
    tracker = _EarlyStopping(cfg, monitor, state)
    writers = _summary_writers(log_dir) if member.is_chief and log_dir is not None else None
    epoch = resumed_from
    while epoch < hp.epochs and not tracker.stopped:
        losses = [float(train_step(batch)) for batch in batches]
        logs = {"loss": float(np.mean(losses)) if losses else float("nan")}
        logs[metric_name] = _metric(model, metric_name, _rows(x, train), y[train])
        if validation_rows:
            logs["val_loss"] = _loss(model, loss_fn, _rows(x, held), y[held], w[held])
            logs[f"val_{metric_name}"] = _metric(model, metric_name, _rows(x, held), y[held])
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        tracker.update(epoch, logs, model)
        _save(backup, member, checkpoint, history, tracker)
        if writers is not None:
            _write_summaries(writers, epoch, logs)
        print(f"epoch {epoch + 1}: " + " ".join(f"{k}={v:.5g}" for k, v in logs.items()), file=sys.stderr, flush=True)
        epoch += 1
    if tracker.best_weights is not None:
        model.set_weights(tracker.best_weights)
    return FitOutcome(model, history, tracker.best_epoch if tracker.enabled else len(history["loss"]) - 1,
                      resumed_from, epoch - resumed_from)


def resolve_members(member: GangMember, timeout: float = PEER_WAIT_SECONDS) -> GangMember:
    """The gang with every member's name resolved to an address, waiting for pods not yet scheduled.

    A peer's hostname exists in cluster DNS only once its pod has an IP; resolving here (rather than
    leaving names to TensorFlow's gRPC) turns a peer that never appears into an error naming it instead
    of a silent hang. The addresses stay valid for the run: a restarted peer restarts the whole gang.
    """
    deadline = time.monotonic() + timeout
    resolved = []
    for entry in member.hosts:
        host, _, port = entry.rpartition(":")
        while True:
            try:
                address = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0][4][0]
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise WorkloadError(GANG_INCOMPLETE, f"gang member {entry} did not resolve within "
                                                          f"{timeout:.0f}s: {exc}") from exc
                time.sleep(0.5)
        resolved.append(f"[{address}]:{port}" if ":" in address else f"{address}:{port}")
    return GangMember(member.index, tuple(resolved))


def remove_backup(cfg: WorkloadConfig) -> None:
    """After publishing the backup has done its job; a later attempt at this version adopts the version."""
    shutil.rmtree(backup_dir(cfg), ignore_errors=True)


class _EarlyStopping:
    """EarlyStopping(restore_best_weights=True)'s rule, with its state kept in the backup across restarts."""

    def __init__(self, cfg: WorkloadConfig, monitor: str, state: dict[str, Any]) -> None:
        settings = cfg.hyperparameters.early_stopping
        self.enabled, self.patience, self.min_delta = settings.enabled, settings.patience, settings.min_delta
        self.monitor = monitor
        self.best_value: float | None = state.get("bestValue")
        self.best_epoch: int = state.get("bestEpoch", 0)
        self.wait: int = state.get("wait", 0)
        self.stopped: bool = state.get("stopped", False)
        self.best_weights: list[np.ndarray] | None = state.get("bestWeights")

    def update(self, epoch: int, logs: dict[str, float], model: Any) -> None:
        if not self.enabled:
            return
        value = logs[self.monitor]
        if self.best_value is None or value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch, self.wait = value, epoch, 0
            self.best_weights = model.get_weights()
        else:
            self.wait += 1
            self.stopped = self.wait >= self.patience and epoch > 0

    def state(self) -> dict[str, Any]:
        return {"bestValue": self.best_value, "bestEpoch": self.best_epoch, "wait": self.wait,
                "stopped": self.stopped}


def _save(backup: Path, member: GangMember, checkpoint: Any, history: dict[str, list[float]],
          tracker: _EarlyStopping) -> None:
    """Every worker saves (multi-worker checkpointing needs all of them); only the chief's copy is kept."""
    import tensorflow as tf

    target = backup / "chief" if member.is_chief else backup / f"scratch-worker-{member.index}"
    path = tf.train.CheckpointManager(checkpoint, str(target), max_to_keep=1).save()
    if not member.is_chief:
        shutil.rmtree(target, ignore_errors=True)
        # A worker still saving its last epoch after the chief published (and removed the backup) re-creates
        # the backup directory; leave no empty one behind. A live backup holds the chief's files: not empty.
        with contextlib.suppress(OSError):
            backup.rmdir()
        return
    backup.mkdir(parents=True, exist_ok=True)
    if tracker.best_weights is not None and tracker.best_epoch == len(history["loss"]) - 1:
        np.savez(backup / BEST_WEIGHTS_FILE, *tracker.best_weights)
    # the state names the checkpoint, and is written after it: a state file always points at a whole one
    write_text_atomic(backup / STATE_FILE, json.dumps({"checkpoint": path, "history": history, **tracker.state()}))


def _restore(backup: Path, checkpoint: Any, model: Any) -> dict[str, Any]:
    try:
        state = json.loads((backup / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {"history": {}}
    checkpoint.restore(state["checkpoint"]).assert_existing_objects_matched()
    best = backup / BEST_WEIGHTS_FILE
    if best.exists():
        with np.load(best) as stored:
            state["bestWeights"] = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    print(f"resumed from backup after epoch {len(state['history'].get('loss', []))}", file=sys.stderr, flush=True)
    return state


def _predict(model: Any, x: Features) -> np.ndarray:
    import tensorflow as tf

    rows = len(next(iter(x.values())))
    return np.concatenate([np.asarray(model({k: tf.constant(v) for k, v in _rows(x, slice(i, i + EVAL_BATCH)).items()},
                                            training=False))
                           for i in range(0, max(rows, 1), EVAL_BATCH)], axis=0)


def _loss(model: Any, loss_fn: Any, x: Features, y: np.ndarray, w: np.ndarray) -> float:
    per_example = np.asarray(loss_fn(y, _predict(model, x)))
    return float(np.sum(per_example * w) / max(len(y), 1))


def _metric(model: Any, name: str, x: Features, y: np.ndarray) -> float:
    import keras

    prediction = _predict(model, x)
    if name == "mae":
        metric = keras.metrics.MeanAbsoluteError()
    elif prediction.shape[-1] == 1:
        metric = keras.metrics.BinaryAccuracy()
    else:
        metric = keras.metrics.SparseCategoricalAccuracy()
    metric.update_state(y, prediction)
    return float(metric.result())


def _summary_writers(log_dir: Path) -> dict[str, Any]:
    import tensorflow as tf

    return {split: tf.summary.create_file_writer(str(log_dir / split)) for split in ("train", "validation")}


def _write_summaries(writers: dict[str, Any], epoch: int, logs: dict[str, float]) -> None:
    """The same layout Keras' TensorBoard callback writes (`train/`, `validation/`, epoch_<metric>)."""
    import tensorflow as tf

    for key, value in logs.items():
        split, name = ("validation", key.removeprefix("val_")) if key.startswith("val_") else ("train", key)
        with writers[split].as_default():
            tf.summary.scalar(f"epoch_{name}", value, step=epoch)
        writers[split].flush()
