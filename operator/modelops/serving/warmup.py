"""Model warm-up as TF Serving does it (servables/tensorflow/saved_model_warmup_util.cc,
saved_model_warmup.cc): with --enable_model_warmup (default true), a version's
`assets.extra/tf_serving_warmup_requests` — a TFRecord of PredictionLog — is replayed against the
loaded model before the version becomes AVAILABLE; each record `--num_request_iterations_for_warmup`
times (default 1). No file: nothing to do. A record that does not parse, a request that fails, more
than 1000 records or a file that is not TFRecord fails the load (so the version ends END with the
error), as RunSavedModelWarmup's status fails the loader.
"""

from __future__ import annotations

import logging
import os

import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow_serving.apis import prediction_log_pb2

from modelops.serving.errors import ServingError
from modelops.serving.grpc_codec import decode_tensors, serialized_examples
from modelops.serving.servable import LoadedModel

log = logging.getLogger(__name__)

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_RECORDS = 1000  # WarmupConsts::kMaxNumRecords


def run_warmup(model: LoadedModel, iterations: int = 1) -> int:
    """Replay the version's warm-up requests; returns how many records were read."""
    path = os.path.join(model.path, WARMUP_FILE)
    if not os.path.exists(path):
        log.info("No warmup data file found at %s", path)
        return 0
    count = 0
    try:
        for record in tf.compat.v1.io.tf_record_iterator(path):
            entry = prediction_log_pb2.PredictionLog()
            try:
                entry.ParseFromString(record)
            except DecodeError as exc:
                raise ServingError("INVALID_ARGUMENT", f"Failed to parse warmup record: from {path}") from exc
            for _ in range(max(iterations, 1)):
                _replay(model, entry)
            count += 1
            if count > MAX_RECORDS:
                raise ServingError("INVALID_ARGUMENT",
                                   f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}")
    except tf.errors.DataLossError as exc:
        raise ServingError("DATA_LOSS",
                           f"{exc.message}. Please verify your warmup data is in TFRecord format.") from exc
    log.info("Finished reading warmup data for model at %s. Number of warmup records read: %d.", path, count)
    return count


def _replay(model: LoadedModel, entry: prediction_log_pb2.PredictionLog) -> None:
    """saved_model_warmup.cc RunWarmupRequest: predict, classify and regress logs run their
    signature; other kinds of log are UNIMPLEMENTED here (multi_inference is ours to add)."""
    kind = entry.WhichOneof("log_type")
    if kind == "predict_log":
        request = entry.predict_log.request
        signature = model.signature(request.model_spec.signature_name)
        signature.run(decode_tensors(request.inputs))
    elif kind in ("classify_log", "regress_log"):
        request = getattr(entry, kind).request
        signature = model.signature(request.model_spec.signature_name)
        (input_name,) = signature.inputs
        signature.run({input_name: serialized_examples(request.input)})
    elif kind is not None:
        raise ServingError("UNIMPLEMENTED", f"Unsupported log_type for warmup: {kind}")
