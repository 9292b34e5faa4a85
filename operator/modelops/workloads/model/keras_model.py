"""The Keras model built from the spec, its SavedModel export, and loading that export back.

The exported `serving_default` signature is the contract with TF Serving and `modelops serve`:
  input  `features`       float32 [None, n_features]
  output `probabilities`  float32 [None, 1] (binary, sigmoid) or [None, K] (multiclass, softmax)
         `predictions`    float32 [None, 1] (regression, linear)
Normalization is a layer inside the model, so clients send raw feature values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelops.workloads.config.stage import ModelSpec
from modelops.workloads.model.user_module import Body
from modelops.workloads.quality.metrics import OUTPUT_KEY

INPUT_KEY = "features"
SIGNATURE = "serving_default"
PREDICT_BATCH = 8192


def build_model(task: str, spec: ModelSpec, x_train: np.ndarray, num_classes: int | None,
                optimizer: str, learning_rate: float, *, body: Body | None = None,
                feature_names: Sequence[str] | None = None) -> Any:
    """Normalization (adapted on the training data) -> body -> task head; compiled. The body is the built-in
    Dense x N (+ dropout), or `body(prepared)`: a user module's (user_module.user_body) called with the
    prepared inputs, one [batch, 1] tensor per feature name."""
    import keras

    normalization = keras.layers.Normalization(name="normalization")
    normalization.adapt(x_train)
    inputs = keras.Input(shape=(x_train.shape[1],), dtype="float32", name=INPUT_KEY)
    hidden = normalization(inputs)
    if body is not None:  # the one call site of a user's model code
        names = list(feature_names or (f"x{i}" for i in range(x_train.shape[1])))
        hidden = body({name: hidden[:, i:i + 1] for i, name in enumerate(names)})
    for index, units in enumerate(spec.hidden_layers if body is None else ()):
        hidden = keras.layers.Dense(units, activation=spec.activation, name=f"dense_{index}")(hidden)
        if spec.dropout > 0:
            hidden = keras.layers.Dropout(spec.dropout, name=f"dropout_{index}")(hidden)
    if task == "binary-classification":
        outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(hidden)
        loss, metrics = "binary_crossentropy", ["accuracy"]
    elif task == "multiclass-classification":
        assert num_classes is not None
        outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(hidden)
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        outputs = keras.layers.Dense(1, activation="linear", name="head")(hidden)
        loss, metrics = "mse", ["mae"]
    model = keras.Model(inputs, outputs, name="modelops")
    model.compile(optimizer=keras.optimizers.get({"class_name": optimizer,
                                                  "config": {"learning_rate": learning_rate}}),
                  loss=loss, metrics=metrics)
    return model


def export_saved_model(model: Any, directory: Path, task: str, n_features: int) -> None:
    """Write a SavedModel whose serving_default has the documented input and output names."""
    import keras
    import tensorflow as tf

    output_key = OUTPUT_KEY[task]

    def serve(features: tf.Tensor) -> dict[str, tf.Tensor]:
        return {output_key: model(features, training=False)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name=SIGNATURE, fn=serve,
                         input_signature=[tf.TensorSpec([None, n_features], tf.float32, name=INPUT_KEY)])
    archive.write_out(str(directory), verbose=False)


def load_predictor(directory: Path, task: str) -> Callable[[np.ndarray], np.ndarray]:
    """Load a version's SavedModel and return x [n, f] -> output [n, 1 | K] via serving_default."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(directory))
    signature = loaded.signatures[SIGNATURE]
    output_key = OUTPUT_KEY[task]

    def predict(x: np.ndarray) -> np.ndarray:
        parts = [signature(**{INPUT_KEY: tf.constant(x[start:start + PREDICT_BATCH], dtype=tf.float32)})[output_key]
                 .numpy() for start in range(0, max(len(x), 1), PREDICT_BATCH)]
        return np.concatenate(parts, axis=0)

    predict.loaded = loaded  # type: ignore[attr-defined]  # keep the trackable alive with the closure
    return predict
