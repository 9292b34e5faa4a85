"""Tiny real SavedModels for serving tests, built with tf.Module + tf.function signatures.

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
    bases = {name: os.path.join(root, name) for name in ("scaler", "multi_output", "multi_input", "words")}
    for version in (1, 2, 3):
        save_scaler(bases["scaler"], version)
    save(MultiOutput(), os.path.join(bases["multi_output"], "1"))
    save(MultiInput(), os.path.join(bases["multi_input"], "1"))
    save(Words(), os.path.join(bases["words"], "1"))
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
