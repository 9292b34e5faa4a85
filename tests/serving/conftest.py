"""Shared fixtures: real SavedModels (built once per session) and in-process servers on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from modelops.serving.config import BatchingOptions, ServedModel, render_model_config
from modelops.serving.labels import LabelOptions
from modelops.serving.registry import LoadOptions
from modelops.serving.server import ANY_FREE_PORT, ModelServer, ServerSettings

from .models import build_model_root
from .tf_serving_models import build_tf_serving_models


@pytest.fixture(scope="session")
def model_bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_model_root(str(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="session")
def tf_serving_bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """TF Serving's own test models (half_plus_two TF1 / TF2 / 2 versions), built once."""
    return build_tf_serving_models(str(tmp_path_factory.mktemp("tf_serving_models")))


@pytest.fixture
def write_config(tmp_path) -> Callable[[list[ServedModel]], str]:
    path = tmp_path / "models.config"

    def write(models: list[ServedModel]) -> str:
        staging = tmp_path / "models.config.new"
        staging.write_text(render_model_config(models))
        staging.replace(path)  # atomic, like a ConfigMap update
        return str(path)

    return write


@contextlib.asynccontextmanager
async def running_server(**settings) -> AsyncIterator[tuple[ModelServer, str, aiohttp.ClientSession]]:
    """A ModelServer on 127.0.0.1 (REST and gRPC on free ports) with its initial models loaded.
    Defaults as the operator's pods run: --allow_version_labels_for_unavailable_models; no load
    retries (TF Serving retries a failed load 5 times a minute apart)."""
    defaults = {"host": "127.0.0.1", "rest_port": ANY_FREE_PORT, "grpc_port": ANY_FREE_PORT,
                "labels": LabelOptions(allow_version_labels_for_unavailable_models=True),
                "loads": LoadOptions(max_num_load_retries=0, load_retry_interval_seconds=0.0)}
    server = ModelServer(ServerSettings(**{**defaults, **settings}))
    await server.start()
    try:
        await server.wait_until_settled()
        async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as session:
            yield server, f"http://127.0.0.1:{server.port}", session
    finally:
        await server.stop()


def standard_models(bases: dict[str, str]) -> list[ServedModel]:
    return [
        ServedModel("scaler", bases["scaler"], (1, 2, 3, 9), {"stable": 2, "canary": 3, "broken": 9}),
        ServedModel("multi_output", bases["multi_output"], (1,)),
        ServedModel("multi_input", bases["multi_input"], (1,)),
        ServedModel("words", bases["words"], (1,)),
    ]


SMALL_BATCHING = BatchingOptions(
    max_batch_size=8, batch_timeout_micros=2000, max_enqueued_batches=4, num_batch_threads=2
)
