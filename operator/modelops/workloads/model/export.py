"""A version's SavedModel: its signatures (the contract with TF Serving and `modelops serve`) and loading it back.

`serving_default` (method tensorflow/serving/predict) takes one input per feature under the column's name,
shape [batch]: float32 for numeric kinds (NaN = missing), string for categorical ("" = missing). Outputs:
  classifiers  `probabilities` float32: binary [batch, 1] = P(positive class); multiclass [batch, K]
               `classes`       string  [batch, K]: the class names in output order (the same every row)
  regression   `predictions`   float32 [batch, 1]
`classify` (classifiers; method tensorflow/serving/classify) and `regress` (regression; method
tensorflow/serving/regress) follow TF Serving's Classify / Regress contract
(tensorflow_serving/servables/tensorflow/classifier.cc PreProcessClassification /
PostProcessClassificationResult, regressor.cc PreProcessRegression; keys from TF's
signature_constants.py): input `inputs` = serialized tf.Example [batch]; outputs `classes` string [batch, K]
and `scores` float32 [batch, K] (one score per class, in class order; for binary the two probabilities),
or `outputs` float32 [batch, 1]. A numeric feature is read from the Example's float_list, an integer or
boolean one from its int64_list (booleans 0/1), a categorical one from its bytes_list; an absent feature
is a missing cell (NaN / ""). In REST `examples`, JSON decimals are float_list and JSON integers and
booleans int64_list (TF Serving's rule), so a numeric column is written as a decimal (39.0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from modelops.workloads.data.labels import ClassNames
from modelops.workloads.quality.metrics import OUTPUT_KEY

SIGNATURE = "serving_default"
CLASSIFY_SIGNATURE = "classify"
REGRESS_SIGNATURE = "regress"
CLASSES_KEY = "classes"
SCORES_KEY = "scores"
EXAMPLES_KEY = "inputs"  # signature_constants.CLASSIFY_INPUTS / REGRESS_INPUTS
REGRESS_OUTPUT_KEY = "outputs"  # signature_constants.REGRESS_OUTPUTS
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
PREDICT_BATCH = 8192
# Kinds read from an Example's int64_list (TF's convention for integers; TF Serving's JSON examples turn
# JSON integers and booleans into int64, util/json_tensor.cc AddValueToFeature); numeric uses float_list.
INT64_KINDS = frozenset({"integer", "boolean"})


def export_saved_model(model: Any, directory: Path, task: str, kinds: Mapping[str, str],
                       classes: ClassNames | None) -> None:
    """Write the SavedModel with the signatures of the module docstring."""
    import keras
    import tensorflow as tf

    output_key = OUTPUT_KEY[task]
    names = list(kinds)
    dtypes = {name: tf.string if kinds[name] == "categorical" else tf.float32 for name in names}
    class_names = tf.constant(list(classes.names) if classes is not None else [], dtype=tf.string)

    def class_scores(out: tf.Tensor) -> tf.Tensor:
        if task != "binary-classification":
            return out
        assert classes is not None and classes.positive is not None
        pair = [1.0 - out, out]
        return tf.concat(pair if classes.positive == 1 else pair[::-1], axis=1)

    def class_matrix(out: tf.Tensor) -> tf.Tensor:
        return tf.tile(tf.expand_dims(class_names, 0), [tf.shape(out)[0], 1])

    def serve(features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        out = model(features, training=False)
        if classes is None:
            return {output_key: out}
        return {output_key: out, CLASSES_KEY: class_matrix(out)}

    def parse(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, {name: _example_feature(tf, kinds[name]) for name in names})
        return {name: _integers_as_floats(tf, parsed[name]) if kinds[name] in INT64_KINDS else parsed[name]
                for name in names}

    def classify(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        out = model(parse(serialized), training=False)
        return {CLASSES_KEY: class_matrix(out), SCORES_KEY: class_scores(out)}

    def regress(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        return {REGRESS_OUTPUT_KEY: model(parse(serialized), training=False)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name=SIGNATURE, fn=serve, input_signature=[
        {name: tf.TensorSpec([None], dtypes[name], name=name) for name in names}])
    examples = [tf.TensorSpec([None], tf.string, name=EXAMPLES_KEY)]
    if classes is not None:
        archive.add_endpoint(name=CLASSIFY_SIGNATURE, fn=classify, input_signature=examples)
    else:
        archive.add_endpoint(name=REGRESS_SIGNATURE, fn=regress, input_signature=examples)
    archive.write_out(str(directory), verbose=False)
    _set_method_names(directory, {CLASSIFY_SIGNATURE: CLASSIFY_METHOD, REGRESS_SIGNATURE: REGRESS_METHOD})


def _example_feature(tf: Any, kind: str) -> Any:
    """How a feature of `kind` is read from a tf.Example (an absent feature is a missing cell)."""
    if kind == "categorical":
        return tf.io.FixedLenFeature([], tf.string, default_value="")
    if kind in INT64_KINDS:  # int64 has no NaN: the row's length tells an absent value
        return tf.io.RaggedFeature(tf.int64)
    return tf.io.FixedLenFeature([], tf.float32, default_value=float("nan"))


def _integers_as_floats(tf: Any, ragged: Any) -> Any:
    """[batch, 0..1] int64 -> [batch] float32, NaN where the Example had no value."""
    first = ragged.to_tensor(default_value=0, shape=[None, 1])[:, 0]
    return tf.where(ragged.row_lengths() > 0, tf.cast(first, tf.float32), tf.constant(float("nan")))


def _set_method_names(directory: Path, methods: Mapping[str, str]) -> None:
    """TF2 writes every signature as tensorflow/serving/predict; TF Serving checks the method of a Classify
    or Regress call under --enable_signature_method_name_check (model_servers/main.cc; classifier.cc
    PreProcessClassification), so the task signatures get their own method names in saved_model.pb."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = directory / "saved_model.pb"
    saved = saved_model_pb2.SavedModel.FromString(path.read_bytes())
    for meta_graph in saved.meta_graphs:
        for key, method in methods.items():
            if key in meta_graph.signature_def:
                meta_graph.signature_def[key].method_name = method
    path.write_bytes(saved.SerializeToString())


def load_predictor(directory: Path, task: str) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    """Load a version's SavedModel: features by name ([n] each, `Table.features()`) -> output [n, 1 | K]."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(directory))
    signature = loaded.signatures[SIGNATURE]
    wanted = {name: spec.dtype for name, spec in signature.structured_input_signature[1].items()}
    output_key = OUTPUT_KEY[task]

    def predict(features: Mapping[str, np.ndarray]) -> np.ndarray:
        rows = len(next(iter(features.values()))) if features else 0
        parts = []
        for start in range(0, max(rows, 1), PREDICT_BATCH):
            batch = {name: tf.constant(_as_input(features[name][start:start + PREDICT_BATCH], dtype), dtype=dtype)
                     for name, dtype in wanted.items()}
            parts.append(signature(**batch)[output_key].numpy())
        return np.concatenate(parts, axis=0)

    predict.loaded = loaded  # type: ignore[attr-defined]  # keep the trackable alive with the closure
    return predict


def _as_input(values: np.ndarray, dtype: Any) -> np.ndarray:
    import tensorflow as tf

    if dtype == tf.string:
        return np.array(["" if v is None else str(v) for v in values], dtype=object)
    return np.asarray(values, dtype=np.float32)
