"""Tiny real SavedModels for serving tests, exported the ways real models are: tf.Module +
tf.function signatures, a Keras model's `export()`, and a TF1 `tf.compat.v1` graph with
predict / classify / regress signatures (estimator style).

`scaler` version v answers features * v, so a test can tell which version served a request.
"""

from __future__ import annotations

import os
import shutil

import tensorflow as tf


class Scaler(tf.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = tf.Variable(factor, dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="features")])
    def serve(self, features):
        return {"scores": features * self.factor}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="features")])
    def total(self, features):
        return {"total": tf.reduce_sum(features, axis=1)}


class MultiOutput(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="features")])
    def serve(self, features):
        return {"doubled": features * 2.0, "sum": tf.reduce_sum(features, axis=1)}


class MultiInput(tf.Module):
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 2], tf.float32, name="a"),
            tf.TensorSpec([None], tf.int64, name="b"),
        ]
    )
    def serve(self, a, b):
        return {"out": tf.reduce_sum(a, axis=1) + tf.cast(b, tf.float32)}


class Words(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        return {"length": tf.strings.length(text), "upper": tf.strings.upper(text)}


class FixedBatch(tf.Module):
    """Declares a fixed batch of 1 ([1, 3]) but its op is element-wise: TF Serving takes any batch."""

    @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32, name="features")])
    def serve(self, features):
        return {"doubled": features * 2.0}


def save_keras(path: str) -> str:
    """Dense(2) over 3 features with fixed weights, exported as Keras 3 does for TF Serving."""
    import keras

    model = keras.Sequential([keras.Input((3,), name="features"), keras.layers.Dense(2, name="dense")])
    model.get_layer("dense").set_weights([tf.ones((3, 2)).numpy(), tf.constant([0.0, 1.0]).numpy()])
    model.export(path, verbose=False)
    return path


def save_tf1_graph(path: str) -> str:
    """A TF1 graph: placeholder `x` declared [?, 2] under an element-wise op (accepts any width), and
    classify / regress signatures reading serialized tf.Examples with a float feature `x` of length 2."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        weight = v1.get_variable("weight", initializer=3.0)
        y = tf.identity(x * weight, name="y")
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        features = tf.io.parse_example(serialized, {"x": tf.io.FixedLenFeature([2], tf.float32)})["x"]
        total = tf.reduce_sum(features, axis=1) * weight
        positive = tf.sigmoid(total)[:, None]
        scores = tf.concat([1.0 - positive, positive], axis=1)
        classes = tf.tile(tf.constant([["neg", "pos"]]), [tf.shape(scores)[0], 1])
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(path)
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={
                "serving_default": v1.saved_model.predict_signature_def({"x": x}, {"y": y}),
                "classify": v1.saved_model.classification_signature_def(serialized, classes, scores),
                "regress": v1.saved_model.regression_signature_def(serialized, total),
            })
            builder.save()
    return path


def save_scaler(base_path: str, version: int) -> str:
    module = Scaler(float(version))
    path = os.path.join(base_path, str(version))
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve, "total": module.total})
    return path


def save(module: tf.Module, path: str) -> str:
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return path


def build_model_root(root: str) -> dict[str, str]:
    """All test models under root; returns name -> base_path."""
    names = ("scaler", "multi_output", "multi_input", "words", "fixed_batch", "keras", "tf1")
    bases = {name: os.path.join(root, name) for name in names}
    for version in (1, 2, 3):
        save_scaler(bases["scaler"], version)
    save(MultiOutput(), os.path.join(bases["multi_output"], "1"))
    save(MultiInput(), os.path.join(bases["multi_input"], "1"))
    save(Words(), os.path.join(bases["words"], "1"))
    save(FixedBatch(), os.path.join(bases["fixed_batch"], "1"))
    save_keras(os.path.join(bases["keras"], "1"))
    save_tf1_graph(os.path.join(bases["tf1"], "1"))
    broken = os.path.join(bases["scaler"], "9")  # a version that exists but cannot load
    os.makedirs(broken)
    with open(os.path.join(broken, "saved_model.pb"), "wb") as handle:
        handle.write(b"this is not a protobuf")
    return bases


def copy_version(source_base: str, version: int, target_base: str, target_version: int) -> None:
    """Publish a version like a trainer does: copy to a temp name, then rename into place."""
    staging = os.path.join(target_base, f".staging-{target_version}")
    shutil.copytree(os.path.join(source_base, str(version)), staging)
    os.rename(staging, os.path.join(target_base, str(target_version)))
