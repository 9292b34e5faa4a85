"""Version labels as ServerCore::UpdateModelVersionLabelMap (model_servers/server_core.cc) decides
them, before anything loads, on the first config too; a refused first config fails the start
(main.cc "Failed to start server"), a refused polled config keeps the old one (server.cc
PollFilesystemAndReloadConfig)."""

from __future__ import annotations

import asyncio
import os

import grpc
import pytest
from tensorflow_serving.apis import model_service_pb2_grpc

from modelops.serving.config import ServedModel, render_model_config
from modelops.serving.errors import ServingError
from modelops.serving.labels import LabelOptions
from modelops.serving.server import ANY_FREE_PORT, ModelServer, ServerSettings, StartupError

from ..conftest import running_server
from ..models import copy_version
from .support import reload_request, states, until_states

STRICT = LabelOptions()
ALLOW = LabelOptions(allow_version_labels_for_unavailable_models=True)
UNAVAILABLE = "Request to assign label to version {v} of model {m}, which is not currently available for inference"


async def _start_fails(**settings) -> str:
    server = ModelServer(ServerSettings(rest_port=ANY_FREE_PORT, grpc_port=ANY_FREE_PORT, **settings))
    try:
        with pytest.raises(StartupError) as refused:
            await server.start()
        assert server.port is None and server.grpc_port is None  # nothing ever listened
        return str(refused.value)
    finally:
        await server.stop()


def _operator_config(tmp_path, base: str, version: int) -> str:
    path = tmp_path / "models.config"
    path.write_text(render_model_config([ServedModel("churn", base, (version,), {"stable": version})]))
    return str(path)


async def test_operator_rendered_config_starts_only_with_the_allow_flag(model_bases, tmp_path) -> None:
    """The operator's pods start tensorflow_model_server with `specific { versions: N }` and
    `stable: N` while nothing is loaded yet: ServerCore::Create's first ReloadConfig refuses the
    label unless --allow_version_labels_for_unavailable_models (server_core_test.cc
    AssignLabelToUnavailableVersion / ...Allowed; main.cc exits on the error)."""
    config = _operator_config(tmp_path, model_bases["scaler"], 2)
    message = await _start_fails(model_config_file=config, labels=STRICT)
    assert message == UNAVAILABLE.format(v=2, m="churn")
    async with running_server(model_config_file=config, labels=ALLOW) as (server, _, session):
        assert states(server, "churn") == {2: "AVAILABLE"}
        async with session.post("/v1/models/churn/labels/stable:predict", json={"instances": [[1, 1, 1]]}) as reply:
            assert (reply.status, (await reply.json())["predictions"]) == (200, [[2.0, 2.0, 2.0]])


def test_the_cli_exits_with_tf_servings_error_for_a_refused_first_config(model_bases, tmp_path, capsys) -> None:
    """main.cc: "Failed to start server. Error: ..." and -1; with the flag the same config loads."""
    from modelops.serving.cli import main

    config = _operator_config(tmp_path, model_bases["scaler"], 1)
    assert main([f"--model_config_file={config}", "--port=65000", "--rest_api_port=65001"]) == 255
    assert f"Failed to start server. Error: {UNAVAILABLE.format(v=1, m='churn')}" in capsys.readouterr().err


async def test_new_label_on_an_unavailable_version(model_bases) -> None:
    """server_core_test.cc AssignLabelToUnavailableVersion (refused) and ...Allowed (the flag)."""
    base = model_bases["scaler"]
    for options, allowed in ((STRICT, False), (ALLOW, True)):
        async with running_server(labels=options) as (server, _, _):
            await server.registry.apply([ServedModel("scaler", base, (1, 2))])
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
                models = model_service_pb2_grpc.ModelServiceStub(channel)
                request = reload_request([ServedModel("scaler", base, (1, 2), {"stable": 1})])
                request.config.model_config_list.config[0].version_labels["nice try"] = 7
                if allowed:
                    assert (await models.HandleReloadConfigRequest(request, timeout=30)).status.error_code == 0
                    assert server.registry.labels("scaler") == {"nice try": 7, "stable": 1}
                else:
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await models.HandleReloadConfigRequest(request, timeout=30)
                    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                    assert refused.value.details() == UNAVAILABLE.format(v=7, m="scaler")
                    assert server.registry.labels("scaler") == {}  # nothing changed


async def test_existing_label_never_moves_to_an_unavailable_version(model_bases) -> None:
    """server_core_test.cc AssignExistingLabelToUnavailableVersionDisallowed (even with the flag)
    and ...Allowed (force_allow_any_version_labels_for_unavailable_models, a ServerCore option)."""
    base = model_bases["scaler"]
    force = LabelOptions(force_allow_any_version_labels_for_unavailable_models=True)
    for options, allowed in ((ALLOW, False), (force, True)):
        async with running_server(labels=options) as (server, _, _):
            await server.registry.apply([ServedModel("scaler", base, (1, 2), {"A": 1, "B": 2})])
            moved = [ServedModel("scaler", base, (1, 2, 3), {"A": 3, "B": 2})]
            if allowed:
                await server.registry.reload(moved)
                assert server.registry.labels("scaler") == {"A": 3, "B": 2}
            else:
                with pytest.raises(ServingError, match="which is not currently available") as refused:
                    await server.registry.reload(moved)
                assert refused.value.code == "FAILED_PRECONDITION"
                assert server.registry.labels("scaler") == {"A": 1, "B": 2}
                assert 3 not in states(server, "scaler")  # refused before anything loads


async def test_labels_can_be_disallowed(model_bases) -> None:
    """server_core_test.cc VersionLabelsNotAllowed (ServerCore option allow_version_labels=false)."""
    async with running_server(labels=LabelOptions(allow_version_labels=False)) as (server, _, _):
        await server.registry.reload([ServedModel("scaler", model_bases["scaler"], (1,))])
        with pytest.raises(ServingError, match="Model version labels are not currently allowed by the server"):
            await server.registry.reload([ServedModel("scaler", model_bases["scaler"], (1,), {"A": 1})])


async def test_refused_polled_config_keeps_the_old_one_and_loads_nothing(model_bases, write_config, tmp_path) -> None:
    """server.cc PollFilesystemAndReloadConfig logs the refusal; the label moves only through TF
    Serving's two steps (serving_config.md: add the version, wait until it is AVAILABLE, relabel)."""
    base = str(tmp_path / "m")
    os.makedirs(base)
    for version in (1, 2):
        copy_version(model_bases["scaler"], version, base, version)
    config = write_config([ServedModel("m", base, (1,), {"stable": 1})])
    async with running_server(model_config_file=config, model_config_poll_seconds=0.05) as (server, _, _):
        write_config([ServedModel("m", base, (2,), {"stable": 2})])  # moves an existing label: refused
        await asyncio.sleep(0.5)
        assert states(server, "m") == {1: "AVAILABLE"} and server.registry.labels("m") == {"stable": 1}
        write_config([ServedModel("m", base, (1, 2), {"stable": 1})])
        await until_states(server, "m", {1: "AVAILABLE", 2: "AVAILABLE"})
        write_config([ServedModel("m", base, (2,), {"stable": 2})])
        await until_states(server, "m", {1: "END", 2: "AVAILABLE"})
        assert server.registry.labels("m") == {"stable": 2}
