"""Classify and Regress on tf.Examples: which tensors a signature offers, and the results' shape
checks, as TF Serving's servables/tensorflow/classifier.cc and regressor.cc do them.

Protocol-neutral: gRPC (Classify, Regress, MultiInference) and REST (`:classify`, `:regress`) both
plan a task here, run it through `Inference`, and turn the arrays into their own wire format.
The signature's `method_name` is compared only under `--enable_signature_method_name_check`
(default false, model_servers/main.cc): without it a classify request may run a predict
signature, which is how TF Serving serves the TF2 exports whose signatures all say `predict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2

from modelops.serving.errors import ServingError, invalid
from modelops.serving.servable import CLASSIFY_METHOD, REGRESS_METHOD, Signature, numpy_dtype_name

# tensorflow/python/saved_model/signature_constants.py
CLASSIFY_INPUTS = "inputs"
CLASSIFY_OUTPUT_CLASSES = "classes"
CLASSIFY_OUTPUT_SCORES = "scores"
REGRESS_INPUTS = "inputs"
REGRESS_OUTPUTS = "outputs"

Classifications = list[list[tuple[str | None, float | None]]]  # per example: (label, score) per class


@dataclass(frozen=True)
class TaskPlan:
    """What one classify / regress task feeds (the serialized examples) and fetches."""

    method: str
    input_alias: str
    output_aliases: tuple[str, ...]


def plan_task(method: str, signature: Signature, signature_def: meta_graph_pb2.SignatureDef,
              check_method_name: bool) -> TaskPlan:
    if method == CLASSIFY_METHOD:
        return plan_classification(signature, signature_def, check_method_name)
    if method == REGRESS_METHOD:
        return plan_regression(signature, signature_def, check_method_name)
    # multi_inference.cc: a task of any other method
    raise ServingError("UNIMPLEMENTED", f"Unsupported signature method_name: {method}")


def plan_classification(signature: Signature, signature_def: meta_graph_pb2.SignatureDef,
                        check_method_name: bool) -> TaskPlan:
    """classifier.cc PreProcessClassification: one input `inputs`, one or two outputs of which at
    least one is `classes` or `scores`."""
    if check_method_name and signature.method_name != CLASSIFY_METHOD:
        raise invalid(f"Expected classification signature method_name to be {CLASSIFY_METHOD}. "
                      f"Was: {signature.method_name}")
    if len(signature.inputs) != 1:
        raise invalid("Expected one input Tensor.")
    if len(signature.outputs) not in (1, 2):
        raise invalid(f"Expected one or two output Tensors, found {len(signature.outputs)}")
    if CLASSIFY_INPUTS not in signature.inputs:
        raise invalid(f"No classification inputs found in SignatureDef: {_debug(signature_def)}")
    outputs = tuple(key for key in (CLASSIFY_OUTPUT_CLASSES, CLASSIFY_OUTPUT_SCORES) if key in signature.outputs)
    if not outputs:
        raise invalid("Expected classification signature outputs to contain at least one of "
                      f'"{CLASSIFY_OUTPUT_CLASSES}" or "{CLASSIFY_OUTPUT_SCORES}". '
                      f"Signature was: {_debug(signature_def)}")
    return TaskPlan(CLASSIFY_METHOD, CLASSIFY_INPUTS, outputs)


def plan_regression(signature: Signature, signature_def: meta_graph_pb2.SignatureDef,
                    check_method_name: bool) -> TaskPlan:
    """regressor.cc PreProcessRegression: exactly one input `inputs` and one output `outputs`."""
    if check_method_name and signature.method_name != REGRESS_METHOD:
        raise invalid(f"Expected regression signature method_name to be {REGRESS_METHOD}. "
                      f"Was: {signature.method_name}")
    if len(signature.inputs) != 1:
        raise invalid("Expected one input Tensor.")
    if len(signature.outputs) != 1:
        raise invalid("Expected one output Tensor.")
    if REGRESS_INPUTS not in signature.inputs:
        raise invalid(f"No regression inputs found in SignatureDef: {_debug(signature_def)}")
    if REGRESS_OUTPUTS not in signature.outputs:
        raise invalid(f"No regression outputs found in SignatureDef: {_debug(signature_def)}")
    return TaskPlan(REGRESS_METHOD, REGRESS_INPUTS, (REGRESS_OUTPUTS,))


def classification_result(outputs: dict[str, np.ndarray], num_examples: int) -> Classifications:
    """classifier.cc PostProcessClassificationResult: classes DT_STRING and scores DT_FLOAT, both
    [batch_size, num_classes] with the batch of the request."""
    classes, scores = outputs.get(CLASSIFY_OUTPUT_CLASSES), outputs.get(CLASSIFY_OUTPUT_SCORES)
    if classes is not None:
        if classes.ndim != 2:
            raise invalid(f"Expected Tensor shape: [batch_size num_classes] but got {_shape(classes)}")
        if classes.dtype != np.object_ and classes.dtype.kind not in "SU":
            raise invalid(f"Expected classes Tensor of DT_STRING. Got: {_dtype_enum_name(classes)}")
        if classes.shape[0] != num_examples:
            raise invalid(f"Expected classes output batch size of {num_examples}. Got: {classes.shape[0]}")
    if scores is not None:
        if scores.ndim != 2:
            raise invalid(f"Expected Tensor shape: [batch_size num_classes] but got {_shape(scores)}")
        if scores.dtype != np.float32:
            raise invalid(f"Expected scores Tensor of DT_FLOAT. Got: {_dtype_enum_name(scores)}")
        if scores.shape[0] != num_examples:
            raise invalid(f"Expected scores output batch size of {num_examples}. Got: {scores.shape[0]}")
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise invalid(f"Tensors class and score should match in dim_size(1). Got {classes.shape[1]} "
                      f"vs. {scores.shape[1]}")
    width = (classes if classes is not None else scores).shape[1]
    return [
        [(_label(classes[row, k]) if classes is not None else None,
          float(scores[row, k]) if scores is not None else None) for k in range(width)]
        for row in range(num_examples)
    ]


def regression_result(outputs: dict[str, np.ndarray], num_examples: int) -> list[float]:
    """regressor.cc PostProcessRegressionResult: DT_FLOAT of shape [batch_size] or [batch_size, 1]."""
    values = outputs[REGRESS_OUTPUTS]
    if not (values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)):
        raise invalid("Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got "
                      f"{_shape(values)}")
    if values.shape[0] != num_examples:
        raise invalid(f"Input batch size did not match output batch size: {num_examples} vs. {values.shape[0]}")
    if values.dtype != np.float32:
        raise invalid(f"Expected output Tensor of DT_FLOAT.  Got: {_dtype_enum_name(values)}")
    return [float(value) for value in values.reshape(-1)]


def _debug(signature_def: meta_graph_pb2.SignatureDef) -> str:
    return text_format.MessageToString(signature_def)  # SignatureDef::DebugString


def _shape(array: np.ndarray) -> str:
    return "[" + ",".join(str(size) for size in array.shape) + "]"  # TensorShape::DebugString


def _dtype_enum_name(array: np.ndarray) -> str:
    return "DT_" + numpy_dtype_name(array.dtype).upper()  # DataType_Name


def _label(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
