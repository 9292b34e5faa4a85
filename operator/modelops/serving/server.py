"""`modelops serve` assembled: registry + batching + REST and gRPC APIs + config polling, start and stop.

Started as tensorflow_model_server starts (model_servers/server.cc Server::BuildAndStart): the
first config is applied BEFORE any port listens (ServerCore::Create), and a refused or failed
first config fails the start; then gRPC, then REST. A port of 0 is "off", as TF Serving's flags
say; in-process users (tests) ask for any free port with ANY_FREE_PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
from aiohttp import web

from modelops.serving.batching import Batcher, DirectRunner
from modelops.serving.config import (
    BatchingOptions,
    ConfigError,
    ServedModel,
    VersionPolicy,
    read_model_config,
)
from modelops.serving.errors import ServingError
from modelops.serving.grpc_api import add_services
from modelops.serving.http_api import ApiOptions, build_server
from modelops.serving.inference import Inference
from modelops.serving.labels import LabelOptions
from modelops.serving.metrics import ServingMetrics
from modelops.serving.registry import LoadOptions, ModelRegistry, Runner, ServableVersion, VersionState
from modelops.serving.servable import LoadedModel, Signature, load_version
from modelops.serving.warmup import run_warmup

log = logging.getLogger(__name__)


ANY_FREE_PORT = -1  # ServerSettings port: bind any free port (0 means off, as TF Serving's flags)


class StartupError(Exception):
    """The server cannot start: TF Serving's "Failed to start server. Error: ..." (main.cc)."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    rest_port: int = 0  # 0: no REST API (TF Serving's --rest_api_port default); ANY_FREE_PORT
    grpc_port: int | None = None  # None or 0: no gRPC API (embedded use); ANY_FREE_PORT
    grpc_options: tuple[tuple[str, int | str], ...] = ()  # --grpc_channel_arguments
    model_config_file: str | None = None
    model_config_poll_seconds: float = 0.0  # 0: read once, as TF Serving
    model_name: str = "default"
    model_base_path: str | None = None
    file_system_poll_seconds: float = 1.0  # every model looks for new/removed version directories
    metrics_path: str | None = None
    batching: BatchingOptions | None = None
    timeout_seconds: float = 30.0
    max_body_bytes: int = 16 * 1024 * 1024
    # TF Serving's --enable_signature_method_name_check (default false, model_servers/main.cc):
    # Predict / Classify / Regress then insist on the signature's method_name
    enable_signature_method_name_check: bool = False
    rest_api_enable_cors_support: bool = False  # TF Serving's flag: CORS headers on every REST answer
    labels: LabelOptions = field(default_factory=LabelOptions)  # --allow_version_labels_for_unavailable_models
    loads: LoadOptions = field(default_factory=LoadOptions)  # --max_num_load_retries, --load_retry_interval_micros
    enable_model_warmup: bool = True  # --enable_model_warmup (TF Serving's default: true)
    warmup_iterations: int = 1  # --num_request_iterations_for_warmup (0 = 1)


