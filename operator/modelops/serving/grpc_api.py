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
from tensorflow.core.protobuf import error_codes_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_management_pb2,
    model_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
from tensorflow_serving.apis import model_service_pb2_grpc as model_service

from modelops.serving.config import ConfigError, ServedModel, models_from_proto
from modelops.serving.errors import ServingError, invalid
from modelops.serving.grpc_codec import decode_tensors, encode_proto_fields, serialized_examples
from modelops.serving.inference import (
    Inference,
    Routed,
    multi_inference_signature_missing,
    task_signature_missing,
)
from modelops.serving.registry import ServableVersion, VersionState
from modelops.serving.servable import CLASSIFY_METHOD, DEFAULT_SIGNATURE
from modelops.serving.tasks import Classifications, classification_result, regression_result

log = logging.getLogger(__name__)

_STATUS_CODE = {"PAYLOAD_TOO_LARGE": grpc.StatusCode.RESOURCE_EXHAUSTED}
_MESSAGE_LIMIT = 1024
_STATE = {state: get_model_status_pb2.ModelVersionStatus.State.Value(state.value) for state in VersionState}


def _target(request: Any) -> tuple[str, int | None, str | None]:
    """The request's model_spec; a request without one is TF Serving's "Missing ModelSpec"
    (predict_impl.cc, classification_service.cc, regression_service.cc)."""
    if not request.HasField("model_spec"):
        raise invalid("Missing ModelSpec")
    return _spec_target(request.model_spec)


