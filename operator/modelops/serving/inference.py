"""The one request path REST and gRPC share: route to a version, check keys and dtypes, run, filter.

Both front ends decode their wire format into numpy arrays and call `route` then `predict`, so the
registry, version policy, labels, batcher and error texts are the same whichever protocol a client
speaks. Checks mirror TF Serving's predict_util: every input alias must exist in the signature and
every signature input must be sent, dtypes must match; shapes are left to the model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from modelops.serving.errors import HTTP_STATUS_BY_CODE, ServingError, invalid, not_found
from modelops.serving.metrics import ServingMetrics
from modelops.serving.registry import ModelRegistry, Runner, ServableVersion
from modelops.serving.servable import Signature, dtype_name, numpy_dtype_name

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class Routed:
    """Where one request goes: resolved before any await, so a config switch cannot slip in."""

    servable: ServableVersion
    signature: Signature
    runner: Runner


class Inference:
    def __init__(self, registry: ModelRegistry, metrics: ServingMetrics, timeout_seconds: float) -> None:
        self.registry = registry
        self.metrics = metrics
        self.timeout_seconds = timeout_seconds

    def route(self, name: str, version: int | None, label: str | None, signature_name: str) -> Routed:
        if not self.registry.has_model(name):
            raise not_found(f"Servable not found for request: Latest({name})")
        servable = self.registry.resolve(name, version, label)
        signature, runner = servable.runner(signature_name)
        return Routed(servable, signature, runner)

    async def predict(
        self, routed: Routed, inputs: Arrays, output_filter: Sequence[str] = (), timeout: float | None = None,
        api: str = "Predict",
    ) -> Arrays:
        """Outputs of the routed signature for `inputs` (all outputs, or those in output_filter);
        `api` names the TF Serving API for its runtime_latency metric."""
        check_inputs(routed.signature, inputs, routed.servable.model_name)
        wanted = check_output_filter(routed.signature, output_filter)
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


def check_inputs(signature: Signature, inputs: Arrays, model_name: str) -> None:
    """TF Serving's alias and dtype checks; the messages are the ones its clients already parse."""
    expected = set(signature.inputs)
    for alias in inputs:
        if alias not in expected:
            raise invalid(
                f"input tensor alias not found in signature: {alias}. "
                f"Inputs expected to be in the set {{{','.join(sorted(expected))}}}."
            )
    missing = expected - set(inputs)
    if missing:
        raise invalid(
            f"Request inputs do not match required inputs for model `{model_name}`. "
            f"Send extra: {{}}. Missing but required: {{{','.join(sorted(missing))}}}."
        )
    for index, name in enumerate(sorted(inputs)):
        spec, array = signature.inputs[name], inputs[name]
        if spec.is_string:
            if array.dtype != np.object_ and array.dtype.kind not in "SU":
                raise invalid(f"Expects arg[{index}] to be string but {array.dtype.name} is provided")
        elif array.dtype != spec.dtype:
            wanted, got = dtype_name(spec.dtype_enum), numpy_dtype_name(array.dtype)
            raise invalid(f"Expects arg[{index}] to be {wanted} but {got} is provided")


def check_output_filter(signature: Signature, output_filter: Sequence[str]) -> list[str] | None:
    if not output_filter:
        return None
    for alias in output_filter:
        if alias not in signature.outputs:
            raise invalid(
                f"output tensor alias not found in signature: {alias} "
                f"Outputs expected to be in the set {{{','.join(sorted(signature.outputs))}}}."
            )
    return list(dict.fromkeys(output_filter))

