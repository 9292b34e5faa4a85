"""Quality metrics from labels and model outputs, computed with keras.metrics.

Binary metrics (precision, recall, F1, AUC) are those of the positive class: the labels are read as
"is the positive class" (`scored_labels`) and the model's binary output is P(positive class).
One function serves validate (outputs of the SavedModel in-process) and evaluate (outputs returned by
TF Serving), so a candidate's gate numbers and its production numbers are the same computation.
Names and directions follow modelops.api.metrics.METRICS_BY_TASK.
"""

from __future__ import annotations

import numpy as np

from modelops.api.metrics import METRICS_BY_TASK
from modelops.workloads.data.labels import ClassNames, encode_labels

AUC_MAX_THRESHOLDS = 5000
AUC_CHUNK_ROWS = 1024

# Name of the serving_default output that carries each task's prediction.
OUTPUT_KEY = {
    "binary-classification": "probabilities",
    "multiclass-classification": "probabilities",
    "regression": "predictions",
}


def scored_labels(task: str, labels: np.ndarray, classes: ClassNames | None, *, source: str = "",
                  column: str = "label") -> np.ndarray:
    """Labels as `compute_metrics` reads them against a version's classes: binary 1.0 for the positive class
    (so precision, recall and AUC are the positive class's, as the model's P(positive) output is), multiclass
    the class index in output order, regression the value. An unseen label is named (labels.encode_labels)."""
    if classes is None:
        return np.asarray(labels, dtype=np.float32)
    encoded = encode_labels(labels, classes, source=source, column=column)
    if task == "binary-classification":
        return (encoded == classes.positive).astype(np.float32)
    return encoded


def compute_metrics(task: str, y_true: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """Metrics for `task` from labels [n] and the model's output [n, 1] (or [n, K] for multiclass)."""
    import keras  # deferred: importing TensorFlow costs seconds that data checks should not pay

    outputs = np.asarray(outputs, dtype=np.float32)
    if outputs.ndim == 1:
        outputs = outputs.reshape(-1, 1)
    if outputs.shape[0] != len(y_true):
        raise ValueError(f"{outputs.shape[0]} predictions for {len(y_true)} labels")
    if task == "binary-classification":
        result = _binary(keras, np.asarray(y_true, dtype=np.float32).reshape(-1, 1), outputs)
    elif task == "multiclass-classification":
        result = _multiclass(keras, np.asarray(y_true, dtype=np.int64), outputs)
    else:
        result = _regression(keras, np.asarray(y_true, dtype=np.float32).reshape(-1, 1), outputs)
    return {name: result[name] for name in METRICS_BY_TASK[task]}


def _value(metric) -> float:
    return float(np.asarray(metric.result()))


def _binary(keras, y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    accuracy, precision, recall = keras.metrics.BinaryAccuracy(), keras.metrics.Precision(), keras.metrics.Recall()
    loss = keras.metrics.BinaryCrossentropy()
    for metric in (accuracy, precision, recall, loss):
        metric.update_state(y, p)
    prec, rec = _value(precision), _value(recall)
    return {"accuracy": _value(accuracy), "precision": prec, "recall": rec,
            "f1": 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0,
            "auc": _auc(keras, y, p), "loss": _value(loss)}


def _auc(keras, y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC with a threshold at every distinct score: the trapezoid is then exact (ties count half)."""
    unique = np.unique(p)
    if unique.size > AUC_MAX_THRESHOLDS:
        unique = np.unique(np.quantile(unique, np.linspace(0.0, 1.0, AUC_MAX_THRESHOLDS)))
    auc = keras.metrics.AUC(thresholds=np.clip(unique, 0.0, 1.0).tolist())
    for start in range(0, len(y), AUC_CHUNK_ROWS):
        auc.update_state(y[start:start + AUC_CHUNK_ROWS], p[start:start + AUC_CHUNK_ROWS])
    return _value(auc)


def _multiclass(keras, y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    k = p.shape[1]
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must be in 0..{k - 1} for a {k}-class model")
    onehot_true = np.eye(k, dtype=np.float32)[y]
    onehot_pred = np.eye(k, dtype=np.float32)[np.argmax(p, axis=1)]
    accuracy, loss = keras.metrics.SparseCategoricalAccuracy(), keras.metrics.SparseCategoricalCrossentropy()
    f1 = keras.metrics.F1Score(average="macro")
    accuracy.update_state(y, p)
    loss.update_state(y, p)
    f1.update_state(onehot_true, p)
    precisions, recalls = [], []
    for class_id in range(k):
        precision = keras.metrics.Precision(class_id=class_id)
        recall = keras.metrics.Recall(class_id=class_id)
        precision.update_state(onehot_true, onehot_pred)
        recall.update_state(onehot_true, onehot_pred)
        precisions.append(_value(precision))
        recalls.append(_value(recall))
    return {"accuracy": _value(accuracy), "precision": float(np.mean(precisions)),
            "recall": float(np.mean(recalls)), "f1": _value(f1), "loss": _value(loss)}


def _regression(keras, y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    mse, rmse, mae = (keras.metrics.MeanSquaredError(), keras.metrics.RootMeanSquaredError(),
                      keras.metrics.MeanAbsoluteError())
    for metric in (mse, rmse, mae):
        metric.update_state(y, p)
    return {"mse": _value(mse), "rmse": _value(rmse), "mae": _value(mae), "loss": _value(mse)}