def _spec_target(spec: model_pb2.ModelSpec) -> tuple[str, int | None, str | None]:
    choice = spec.WhichOneof("version_choice")
    version = spec.version.value if choice == "version" else None
    label = spec.version_label if choice == "version_label" else None
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
                    body: Callable[[Any], Awaitable[Any]], api: str | None = None) -> Any:
        try:
            with self._inference.observed("GRPC", api) as observation:
                observation.addressed(name)
                return await body(observation)
        except ServingError as exc:
            code = _STATUS_CODE.get(exc.code) or getattr(grpc.StatusCode, exc.code, grpc.StatusCode.UNKNOWN)
            await context.abort(code, _truncated(exc.message))
        except Exception as exc:  # never let one request take the server down
            log.exception("unexpected error in gRPC %s", type(self).__name__)
            await context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer, _Handler):
    async def Predict(self, request: predict_pb2.PredictRequest, context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> predict_pb2.PredictResponse:
            name, version, label = _target(request)
            routed = self._inference.route(name, version, label, request.model_spec.signature_name)
            observation.served_by(routed.servable)
            # predict_util.cc order: servable and signature, input names, then Tensor::FromProto
            self._inference.check_predict_request(routed, list(request.inputs))
            inputs = decode_tensors(request.inputs)
            outputs = await self._inference.predict(routed, inputs, list(request.output_filter), _timeout(context))
            response = predict_pb2.PredictResponse()
            _fill_spec(response.model_spec, routed.servable, routed.signature.name)
            encode_proto_fields(outputs, response.outputs)  # Tensor::AsProtoField, as predict_util.cc
            return response

        return await self._call(context, request.model_spec.name, body, "Predict")

    async def Classify(self, request: classification_pb2.ClassificationRequest,
                       context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> classification_pb2.ClassificationResponse:
            routed = self._route_task(request, observation)
            classifications = await self._inference.classify(
                routed, serialized_examples(request.input), _timeout(context))
            response = classification_pb2.ClassificationResponse()
            _fill_spec(response.model_spec, routed.servable, routed.signature.name)
            _fill_classifications(response.result, classifications)
            return response

        return await self._call(context, request.model_spec.name, body, "Classify")

    async def Regress(self, request: regression_pb2.RegressionRequest, context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> regression_pb2.RegressionResponse:
            routed = self._route_task(request, observation)
            values = await self._inference.regress(routed, serialized_examples(request.input), _timeout(context))
            response = regression_pb2.RegressionResponse()
            _fill_spec(response.model_spec, routed.servable, routed.signature.name)
            _fill_regressions(response.result, values)
            return response

        return await self._call(context, request.model_spec.name, body, "Regress")

    async def MultiInference(self, request: inference_pb2.MultiInferenceRequest,
                             context: grpc.aio.ServicerContext) -> Any:
        """servables/tensorflow/multi_inference.cc: classify / regress tasks of ONE model over the
        same examples; the first task's model_spec picks the version (multi_inference_helper.cc)."""
        async def body(observation: Any) -> inference_pb2.MultiInferenceResponse:
            first = request.tasks[0].model_spec if request.tasks else model_pb2.ModelSpec()
            name, version, label = _spec_target(first)
            servable = self._inference.registry.resolve(name, version, label)
            observation.served_by(servable)
            planned = []
            seen: set[str] = set()
            for task in request.tasks:
                if not task.model_spec.name:
                    raise invalid("Found ModelSpec with an empty model name.")
                if task.model_spec.name != name:
                    raise invalid("All ModelSpecs in a MultiInferenceRequest must access the same model name.")
                key = task.model_spec.signature_name or DEFAULT_SIGNATURE
                if key in seen:
                    raise invalid(f"Duplicate evaluation of signature: {key}")
                seen.add(key)
                routed = self._inference.route(name, servable.version, None, key, multi_inference_signature_missing)
                planned.append((routed, self._inference.plan(routed, task.method_name)))
            examples = serialized_examples(request.input)
            outputs = await self._inference.multi_inference(planned, examples, _timeout(context))
            response = inference_pb2.MultiInferenceResponse()
            for task, (_, plan), arrays in zip(request.tasks, planned, outputs, strict=True):
                result = response.results.add()
                if plan.method == CLASSIFY_METHOD:
                    _fill_classifications(result.classification_result, classification_result(arrays, len(examples)))
                else:
                    _fill_regressions(result.regression_result, regression_result(arrays, len(examples)))
                result.model_spec.name = name
                result.model_spec.version.value = servable.version
                result.model_spec.signature_name = task.model_spec.signature_name or DEFAULT_SIGNATURE
            return response

        name = request.tasks[0].model_spec.name if request.tasks else ""
        return await self._call(context, name, body)

    def _route_task(self, request: Any, observation: Any) -> Routed:
        """Classify / Regress: the version and signature the request names, planned by tasks.py."""
        name, version, label = _target(request)
        routed = self._inference.route(name, version, label, request.model_spec.signature_name,
                                       task_signature_missing)
        observation.served_by(routed.servable)
        return routed

    async def GetModelMetadata(self, request: get_model_metadata_pb2.GetModelMetadataRequest,
                               context: grpc.aio.ServicerContext) -> Any:
        async def body(observation: Any) -> get_model_metadata_pb2.GetModelMetadataResponse:
            name, version, label = _target(request)
            # get_model_metadata_impl.cc ValidateGetModelMetadataRequest, before the servable lookup
            if not request.metadata_field:
                raise invalid("GetModelMetadataRequest must specify at least one metadata_field")
            for field in request.metadata_field:
                if field != "signature_def":
                    raise invalid(f"Metadata field {field} is not supported")
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


def _truncated(message: str) -> str:
    """model_servers/grpc_status_util.cc ToGRPCStatus: at most 1024 characters of the message."""
    return message if len(message) <= _MESSAGE_LIMIT else message[:_MESSAGE_LIMIT] + "...TRUNCATED"


def _fill_classifications(result: classification_pb2.ClassificationResult, rows: Classifications) -> None:
    for row in rows:
        classes = result.classifications.add().classes
        for label, score in row:
            entry = classes.add()
            if label is not None:
                entry.label = label
            if score is not None:
                entry.score = score


def _fill_regressions(result: regression_pb2.RegressionResult, values: list[float]) -> None:
    for value in values:
        result.regressions.add(value=value)


def _error_code(name: str) -> int:
    try:
        return error_codes_pb2.Code.Value(name)
    except ValueError:
        return error_codes_pb2.UNKNOWN


def add_services(server: grpc.aio.Server, inference: Inference,
                 apply_config: Callable[[list[ServedModel]], Awaitable[None]]) -> None:
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(inference), server)
    model_service.add_ModelServiceServicer_to_server(ModelService(inference, apply_config), server)
