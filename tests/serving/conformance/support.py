"""Helpers for the conformance tests: ReloadConfigRequests, waiting for version states, warm-up files."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_management_pb2, predict_pb2, prediction_log_pb2

from modelops.serving.config import ServedModel


def reload_request(models: Sequence[ServedModel]) -> model_management_pb2.ReloadConfigRequest:
    """The request a TF Serving client sends: model_config_list with each model's policy and labels."""
    request = model_management_pb2.ReloadConfigRequest()
    for model in models:
        entry = request.config.model_config_list.config.add(
            name=model.name, base_path=model.base_path, model_platform="tensorflow")
        policy = model.version_policy
        if policy.kind == "specific":
            entry.model_version_policy.specific.versions.extend(model.versions)
        elif policy.kind == "all":
            entry.model_version_policy.all.SetInParent()
        else:
            entry.model_version_policy.latest.num_versions = policy.num_versions
        for label, version in model.labels.items():
            entry.version_labels[label] = version
    return request


def states(server, name: str) -> dict[int, str]:
    try:
        return {s.version: str(s.state) for s in server.registry.status(name)}
    except Exception:
        return {}


async def until_states(server, name: str, wanted: dict[int, str], timeout: float = 60.0) -> None:
    """Wait until the model's status is exactly `wanted` (version -> state)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while states(server, name) != wanted:
        assert loop.time() < deadline, f"{name}: {states(server, name)} != {wanted}"
        await asyncio.sleep(0.05)


def publish(source_dir: str, target_base: str, child: str) -> str:
    """Copy a version directory under a given child name (`00000123`, `7`), atomically by rename."""
    staging = os.path.join(target_base, f".staging-{child}")
    shutil.copytree(source_dir, staging)
    target = os.path.join(target_base, child)
    os.rename(staging, target)
    return target


def predict_log(signature: str, inputs: dict[str, np.ndarray], model: str = "m") -> bytes:
    """One serialised PredictionLog record, as a warm-up file holds it."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = model, signature
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    entry = prediction_log_pb2.PredictionLog()
    entry.predict_log.request.CopyFrom(request)
    return entry.SerializeToString()


def write_warmup(version_dir: str, records: Sequence[bytes]) -> str:
    """assets.extra/tf_serving_warmup_requests as TFRecord (saved_model_warmup_test_util.cc)."""
    path = os.path.join(version_dir, "assets.extra", "tf_serving_warmup_requests")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path
