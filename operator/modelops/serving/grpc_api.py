"""TF Serving's gRPC API (`tensorflow.serving.PredictionService`, `.ModelService`) on grpc.aio.

The servicers only translate protos: routing, checks, batching and metrics are `Inference`'s, the
same path REST requests take. A ServingError's canonical code becomes the gRPC status code (the
names are the same table); anything unexpected is INTERNAL with its text, and the server goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import numpy as np
from tensorflow.core.protobuf import error_codes_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
from tensorflow_serving.apis import model_service_pb2_grpc as model_service

from modelops.serving.config import ConfigError, ServedModel, models_from_proto
from modelops.serving.errors import ServingError, invalid
from modelops.serving.grpc_codec import decode_tensors, encode_tensors, serialized_examples
from modelops.serving.inference import Inference, Routed
from modelops.serving.registry import ServableVersion, VersionState
from modelops.serving.servable import CLASSIFY_METHOD, REGRESS_METHOD

log = logging.getLogger(__name__)

_STATUS_CODE = {"PAYLOAD_TOO_LARGE": grpc.StatusCode.RESOURCE_EXHAUSTED}
_STATE = {state: get_model_status_pb2.ModelVersionStatus.State.Value(state.value) for state in VersionState}


def _target(spec: model_pb2.ModelSpec) -> tuple[str, int | None, str | None]:
    choice = spec.WhichOneof("version_choice")
    version = spec.version.value if choice == "version" else None
    label = spec.version_label if choice == "version_label" else None
    if not spec.name:
        raise invalid("Missing ModelSpec")
    return spec.name, version, label


def _timeout(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else max(remaining, 0.0)


def _fill_spec(into: model_pb2.ModelSpec, servable: ServableVersion, signature_name: str) -> None:
    into.name = servable.model_name
    into.version.value = servable.version
    into.signature_name = signature_name


class _Handler:
    """Shared error translation and metrics for every RPC."""

    def __init__(self, inference: Inference) -> None:
        self._inference = inference

    async def _call(self, context: grpc.aio.ServicerContext, name: str,
                    body: Callable[[Any], Awaitable[Any]]) -> Any:
        try:
            with self._inference.observed() as observation:
                observation.addressed(name)
                return await body(observation)
        except ServingError as exc:
            code = _STATUS_CODE.get(exc.code) or getattr(grpc.StatusCode, exc.code, grpc.StatusCode.UNKNOWN)
            await context.abort(code, exc.message)
        except Exception as exc:  # never let one request take the server down
            log.exception("unexpected error in gRPC %s", type(self).__name__)
            await context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer, _Handler):
    async def Predict(self, request: predict_pb2.PredictRequest, context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> predict_pb2.PredictResponse:
            name, version, label = _target(request.model_spec)
            inputs = decode_tensors(request.inputs)
            routed = self._inference.route(name, version, label, request.model_spec.signature_name)
            observation.served_by(routed.servable)
            outputs = await self._inference.predict(routed, inputs, list(request.output_filter), _timeout(context))
            response = predict_pb2.PredictResponse()
            _fill_spec(response.model_spec, routed.servable, routed.signature.name)
            encode_tensors(outputs, response.outputs)
            return response

        return await self._call(context, request.model_spec.name, body)

    async def Classify(self, request: classification_pb2.ClassificationRequest,
                       context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> classification_pb2.ClassificationResponse:
            routed, outputs = await self._examples(request, CLASSIFY_METHOD, "classification", observation, context)
            response = classification_pb2.ClassificationResponse()
            _fill_spec(response.model_spec, routed.servable, routed.signature.name)
            classes, scores = outputs.get("classes"), outputs.get("scores")
            rows = len(classes if classes is not None else scores)
            for row in range(rows):
                result = response.result.classifications.add()
                width = (classes if classes is not None else scores).shape[1]
                for k in range(width):
                    entry = result.classes.add()
                    if classes is not None:
                        entry.label = _text(classes[row, k])
                    if scores is not None:
                        entry.score = float(scores[row, k])
            return response

        return await self._call(context, request.model_spec.name, body)

    async def Regress(self, request: regression_pb2.RegressionRequest, context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> regression_pb2.RegressionResponse:
            routed, outputs = await self._examples(request, REGRESS_METHOD, "regression", observation, context)
            values = np.asarray(outputs["outputs"]).reshape(-1)
            response = regression_pb2.RegressionResponse()
            _fill_spec(response.model_spec, routed.servable, routed.signature.name)
            for value in values:
                response.result.regressions.add(value=float(value))
            return response

        return await self._call(context, request.model_spec.name, body)

    async def _examples(self, request: Any, method: str, kind: str, observation: Any,
                        context: grpc.aio.ServicerContext) -> tuple[Routed, dict[str, np.ndarray]]:
        """Classify and Regress run a signature of their own method on serialised tf.Examples."""
        name, version, label = _target(request.model_spec)
        routed = self._inference.route(name, version, label, request.model_spec.signature_name)
        observation.served_by(routed.servable)
        if routed.signature.method_name != method:
            raise invalid(f"Expected {kind} signature method_name to be {method}. "
                          f"Was: {routed.signature.method_name}")
        if len(routed.signature.inputs) != 1:
            raise invalid(f"Expected one input Tensor, got {sorted(routed.signature.inputs)}")
        (input_name,) = routed.signature.inputs
        examples = serialized_examples(request.input)
        outputs = await self._inference.predict(routed, {input_name: examples}, timeout=_timeout(context))
        return routed, outputs

    async def GetModelMetadata(self, request: get_model_metadata_pb2.GetModelMetadataRequest,
                               context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> get_model_metadata_pb2.GetModelMetadataResponse:
            name, version, label = _target(request.model_spec)
            unsupported = [field for field in request.metadata_field if field != "signature_def"]
            if not request.metadata_field or unsupported:
                raise invalid(f"Metadata field {(unsupported or [''])[0]} is not supported")
            servable = self._inference.registry.resolve(name, version, label)
            observation.served_by(servable)
            assert servable.model is not None
            signature_defs = get_model_metadata_pb2.SignatureDefMap()
            for key, signature_def in servable.model.signature_defs.items():
                signature_defs.signature_def[key].CopyFrom(signature_def)
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            _fill_spec(response.model_spec, servable, "")
            response.metadata["signature_def"].Pack(signature_defs)
            return response

        return await self._call(context, request.model_spec.name, body)


class ModelService(model_service.ModelServiceServicer, _Handler):
    def __init__(self, inference: Inference, apply_config: Callable[[list[ServedModel]], Awaitable[None]]) -> None:
        super().__init__(inference)
        self._apply_config = apply_config

    async def GetModelStatus(self, request: get_model_status_pb2.GetModelStatusRequest,
                             context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> get_model_status_pb2.GetModelStatusResponse:
            # get_model_status_impl.cc: only a missing model_spec is refused; a label is not read
            if not request.HasField("model_spec"):
                raise invalid("Missing ModelSpec")
            spec = request.model_spec
            version = spec.version.value if spec.WhichOneof("version_choice") == "version" else None
            servables = self._inference.registry.status(spec.name, version)
            response = get_model_status_pb2.GetModelStatusResponse()
            for servable in servables:
                entry = response.model_version_status.add(version=servable.version, state=_STATE[servable.state])
                entry.status.error_code = _error_code(servable.error_code)
                entry.status.error_message = servable.error_message
            return response

        return await self._call(context, request.model_spec.name, body)

    async def HandleReloadConfigRequest(self, request: model_management_pb2.ReloadConfigRequest,
                                        context: grpc.aio.ServicerContext) -> Any:
        """model_service_impl.cc: only a `model_config_list` is accepted (an unset config or a
        custom one is INVALID_ARGUMENT, nothing changes); then ServerCore::ReloadConfig's verdict —
        validation, label refusal (FAILED_PRECONDITION), or UNKNOWN when a model new to the server
        did not become available. Versions of known models load after the call returned."""
        async def body(observation: Any) -> model_management_pb2.ReloadConfigResponse:
            if request.config.WhichOneof("config") != "model_config_list":
                raise invalid("ServerModelConfig type not supported by HandleReloadConfigRequest. "
                              "Only ModelConfigList is currently supported")
            try:
                models = models_from_proto(request.config, self._inference.registry.model_names())
            except ConfigError as exc:
                raise ServingError(exc.code, str(exc)) from exc
            await self._apply_config(models)
            return model_management_pb2.ReloadConfigResponse()

        return await self._call(context, "", body)


def _error_code(name: str) -> int:
    try:
        return error_codes_pb2.Code.Value(name)
    except ValueError:
        return error_codes_pb2.UNKNOWN


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def add_services(server: grpc.aio.Server, inference: Inference,
                 apply_config: Callable[[list[ServedModel]], Awaitable[None]]) -> None:
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(inference), server)
    model_service.add_ModelServiceServicer_to_server(ModelService(inference, apply_config), server)
