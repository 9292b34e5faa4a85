"""The one request path REST and gRPC share: route to a version, check keys and dtypes, run, filter.

Both front ends decode their wire format into numpy arrays and call `route` then `predict` (or
`classify` / `regress`), so the registry, version policy, labels, batcher and error texts are the
same whichever protocol a client speaks. Checks mirror TF Serving's predict_util.cc: the request
sends as many inputs as the signature has, every alias exists, dtypes match; shapes are left to
the model. The signature method_name is checked only with `method_name_check`
(`--enable_signature_method_name_check`, default false in model_servers/main.cc).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from tensorflow.core.protobuf import meta_graph_pb2

from modelops.serving.errors import HTTP_STATUS_BY_CODE, ServingError, failed_precondition, invalid
from modelops.serving.metrics import ServingMetrics
from modelops.serving.registry import ModelRegistry, Runner, ServableVersion
from modelops.serving.servable import (
    CLASSIFY_METHOD,
    DEFAULT_SIGNATURE,
    PREDICT_METHOD,
    REGRESS_METHOD,
    Signature,
    dtype_name,
    numpy_dtype_name,
)
from modelops.serving.tasks import (
    Classifications,
    TaskPlan,
    classification_result,
    plan_task,
    regression_result,
)

Arrays = dict[str, np.ndarray]
MissingSignature = Callable[[str], ServingError]


def predict_signature_missing(key: str) -> ServingError:
    """gRPC Predict (predict_util.cc RunPredict)."""
    return failed_precondition(f'Serving signature key "{key}" not found.')


def rest_signature_missing(key: str) -> ServingError:
    """REST :predict looks the signature up first (http_rest_api_handler.cc GetInfoMap)."""
    return invalid(f'Serving signature name: "{key}" not found in signature def')


def task_signature_missing(key: str) -> ServingError:
    """Classify / Regress (classifier.cc, regressor.cc Get*SignatureDef)."""
    return invalid(f"No signature was found with the name: {key}")


def multi_inference_signature_missing(key: str) -> ServingError:
    """MultiInference (multi_inference.cc)."""
    return invalid(f"Requested signature not found in model graph: {key}")


@dataclass(frozen=True)
class Routed:
    """Where one request goes: resolved before any await, so a config switch cannot slip in."""

    servable: ServableVersion
    signature: Signature
    runner: Runner

    @property
    def signature_def(self) -> meta_graph_pb2.SignatureDef:
        """The signature's proto, for the messages that quote it as TF Serving does."""
        assert self.servable.model is not None
        return self.servable.model.signature_defs[self.signature.name]


class Inference:
    def __init__(self, registry: ModelRegistry, metrics: ServingMetrics, timeout_seconds: float,
                 method_name_check: bool = False) -> None:
        self.registry = registry
        self.metrics = metrics
        self.timeout_seconds = timeout_seconds
        self.method_name_check = method_name_check

    def route(self, name: str, version: int | None, label: str | None, signature_name: str,
              missing: MissingSignature = predict_signature_missing) -> Routed:
        """The servable and signature a request runs on; `missing` states the caller's own error
        for an unknown signature (TF Serving words it differently per API)."""
        servable = self.registry.resolve(name, version, label)
        assert servable.model is not None
        key = signature_name or DEFAULT_SIGNATURE
        if key not in servable.model.signatures:
            raise missing(key)
        signature, runner = servable.runner(key)
        return Routed(servable, signature, runner)

    async def predict(
        self, routed: Routed, inputs: Arrays, output_filter: Sequence[str] = (), timeout: float | None = None,
        api: str = "Predict",
    ) -> Arrays:
        """Outputs of the routed signature for `inputs` (all outputs, or those in output_filter);
        `api` names the TF Serving API for its runtime_latency metric."""
        if self.method_name_check:
            check_predict_method(routed.signature)
        check_inputs(routed.signature, inputs)
        wanted = check_output_filter(routed.signature, output_filter)
        return await self._run(routed, inputs, wanted, timeout, api)

    def check_predict_request(self, routed: Routed, input_names: list[str]) -> None:
        """The checks predict_util.cc makes before it decodes a tensor: the signature's method
        (under the flag), then the input count and aliases."""
        if self.method_name_check:
            check_predict_method(routed.signature)
        check_input_names(routed.signature, input_names)

    def plan(self, routed: Routed, method: str) -> TaskPlan:
        return plan_task(method, routed.signature, routed.signature_def, self.method_name_check)

    async def classify(self, routed: Routed, examples: np.ndarray, timeout: float | None = None) -> Classifications:
        outputs = await self.run_task(routed, self.plan(routed, CLASSIFY_METHOD), examples, timeout, "Classify")
        return classification_result(outputs, len(examples))

    async def regress(self, routed: Routed, examples: np.ndarray, timeout: float | None = None) -> list[float]:
        outputs = await self.run_task(routed, self.plan(routed, REGRESS_METHOD), examples, timeout, "Regress")
        return regression_result(outputs, len(examples))

    async def run_task(self, routed: Routed, plan: TaskPlan, examples: np.ndarray,
                       timeout: float | None = None, api: str = "MultiInference") -> Arrays:
        """Feed the serialized examples to the task's input; the model's own ops judge them (a
        float input fed strings fails as TF's Session::Run fails it)."""
        inputs = {plan.input_alias: examples}
        check_inputs(routed.signature, inputs)
        return await self._run(routed, inputs, list(plan.output_aliases), timeout, api)

    async def multi_inference(self, routed: list[tuple[Routed, TaskPlan]], examples: np.ndarray,
                              timeout: float | None = None) -> list[Arrays]:
        """Every task's outputs for the same examples (one signature call per task, concurrently)."""
        return list(await asyncio.gather(*(self.run_task(r, plan, examples, timeout) for r, plan in routed)))

    async def _run(self, routed: Routed, inputs: Arrays, wanted: list[str] | None, timeout: float | None,
                   api: str) -> Arrays:
        limit = self.timeout_seconds if timeout is None else min(timeout, self.timeout_seconds)
        started = time.perf_counter()
        outputs = await routed.runner.submit(inputs, limit)
        self.metrics.observe_runtime(routed.servable.model_name, api, time.perf_counter() - started)
        return outputs if wanted is None else {name: outputs[name] for name in wanted}

    @contextmanager
    def observed(self, entrypoint: str = "REST", api: str | None = "") -> Iterator[_Observation]:
        """Count and time one request in the shared Prometheus series (status as TF Serving's HTTP
        mapping of the canonical code, whichever protocol carried it). `entrypoint` and `api` label
        TF Serving's request metrics ("REST" and the URL's verb, or "GRPC" and the RPC); api None:
        an RPC TF Serving does not count there (metadata, status)."""
        observation = _Observation(self.registry, api=api)
        started = time.perf_counter()
        try:
            yield observation
        except ServingError as exc:
            observation.status, observation.code = exc.http_status, exc.code
            raise
        except BaseException:
            observation.status, observation.code = HTTP_STATUS_BY_CODE["INTERNAL"], "INTERNAL"
            raise
        finally:
            self.metrics.observe_request(
                observation.model, observation.version, observation.status, time.perf_counter() - started,
                code=observation.code, api=observation.api, entrypoint=entrypoint,
            )