class ModelServer:
    """One running server; `start()` returns once the port listens (models load in background)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.metrics = ServingMetrics()
        threads = settings.batching.num_batch_threads if settings.batching else (os.cpu_count() or 1)
        self._compute = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="serve-compute")
        self._loads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="serve-load")
        self.registry = ModelRegistry(self._make_runner, self._loads, loader=self._load,
                                      on_state=self._record_state, label_options=settings.labels,
                                      load_options=settings.loads)
        self.inference = Inference(self.registry, self.metrics, settings.timeout_seconds,
                                   settings.enable_signature_method_name_check)
        self._runner: web.ServerRunner | None = None
        self._grpc: grpc.aio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.port: int | None = None
        self.grpc_port: int | None = None

    def read_models(self) -> list[ServedModel] | None:
        """The models to serve now, from the config file or the single-model flags. None: nothing to
        apply (a file with no config set; or embedded use, the caller calls `registry.apply`)."""
        settings = self.settings
        if settings.model_config_file:
            try:
                with open(settings.model_config_file, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise ConfigError(f"--model_config_file {settings.model_config_file}: {exc.strerror}") from exc
            return read_model_config(text, self.registry.model_names())
        if settings.model_base_path is None:
            return None
        # main/server.cc BuildSingleModelConfig: one model, platform tensorflow, default (latest) policy
        return [ServedModel(settings.model_name, settings.model_base_path, (), {}, VersionPolicy("latest", 1))]

    async def start(self) -> int | None:
        """Load the first config, then listen (gRPC, then REST); returns the REST port (None: off).
        Raises StartupError when TF Serving would exit at start."""
        try:
            models = self.read_models()
            if models is not None:
                await self.registry.reload(models)
        except (ConfigError, ServingError) as exc:
            await self.registry.close()
            raise StartupError(str(exc)) from exc
        if self.settings.grpc_port:
            await self._start_grpc()
        rest_port = self.settings.rest_port
        if rest_port > 0 and rest_port == self.settings.grpc_port:
            log.error("server_options.http_port cannot be same as grpc_port. Please use a different port "
                      "for HTTP/REST API. Skipped exporting HTTP/REST API.")
        elif rest_port:
            options = ApiOptions(self.settings.max_body_bytes, self.settings.timeout_seconds,
                                 self.settings.metrics_path, self.settings.rest_api_enable_cors_support)
            self._runner = web.ServerRunner(build_server(self.inference, options))
            await self._runner.setup()
            listener = socket.create_server((self.settings.host, max(rest_port, 0)), backlog=1024)
            self.port = listener.getsockname()[1]
            await web.SockSite(self._runner, listener).start()
        loop = asyncio.get_running_loop()
        if self.settings.model_config_file and self.settings.model_config_poll_seconds > 0:
            self._tasks.append(loop.create_task(self._every(self.settings.model_config_poll_seconds, self.reload)))
        if self.settings.file_system_poll_seconds > 0:  # every model, however it was configured
            self._tasks.append(loop.create_task(self._every(self.settings.file_system_poll_seconds,
                                                            self.registry.refresh)))
        return self.port

    async def _start_grpc(self) -> None:
        # TF Serving accepts messages up to 2 GiB; --grpc_channel_arguments may lower it
        # SO_REUSEPORT off: a second server must fail to bind, not silently share the port
        options = {"grpc.max_receive_message_length": 2**31 - 1, "grpc.max_send_message_length": 2**31 - 1,
                   "grpc.so_reuseport": 0, **dict(self.settings.grpc_options)}
        self._grpc = grpc.aio.server(options=list(options.items()))
        add_services(self._grpc, self.inference, self.apply_models)
        address = f"{self.settings.host}:{max(self.settings.grpc_port or 0, 0)}"
        try:
            port = self._grpc.add_insecure_port(address)
        except RuntimeError as exc:
            raise OSError(f"cannot listen for gRPC on {address}: {exc}") from exc
        if port == 0:
            raise OSError(f"cannot listen for gRPC on {address}")
        self.grpc_port = port
        await self._grpc.start()

    async def apply_models(self, models: list[ServedModel]) -> None:
        """A config from ModelService/HandleReloadConfigRequest (ServerCore::ReloadConfig)."""
        await self.registry.reload(models)

    async def wait_until_settled(self) -> None:
        """Wait until no load or unload is in flight (tests; the status API shows it too)."""
        await self.registry.settle()

    async def reload(self) -> None:
        """Server::PollFilesystemAndReloadConfig: re-read and re-apply the file on every poll; a file
        that does not parse, or a config ReloadConfig refuses, is logged and the current one serves."""
        try:
            models = self.read_models()
        except ConfigError as exc:
            log.error("Failed to read ModelServerConfig file: %s", exc)
            return
        if models is None:
            return  # ReloadConfig: "Taking no action for empty config."
        try:
            await self.registry.reload(models)
        except ServingError as exc:
            log.error("PollFilesystemAndReloadConfig failed to ReloadConfig: %s", exc.message)

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

    @staticmethod
    async def _every(interval: float, action) -> None:
        while True:
            await asyncio.sleep(interval)
            await action()

    def _load(self, path: str, version: int) -> LoadedModel:
        """Load a version, then replay its warm-up requests before it may become AVAILABLE."""
        model = self._load_observed(path, version)
        if self.settings.enable_model_warmup:
            run_warmup(model, self.settings.warmup_iterations)
        return model

    def _make_runner(self, model: str, version: int, signature: Signature) -> Runner:
        if self.settings.batching is None:
            return DirectRunner(signature.run, self._compute)
        on_batch, on_queue_depth, on_dequeue = self.metrics.batch_observer(model, version)
        return Batcher(signature.run, self.settings.batching, self._compute, on_batch, on_queue_depth, on_dequeue)

    def _load_observed(self, path: str, version: int) -> LoadedModel:
        """Load the version directory `path` and count the attempt in TF's SavedModel-loader metrics."""
        started = time.perf_counter()
        try:
            model = load_version(path, version)
        except Exception:
            self.metrics.observe_load(path, False, time.perf_counter() - started)
            raise
        self.metrics.observe_load(model.path, True, time.perf_counter() - started)
        return model

    def _record_state(self, servable: ServableVersion) -> None:
        if servable.state is VersionState.END and servable.model is None and servable.error_code == "OK":
            self.metrics.forget_version(servable.model_name, servable.version)
        else:
            available = servable.state is VersionState.AVAILABLE
            self.metrics.set_available(servable.model_name, servable.version, available)
