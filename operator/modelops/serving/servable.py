"""One loaded SavedModel version: its signatures, their tensor specs, and TF Serving's metadata.

Loaded as tensorflow_model_server loads it: the MetaGraph tagged `serve` into a graph Session, and
each request is one `Session::Run` feeding the signature's input tensors. So, as in TF Serving,
nothing checks a request against the shapes a signature *declares*; the model's own ops accept or
reject the tensor (a TF1 placeholder declared [?, 3] under an element-wise op takes any shape) and
their error text is what the client sees. A session callable is also ~7x cheaper per call than
calling the eager signature function, which is most of the serving CPU for small models.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import config_pb2, error_codes_pb2, meta_graph_pb2

from modelops.serving.errors import ServingError

DEFAULT_SIGNATURE = "serving_default"
SERVE_TAG = "serve"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"


@dataclass(frozen=True)
class TensorSpec:
    """What a signature declares for one named tensor (None = any size on that axis)."""

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...] | None  # None = unknown rank
    tensor_name: str  # graph tensor, e.g. "serving_default_features:0"
    dtype_enum: int  # types_pb2.DataType, for TensorProto checks and error messages

    @property
    def is_string(self) -> bool:
        return self.dtype == np.object_


class Signature:
    """A callable signature: named numpy arrays in, named numpy arrays out."""

    def __init__(self, name: str, signature_def: meta_graph_pb2.SignatureDef, session: Any) -> None:
        self.name = name
        self.method_name = signature_def.method_name
        self.inputs = {key: _to_spec(key, info) for key, info in sorted(signature_def.inputs.items())}
        self.outputs = {key: _to_spec(key, info) for key, info in sorted(signature_def.outputs.items())}
        self._session = session
        self._callables: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One Session::Run; runs in a worker thread, TF releases the GIL while computing."""
        names = tuple(sorted(inputs))
        run = self._callables.get(names) or self._make_callable(names)
        try:
            values = run(*(inputs[name] for name in names))
        except tf.errors.OpError as exc:  # the model's own verdict, with TF Serving's code and text
            raise ServingError(_code_name(exc.error_code), exc.message) from exc
        return dict(zip(self.outputs, values, strict=True))

    def _make_callable(self, names: tuple[str, ...]) -> Any:
        with self._lock:
            if names not in self._callables:
                options = config_pb2.CallableOptions(
                    feed=[self.inputs[name].tensor_name for name in names],
                    fetch=[spec.tensor_name for spec in self.outputs.values()],
                )
                # the public make_callable() re-checks feeds against declared shapes in Python;
                # the options form goes straight to the runtime, as TF Serving's Session::Run does
                self._callables[names] = self._session._make_callable_from_options(options)
            return self._callables[names]


class LoadedModel:
    """A SavedModel version in memory; holding a reference keeps it usable while being unloaded."""

    def __init__(self, path: str, version: int) -> None:
        self.path = path
        self.version = version
        self.graph = tf.Graph()
        threads = config_pb2.ConfigProto(
            intra_op_parallelism_threads=tf.config.threading.get_intra_op_parallelism_threads(),
            inter_op_parallelism_threads=tf.config.threading.get_inter_op_parallelism_threads(),
        )
        self.session = tf.compat.v1.Session(graph=self.graph, config=threads)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.load(self.session, [SERVE_TAG], path)
        self.signatures = {
            name: Signature(name, signature_def, self.session)
            for name, signature_def in sorted(meta_graph.signature_def.items())
            if not name.startswith("__")  # __saved_model_init_op and friends are not callable APIs
        }
        # metadata lists every SignatureDef, __saved_model_init_op included (get_model_metadata_impl.cc);
        # a model without serving_default loads too (requests name their signature)
        self.signature_defs = dict(sorted(meta_graph.signature_def.items()))
        self.signature_def_json = {
            name: json_format.MessageToDict(
                signature_def, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
            )
            for name, signature_def in self.signature_defs.items()
        }

    def signature(self, name: str) -> Signature:
        wanted = name or DEFAULT_SIGNATURE  # predict_util.cc: an empty name means serving_default
        found = self.signatures.get(wanted)
        if found is None:
            raise ServingError(
                "INVALID_ARGUMENT",
                f"Serving signature name: \"{wanted}\" not found in signature def",
            )
        return found


def configure_threads(intra_op: int, inter_op: int) -> None:
    """Process-wide TF thread pools (TF Serving's --tensorflow_*_parallelism); 0 lets TF decide.
    Sessions created later read the same numbers. On a small shared machine, one intra-op thread
    avoids spinning workers for tiny models."""
    if intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    if inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)


def load_version(path: str, version: int) -> LoadedModel:
    """Load the version directory `path` (TF Serving may name it `00017` for version 17); failures
    carry a code the status API reports. A SavedModel needs no `serving_default`: TF Serving loads
    any `serve` MetaGraph and requests name their signature (e.g. its saved_model_counter testdata,
    whose signatures take no inputs)."""
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


def dtype_name(dtype_enum: int) -> str:
    """TF's DataTypeString (`float`, `double`, `int64`, `string`), as TF Serving's messages print it."""
    try:
        return types_pb2.DataType.Name(dtype_enum).removeprefix("DT_").lower()
    except ValueError:
        return f"dtype {dtype_enum}"


def numpy_dtype_name(dtype: np.dtype) -> str:
    try:
        return dtype_name(tf.dtypes.as_dtype(dtype).as_datatype_enum)
    except TypeError:
        return dtype.name


def _to_spec(key: str, info: meta_graph_pb2.TensorInfo) -> TensorSpec:
    is_string = info.dtype == types_pb2.DT_STRING
    dtype = np.dtype(object) if is_string else np.dtype(tf.dtypes.as_dtype(info.dtype).as_numpy_dtype)
    shape_proto = info.tensor_shape
    shape = None if shape_proto.unknown_rank else tuple(None if d.size < 0 else d.size for d in shape_proto.dim)
    return TensorSpec(key, dtype, shape, info.name, info.dtype)


def _code_name(code: int) -> str:
    try:
        return error_codes_pb2.Code.Name(code)
    except ValueError:
        return "UNKNOWN"
