"""TF Serving's REST API on aiohttp: status, metadata, predict; errors as `{"error": "..."}`.

Every failure of the client's making is a 4xx with a message naming what was wrong; anything else
is a 500 with the message, logged, and the server keeps serving.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from modelops.serving.codec import decode_predict_request, encode_predict_response, parse_json_body
from modelops.serving.errors import ServingError, invalid
from modelops.serving.inference import Inference
from modelops.serving.registry import ServableVersion

log = logging.getLogger(__name__)

_MODEL_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>[A-Za-z]+))?$"
)


@dataclass(frozen=True)
class ApiOptions:
    max_body_bytes: int = 16 * 1024 * 1024
    timeout_seconds: float = 30.0
    metrics_path: str | None = None


@dataclass(frozen=True)
class _Target:
    name: str
    version: int | None
    label: str | None
    metadata: bool
    verb: str | None


def build_server(inference: Inference, options: ApiOptions) -> web.Server:
    """aiohttp's low-level server: three fixed routes do not need the router and middleware
    machinery, and per-request overhead is what limits throughput. Run it with web.ServerRunner."""
    return web.Server(_RestApi(inference, options).dispatch, access_log=None)


class _RestApi:
    def __init__(self, inference: Inference, options: ApiOptions) -> None:
        self._inference = inference
        self._registry = inference.registry
        self._metrics = inference.metrics
        self._options = options

    async def dispatch(self, request: web.BaseRequest) -> web.Response:
        if request.path.startswith("/v1/models/"):
            return await self.models(request)
        if request.method == "GET" and request.path == self._options.metrics_path:
            return await self.metrics(request)
        return await self.unknown_path(request)

    async def metrics(self, request: web.BaseRequest) -> web.Response:
        return web.Response(body=self._metrics.exposition(), headers={"Content-Type": self._metrics.content_type})

    async def unknown_path(self, request: web.BaseRequest) -> web.Response:
        return _error(404, f"Malformed request: {request.method} {request.path}")

    async def models(self, request: web.BaseRequest) -> web.Response:
        try:
            with self._inference.observed() as observation:
                target = _parse_target(request.path)
                observation.addressed(target.name)
                observation.api = target.verb or ""  # TF Serving's http_server.cc labels by the verb
                if request.method == "GET" and target.verb is None:
                    servable, response = self._get(target)
                elif request.method == "POST" and target.verb is not None and not target.metadata:
                    servable, response = await self._post(request, target)
                else:
                    raise ServingError("NOT_FOUND", f"Malformed request: {request.method} {request.path}")
                if servable is not None:
                    observation.served_by(servable)
                return response
        except ServingError as exc:
            return _error(exc.http_status, exc.message)
        except Exception as exc:  # never let one request take the server down
            log.exception("unexpected error serving %s %s", request.method, request.path)
            return _error(500, f"Internal error: {type(exc).__name__}: {exc}")

    def _get(self, target: _Target) -> tuple[ServableVersion | None, web.Response]:
        if target.metadata:
            servable = self._registry.resolve(target.name, target.version, target.label)
            assert servable.model is not None
            body = {
                "model_spec": {"name": target.name, "signature_name": "", "version": str(servable.version)},
                "metadata": {"signature_def": {"signature_def": servable.model.signature_def_json}},
            }
            return servable, _json(body)
        servables = self._registry.status(target.name, target.version, target.label)
        body = {"model_version_status": [_status_json(s) for s in servables]}
        return (servables[0] if len(servables) == 1 else None), _json(body)

    async def _post(self, request: web.BaseRequest, target: _Target) -> tuple[ServableVersion, web.Response]:
        if target.verb in ("classify", "regress"):
            raise ServingError(
                "UNIMPLEMENTED",
                f"{target.verb} is not supported by modelops serve; use :predict with the serving_default signature",
            )
        if target.verb != "predict":
            raise invalid(f"unknown verb :{target.verb} (supported: predict)")
        if not self._registry.has_model(target.name):
            raise ServingError("NOT_FOUND", f"Servable not found for request: Latest({target.name})")
        body = await self._read_body(request)
        payload = parse_json_body(body)
        signature_name = payload.get("signature_name", "")
        if not isinstance(signature_name, str):
            raise invalid("'signature_name' must be a string")
        # route and submit in one event-loop step, so a config switch cannot slip in between
        routed = self._inference.route(target.name, target.version, target.label, signature_name)
        inputs, row_format = decode_predict_request(payload, routed.signature)
        outputs = await self._inference.predict(routed, inputs)
        return routed.servable, _json(encode_predict_response(outputs, row_format))

    async def _read_body(self, request: web.BaseRequest) -> bytes:
        limit = self._options.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise ServingError("PAYLOAD_TOO_LARGE", f"request body of {request.content_length} bytes exceeds {limit}")
        chunks, size = [], 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:  # chunked upload without Content-Length: stop reading at the limit
                raise ServingError("PAYLOAD_TOO_LARGE", f"request body exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _parse_target(path: str) -> _Target:
    match = _MODEL_PATH.match(path)
    if match is None:
        raise ServingError("NOT_FOUND", f"Malformed request: {path}")
    version_text = match["version"]
    version = None
    if version_text is not None:
        if not version_text.isdigit():
            raise invalid(f"version in the URL must be a positive integer, got {version_text!r}")
        version = int(version_text)
    return _Target(match["name"], version, match["label"], match["metadata"] is not None, match["verb"])


def _status_json(servable: ServableVersion) -> dict[str, Any]:
    return {
        "version": str(servable.version),
        "state": str(servable.state),
        "status": {"error_code": servable.error_code, "error_message": servable.error_message},
    }


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, content_type="application/json"
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)
