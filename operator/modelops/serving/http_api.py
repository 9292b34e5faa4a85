"""TF Serving's REST API on aiohttp: status, metadata, predict, classify, regress; errors as
`{"error": "..."}` with the HTTP status tensorflow_model_server gives the canonical code.

Routing follows model_servers/http_rest_api_util.cc: paths under `/v1/` go to the API (anything else
is 404, no handler); a POST must match `/v1/models/{name}[/versions/{n}|/labels/{l}]:{verb}` and a
GET `/v1/models[/{name}][/versions/{n}|/labels/{l}][/metadata]` (case-insensitive), otherwise
400 "Malformed request: {method} {path}". Every failure of the client's making is a 4xx naming what
was wrong; anything else is a 500 with the message, logged, and the server keeps serving.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from modelops.serving.codec import (
    decode_predict_request,
    encode_predict_response,
    parse_json_body,
    signature_name_of,
)
from modelops.serving.errors import HTTP_STATUS_BY_CODE, ServingError, failed_precondition, invalid
from modelops.serving.inference import Inference, rest_signature_missing, task_signature_missing
from modelops.serving.json_examples import classification_json, regression_json, serialized_examples_from_json
from modelops.serving.registry import ServableVersion

log = logging.getLogger(__name__)

# http_rest_api_util.cc kPredictionApiGegex / kModelStatusApiRegex; http_rest_api_util.h kPathRegex
_API_PATH = re.compile(r"/v1/.*", re.IGNORECASE | re.DOTALL)
_POST_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)", re.IGNORECASE
)
_GET_PATH = re.compile(
    r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?", re.IGNORECASE
)
_INT64_MAX = 2**63 - 1
_CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, GET",
                 "Access-Control-Allow-Headers": "Content-Type"}


@dataclass(frozen=True)
class ApiOptions:
    max_body_bytes: int = 16 * 1024 * 1024
    timeout_seconds: float = 30.0
    metrics_path: str | None = None
    cors: bool = False  # --rest_api_enable_cors_support


@dataclass(frozen=True)
class _Target:
    method: str  # "predict" | "classify" | "regress" | "status" | "metadata"
    name: str
    version: int | None
    label: str | None


def build_server(inference: Inference, options: ApiOptions) -> web.Server:
    """aiohttp's low-level server: fixed routes do not need the router and middleware
    machinery, and per-request overhead is what limits throughput. Run it with web.ServerRunner."""
    return web.Server(_RestApi(inference, options).dispatch, access_log=None)


class _RestApi:
    def __init__(self, inference: Inference, options: ApiOptions) -> None:
        self._inference = inference
        self._registry = inference.registry
        self._metrics = inference.metrics
        self._options = options

    async def dispatch(self, request: web.BaseRequest) -> web.Response:
        path = request.raw_path.split("?", 1)[0]
        if request.method == "GET" and request.path == self._options.metrics_path:
            return await self.metrics(request)  # registered by exact path ahead of the API (http_server.cc)
        if _API_PATH.fullmatch(path):
            return await self.api(request, path)
        return _error(404, f"Not found: {request.method} {path}")  # no handler: net_http's 404

    async def metrics(self, request: web.BaseRequest) -> web.Response:
        return web.Response(body=self._metrics.exposition(), headers={"Content-Type": self._metrics.content_type})

    async def api(self, request: web.BaseRequest, path: str) -> web.Response:
        response = await self._api(request, path)
        if self._options.cors:  # http_rest_api_util.cc AddCORSHeaders, on errors too
            response.headers.update(_CORS_HEADERS)
        return response

    async def _api(self, request: web.BaseRequest, path: str) -> web.Response:
        try:
            with self._inference.observed() as observation:
                if request.method == "OPTIONS":  # CORS preflight (http_server.cc ProcessRequest)
                    if not re.search(r"https?://", request.headers.get("Origin", "")):
                        raise failed_precondition("Origin header is missing in CORS preflight")
                    return _json_text("")
                target = _parse_target(request.method, path)
                observation.addressed(target.name)
                # TF Serving's http_server.cc labels its request metrics by the verb ("" for GETs)
                observation.api = target.method if target.method in ("predict", "classify", "regress") else ""
                servable, response = await self._handle(request, target)
                if servable is not None:
                    observation.served_by(servable)
                return response
        except ServingError as exc:
            return _error(exc.http_status, exc.message)
        except Exception as exc:  # never let one request take the server down
            log.exception("unexpected error serving %s %s", request.method, request.path)
            return _error(HTTP_STATUS_BY_CODE["INTERNAL"], f"Internal error: {type(exc).__name__}: {exc}")

    async def _handle(self, request: web.BaseRequest, target: _Target) -> tuple[ServableVersion | None, web.Response]:
        if target.method == "status":
            if not target.name:
                raise invalid("Missing model name in request.")
            servables = self._registry.status(target.name, target.version, target.label)
            body = {"model_version_status": [_status_json(s) for s in servables]}
            return (servables[0] if len(servables) == 1 else None), _json(body)
        if target.method == "metadata":
            if not target.name:
                raise invalid("Missing model name in request.")
            servable = self._registry.resolve(target.name, target.version, target.label)
            assert servable.model is not None
            body = {
                "model_spec": {"name": target.name, "signature_name": "", "version": str(servable.version)},
                "metadata": {"signature_def": {"signature_def": servable.model.signature_def_json}},
            }
            return servable, _json(body)
        raw = await self._read_body(request)
        payload = parse_json_body(raw)
        signature_name = signature_name_of(payload)
        if target.method == "predict":
            # route and submit in one event-loop step, so a config switch cannot slip in between
            routed = self._inference.route(target.name, target.version, target.label, signature_name,
                                           rest_signature_missing)
            has_booleans = b"true" in raw or b"false" in raw
            inputs, row_format = decode_predict_request(payload, routed.signature, has_booleans)
            outputs = await self._inference.predict(routed, inputs)
            return routed.servable, _json(encode_predict_response(outputs, row_format))
        # classify / regress: the body is read fully before the servable is looked up (http_rest_api_handler.cc)
        examples = serialized_examples_from_json(payload)
        routed = self._inference.route(target.name, target.version, target.label, signature_name,
                                       task_signature_missing)
        if target.method == "classify":
            body = classification_json(await self._inference.classify(routed, examples))
        else:
            body = regression_json(await self._inference.regress(routed, examples))
        return routed.servable, _json(body)

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


def _parse_target(method: str, path: str) -> _Target:
    """http_rest_api_util.cc ParseModelInfo + the dispatch of HttpRestApiHandler::ProcessRequest:
    the verb and `metadata` compare exactly (lower case) after the case-insensitive match."""
    malformed = invalid(f"Malformed request: {method} {path}")
    if method == "POST":
        match = _POST_PATH.fullmatch(path)
        if match is None or match[4] not in ("classify", "regress", "predict"):
            raise malformed
        kind = match[4]
    elif method == "GET":
        match = _GET_PATH.fullmatch(path)
        if match is None:
            raise malformed
        kind = "metadata" if match[4] == "metadata" else "status"
    else:
        raise malformed
    version = None
    if match[2] is not None:
        version = int(match[2])
        if version > _INT64_MAX:
            raise invalid(f"Failed to convert version: {match[2]} to numeric.")
    label = unquote(match[3]) if match[3] is not None else None
    return _Target(kind, unquote(match[1] or ""), version, label)


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


def _json_text(text: str, status: int = 200) -> web.Response:
    return web.Response(body=text.encode(), status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)