@dataclass
class _Observation:
    registry: ModelRegistry
    model: str = ""  # only names the registry knows become label values: no unbounded series
    version: str = ""
    status: int = 200
    code: str = "OK"
    api: str | None = ""

    def addressed(self, name: str) -> None:
        self.model = name if self.registry.has_model(name) else ""

    def served_by(self, servable: ServableVersion) -> None:
        self.version = str(servable.version)


def check_predict_method(signature: Signature) -> None:
    """predict_util.cc VerifySignature, only under the method-name check: any of TF Serving's three
    methods may be predicted on; an INTERNAL error otherwise (its code, not ours)."""
    if signature.method_name not in (PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD):
        raise ServingError(
            "INTERNAL",
            f"Expected prediction signature method_name to be one of {{{PREDICT_METHOD}, {CLASSIFY_METHOD}, "
            f"{REGRESS_METHOD}}}. Was: {signature.method_name}",
        )


def check_inputs(signature: Signature, inputs: Arrays) -> None:
    """predict_util.cc VerifyRequestInputsSize, then TF's GetInputValues alias check, then the
    session's dtype check; the messages are the ones TF Serving's clients already parse."""
    check_input_names(signature, list(inputs))
    for index, name in enumerate(sorted(inputs)):
        spec, array = signature.inputs[name], inputs[name]
        if spec.is_string:
            if array.dtype != np.object_ and array.dtype.kind not in "SU":
                raise invalid(f"Expects arg[{index}] to be string but {numpy_dtype_name(array.dtype)} is provided")
        elif array.dtype == np.object_ or array.dtype.kind in "SU":
            raise invalid(f"Expects arg[{index}] to be {dtype_name(spec.dtype_enum)} but string is provided")
        elif array.dtype != spec.dtype:
            wanted, got = dtype_name(spec.dtype_enum), numpy_dtype_name(array.dtype)
            raise invalid(f"Expects arg[{index}] to be {wanted} but {got} is provided")


def check_input_names(signature: Signature, names: list[str]) -> None:
    """predict_util.cc VerifyRequestInputsSize and TF's GetInputValues: as many inputs as the
    signature has, each one of its aliases."""
    expected, sent = set(signature.inputs), set(names)
    if len(sent) != len(expected):
        raise invalid(
            f"input size does not match signature: {len(sent)}!={len(expected)} "
            f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
            f"Sent extra: {{{','.join(sorted(sent - expected))}}}. "
            f"Missing but required: {{{','.join(sorted(expected - sent))}}}."
        )
    for alias in sorted(sent):
        if alias not in expected:
            raise invalid(
                f"input tensor alias not found in signature: {alias}. "
                f"Inputs expected to be in the set {{{','.join(sorted(expected))}}}."
            )


def check_output_filter(signature: Signature, output_filter: Sequence[str]) -> list[str] | None:
    """predict_util.cc PreProcessPrediction: every alias known, none twice."""
    if not output_filter:
        return None
    seen: list[str] = []
    for alias in output_filter:
        if alias not in signature.outputs:
            raise invalid(
                f"output tensor alias not found in signature: {alias} "
                f"Outputs expected to be in the set {{{','.join(sorted(signature.outputs))}}}."
            )
        if alias in seen:
            raise invalid(f"duplicate output tensor alias: {alias}")
        seen.append(alias)
    return seen

