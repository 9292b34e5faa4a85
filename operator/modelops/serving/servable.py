"""One loaded SavedModel version: its signatures, their tensor specs, and TF Serving's metadata.

Signatures are read from the SavedModel generically (structured inputs / outputs), so any model
with a `serving_default` signature serves, whatever its input names and output dict look like.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import saved_model_pb2

from modelops.serving.errors import ServingError

DEFAULT_SIGNATURE = "serving_default"


@dataclass(frozen=True)
class TensorSpec:
    """What a signature expects or returns for one named tensor (None = any size on that axis)."""

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...] | None  # None = unknown rank

    @property
    def is_string(self) -> bool:
        return self.dtype == np.object_


class Signature:
    """A callable signature: named numpy arrays in, named numpy arrays out."""

    def __init__(self, name: str, function: Any) -> None:
        self.name = name
        self._function = function
        _, keyword_specs = function.structured_input_signature
        self.inputs = {key: _to_spec(key, spec) for key, spec in sorted(keyword_specs.items())}
        outputs = function.structured_outputs
        if not isinstance(outputs, dict):
            raise ServingError("INVALID_ARGUMENT", f"signature {name!r} does not return a dict of outputs")
        self.outputs = {key: _to_spec(key, spec) for key, spec in sorted(outputs.items())}

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Call the signature once; runs in a worker thread, TF releases the GIL while computing."""
        tensors = {key: tf.convert_to_tensor(value) for key, value in inputs.items()}
        results = self._function(**tensors)
        return {key: value.numpy() for key, value in results.items()}


class LoadedModel:
    """A SavedModel version in memory; holding a reference keeps it usable while being unloaded."""

    def __init__(self, path: str, version: int) -> None:
        self.path = path
        self.version = version
        self._saved_model = tf.saved_model.load(path)
        self.signatures = {
            name: Signature(name, function)
            for name, function in self._saved_model.signatures.items()
        }
        if DEFAULT_SIGNATURE not in self.signatures:
            raise ServingError(
                "INVALID_ARGUMENT",
                f"SavedModel at {path} has no {DEFAULT_SIGNATURE!r} signature "
                f"(found: {sorted(self.signatures) or 'none'})",
            )
        self.signature_def_json = _read_signature_defs(path)

    def signature(self, name: str) -> Signature:
        found = self.signatures.get(name or DEFAULT_SIGNATURE)
        if found is None:
            raise ServingError(
                "INVALID_ARGUMENT",
                f"Serving signature name: {name!r} not found in signature def "
                f"(available: {sorted(self.signatures)})",
            )
        return found


def configure_threads(intra_op: int, inter_op: int) -> None:
    """Process-wide TF thread pools (TF Serving's --tensorflow_*_parallelism); 0 lets TF decide.
    On a small shared machine, one intra-op thread avoids spinning workers for tiny models."""
    if intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    if inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)


def load_version(base_path: str, version: int) -> LoadedModel:
    """Load `<base_path>/<version>/`; failures carry a code the status API reports."""
    path = os.path.join(base_path, str(version))
    if not os.path.isdir(path):
        raise ServingError("NOT_FOUND", f"version directory {path} does not exist")
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise ServingError("NOT_FOUND", f"{path} is not a SavedModel (no saved_model.pb)")
    try:
        return LoadedModel(path, version)
    except ServingError:
        raise
    except Exception as exc:  # a corrupt model must report END, never take the server down
        raise ServingError("UNKNOWN", f"failed to load SavedModel at {path}: {exc}") from exc


def list_versions(base_path: str) -> list[int]:
    """Numbered version directories under base_path, ascending (TF Serving's file-system source)."""
    try:
        names = os.listdir(base_path)
    except OSError:
        return []
    return sorted(
        int(name)
        for name in names
        if name.isdigit() and int(name) > 0 and os.path.isdir(os.path.join(base_path, name))
    )


def _to_spec(key: str, spec: Any) -> TensorSpec:
    dtype = np.dtype(object) if spec.dtype == tf.string else np.dtype(spec.dtype.as_numpy_dtype)
    shape = None if spec.shape.rank is None else tuple(spec.shape.as_list())
    return TensorSpec(key, dtype, shape)


def _read_signature_defs(path: str) -> dict[str, Any]:
    """The SignatureDefMap as TF Serving prints it (proto JSON, field names kept, defaults shown)."""
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        saved_model = saved_model_pb2.SavedModel.FromString(handle.read())
    meta_graph = saved_model.meta_graphs[0]
    return {
        name: json_format.MessageToDict(
            signature_def,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
        for name, signature_def in sorted(meta_graph.signature_def.items())
        if not name.startswith("__")
    }
