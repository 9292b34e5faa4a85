"""TensorProto <-> numpy for the gRPC API, and tf.Example lists for Classify / Regress.

TensorFlow's own codec (`tf.make_ndarray`, `tf.make_tensor_proto`) does the work, so every dtype,
`tensor_content` and repeated-field form TF Serving accepts is read the same way here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import input_pb2

from modelops.serving.errors import invalid


def decode_tensors(protos: Mapping[str, tensor_pb2.TensorProto]) -> dict[str, np.ndarray]:
    arrays = {}
    for name, proto in protos.items():
        try:
            array = tf.make_ndarray(proto)
        except (TypeError, ValueError, KeyError) as exc:
            raise invalid(f"input {name!r}: not a valid TensorProto: {exc}") from exc
        arrays[name] = array
    return arrays


def encode_tensors(arrays: Mapping[str, np.ndarray], into: Mapping[str, tensor_pb2.TensorProto]) -> None:
    """Fill a response's `outputs` map (a protobuf map field: CopyFrom into its entries)."""
    for name, array in arrays.items():
        into[name].CopyFrom(tf.make_tensor_proto(array))


def serialized_examples(request_input: input_pb2.Input) -> np.ndarray:
    """The request's tf.Examples as the 1-D string tensor a classify/regress signature reads.
    With `example_list_with_context` the context's features are merged into each example, as TF
    Serving does (serialised messages concatenate into a merge)."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples = [e.SerializeToString() for e in request_input.example_list.examples]
    elif kind == "example_list_with_context":
        context = request_input.example_list_with_context.context.SerializeToString()
        examples = [context + e.SerializeToString() for e in request_input.example_list_with_context.examples]
    else:
        raise invalid("Input is empty")
    if not examples:
        raise invalid("Input is empty")
    return np.array(examples, dtype=object)
