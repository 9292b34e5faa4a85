"""`modelops serve` assembled: registry + batching + REST and gRPC APIs + config polling, start and stop.

Kept apart from the CLI so tests and the local runtime can run a server in-process on 127.0.0.1:0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from aiohttp import web

from modelops.serving.batching import Batcher, DirectRunner
from modelops.serving.config import BatchingOptions, ConfigError, ServedModel, parse_model_config
from modelops.serving.grpc_api import add_services
from modelops.serving.http_api import ApiOptions, build_server
from modelops.serving.inference import Inference
from modelops.serving.metrics import ServingMetrics
from modelops.serving.registry import ModelRegistry, Runner, ServableVersion, VersionState
from modelops.serving.servable import LoadedModel, Signature, load_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    rest_port: int = 8501
    grpc_port: int | None = None  # None: no gRPC API; 0: any free port
    grpc_options: tuple[tuple[str, int | str], ...] = ()  # --grpc_channel_arguments
    model_config_file: str | None = None
    model_config_poll_seconds: float = 0.0  # 0: read once, as TF Serving
    model_name: str = "default"
    model_base_path: str | None = None
    file_system_poll_seconds: float = 1.0  # how often "newest on disk" models look for new versions
    metrics_path: str | None = None
    batching: BatchingOptions | None = None
    timeout_seconds: float = 30.0
    max_body_bytes: int = 16 * 1024 * 1024
    # TF Serving's --enable_signature_method_name_check (default false, model_servers/main.cc):
    # Predict / Classify / Regress then insist on the signature's method_name
    enable_signature_method_name_check: bool = False
    rest_api_enable_cors_support: bool = False  # TF Serving's flag: CORS headers on every REST answer


class ModelServer:
    """One running server; `start()` returns once the port listens (models load in background)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.metrics = ServingMetrics()
        threads = settings.batching.num_batch_threads if settings.batching else (os.cpu_count() or 1)
        self._compute = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="serve-compute")
        self._loads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="serve-load")
        self.registry = ModelRegistry(self._make_runner, self._loads, loader=self._load_observed,
                                      on_state=self._record_state)
        self._models: list[ServedModel] = []
        self._config_text: str | None = None
        self.inference = Inference(self.registry, self.metrics, settings.timeout_seconds,
                                   settings.enable_signature_method_name_check)
        self._runner: web.ServerRunner | None = None
        self._grpc: grpc.aio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.port = settings.rest_port
        self.grpc_port: int | None = None

    def read_models(self) -> list[ServedModel]:
        """The models to serve now, from the config file or the single-model flags."""
        settings = self.settings
        if settings.model_config_file:
            try:
                with open(settings.model_config_file, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise ConfigError(f"--model_config_file {settings.model_config_file}: {exc.strerror}") from exc
            if text == self._config_text:
                return self._models
            models = parse_model_config(text)
            self._config_text = text
            return models
        if settings.model_base_path is None:
            return []  # embedded use: the caller applies models through `registry.apply`
        return [ServedModel(settings.model_name, settings.model_base_path, ())]

    async def start(self) -> int:
        self._models = self.read_models()
        options = ApiOptions(self.settings.max_body_bytes, self.settings.timeout_seconds, self.settings.metrics_path,
                             self.settings.rest_api_enable_cors_support)
        self._runner = web.ServerRunner(build_server(self.inference, options))
        await self._runner.setup()
        listener = socket.create_server((self.settings.host, self.settings.rest_port), backlog=1024)
        self.port = listener.getsockname()[1]
        await web.SockSite(self._runner, listener).start()
        if self.settings.grpc_port is not None:
            await self._start_grpc()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._apply_logged(self._models)))
        if self._poll_seconds() > 0:
            self._tasks.append(loop.create_task(self._poll_forever()))
        return self.port

    async def _start_grpc(self) -> None:
        # TF Serving accepts messages up to 2 GiB; --grpc_channel_arguments may lower it
        # SO_REUSEPORT off: a second server must fail to bind, not silently share the port
        options = {"grpc.max_receive_message_length": 2**31 - 1, "grpc.max_send_message_length": 2**31 - 1,
                   "grpc.so_reuseport": 0, **dict(self.settings.grpc_options)}
        self._grpc = grpc.aio.server(options=list(options.items()))
        add_services(self._grpc, self.inference, self.apply_models)
        address = f"{self.settings.host}:{self.settings.grpc_port}"
        try:
            port = self._grpc.add_insecure_port(address)
        except RuntimeError as exc:
            raise OSError(f"cannot listen for gRPC on {address}: {exc}") from exc
        if port == 0:
            raise OSError(f"cannot listen for gRPC on {address}")
        self.grpc_port = port
        await self._grpc.start()

    async def apply_models(self, models: list[ServedModel]) -> None:
        """A config from ModelService/HandleReloadConfigRequest: served until the config file changes."""
        self._models = models
        await self.registry.apply(models)

    async def wait_until_settled(self) -> None:
        """Wait for the initial load to finish (tests; the HTTP status API shows it too)."""
        if self._tasks:
            await asyncio.shield(self._tasks[0])

    async def reload(self) -> None:
        """Re-read the config; a broken file is logged and the current config keeps serving."""
        try:
            models = self.read_models()
        except ConfigError as exc:
            log.error("keeping the current model config: %s", exc)
            return
        self._models = models
        await self.registry.apply(models)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._grpc is not None:
            await self._grpc.stop(grace=1.0)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.registry.close()
        self._compute.shutdown(wait=True)
        self._loads.shutdown(wait=True)

    def _poll_seconds(self) -> float:
        if self.settings.model_config_file:
            return self.settings.model_config_poll_seconds
        if self.settings.model_base_path:
            return self.settings.file_system_poll_seconds
        return 0.0  # embedded: nothing to poll

    async def _poll_forever(self) -> None:
        interval = self._poll_seconds()
        while True:
            await asyncio.sleep(interval)
            await self.reload()

    async def _apply_logged(self, models: list[ServedModel]) -> None:
        try:
            await self.registry.apply(models)
        except Exception:  # a load problem must not kill the server; states say what failed
            log.exception("applying the model config failed")

    def _make_runner(self, model: str, version: int, signature: Signature) -> Runner:
        if self.settings.batching is None:
            return DirectRunner(signature.run, self._compute)
        on_batch, on_queue_depth, on_dequeue = self.metrics.batch_observer(model, version)
        return Batcher(signature.run, self.settings.batching, self._compute, on_batch, on_queue_depth, on_dequeue)

    def _load_observed(self, base_path: str, version: int) -> LoadedModel:
        """Load a version and count the attempt in TF's SavedModel-loader metrics."""
        started = time.perf_counter()
        try:
            model = load_version(base_path, version)
        except Exception:
            self.metrics.observe_load(os.path.join(base_path, str(version)), False, time.perf_counter() - started)
            raise
        self.metrics.observe_load(model.path, True, time.perf_counter() - started)
        return model

    def _record_state(self, servable: ServableVersion) -> None:
        if servable.state is VersionState.END and servable.model is None and servable.error_code == "OK":
            self.metrics.forget_version(servable.model_name, servable.version)
        else:
            available = servable.state is VersionState.AVAILABLE
            self.metrics.set_available(servable.model_name, servable.version, available)
