"""ModelService/HandleReloadConfigRequest as model_service_impl.cc and ServerCore::ReloadConfig
(server_core.cc) answer it: only a model_config_list is accepted, an invalid one is refused with
nothing changed, an empty list unloads everything; a config file with no config set is no action."""

from __future__ import annotations

import grpc
import pytest
from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc

from modelops.serving.config import ServedModel

from ..conftest import running_server
from .support import reload_request, states, until_states

NOT_SUPPORTED = ("ServerModelConfig type not supported by HandleReloadConfigRequest. "
                 "Only ModelConfigList is currently supported")


async def _refused(models, request) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await models.HandleReloadConfigRequest(request, timeout=30)
    return refused.value


async def test_unset_or_custom_config_is_invalid_argument_and_changes_nothing(model_bases) -> None:
    """model_service_impl.cc HandleReloadConfigRequest: the switch accepts only kModelConfigList."""
    async with running_server() as (server, _, _):
        await server.registry.apply([ServedModel("m", model_bases["scaler"], (1,), {"stable": 1})])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            models = model_service_pb2_grpc.ModelServiceStub(channel)
            custom = model_management_pb2.ReloadConfigRequest()
            custom.config.custom_model_config.type_url = "type.googleapis.com/x"
            for request in (model_management_pb2.ReloadConfigRequest(), custom):
                error = await _refused(models, request)
                assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, NOT_SUPPORTED)
        assert states(server, "m") == {1: "AVAILABLE"} and server.registry.labels("m") == {"stable": 1}


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        (lambda c: c.config.add(name="m", base_path="/x", model_platform="tensorflow"), "INVALID_ARGUMENT",
         "Illegal to list model m multiple times in config list"),
        (lambda c: setattr(c.config[0], "base_path", "relative/m"), "INVALID_ARGUMENT",
         "Expected model m to have an absolute path or URI; got base_path()=relative/m"),
        (lambda c: setattr(c.config[0], "model_platform", ""), "INVALID_ARGUMENT",
         "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
         "ModelServerConfig::model_platform, model name is m"),
        (lambda c: setattr(c.config[0], "model_platform", "pytorch"), "INVALID_ARGUMENT",
         "Illegal to change a model's platform. For model m platform was tensorflow and new platform "
         "requested is pytorch"),
        (lambda c: c.config.add(name="new", base_path="/n", model_platform="pytorch"), "FAILED_PRECONDITION",
         "PlatformConfigMap has no entry for platform pytorch"),
    ],
)
async def test_invalid_configs_are_refused_with_nothing_changed(model_bases, mutate, code, message) -> None:
    """server_core.cc ValidateModelConfigList, GetPlatform, ValidateNoModelsChangePlatforms and
    CreateAdapter (server_core_test.cc IllegalToChangeModelPlatform, UnknownModelPlatform)."""
    async with running_server() as (server, _, _):
        await server.registry.apply([ServedModel("m", model_bases["scaler"], (1,), {"stable": 1})])
        request = reload_request([ServedModel("m", model_bases["scaler"], (2,))])
        mutate(request.config.model_config_list)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            error = await _refused(model_service_pb2_grpc.ModelServiceStub(channel), request)
        assert (error.code(), error.details()) == (getattr(grpc.StatusCode, code), message)
        assert states(server, "m") == {1: "AVAILABLE"} and server.registry.labels("m") == {"stable": 1}


async def test_an_empty_model_list_unloads_every_model(model_bases) -> None:
    """A set but empty model_config_list is a config: every model's versions are un-aspired and
    unloaded (they stay in the status as END)."""
    async with running_server() as (server, _, _):
        await server.registry.apply([ServedModel("m", model_bases["scaler"], (1,))])
        request = model_management_pb2.ReloadConfigRequest()
        request.config.model_config_list.SetInParent()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            reply = await model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(request)
        assert reply.status.error_code == 0
        await until_states(server, "m", {1: "END"})
        assert server.registry.model_names() == []


async def test_a_config_file_with_no_config_is_no_action(model_bases, tmp_path, write_config) -> None:
    """ServerCore::ReloadConfig "Taking no action for empty config": the server starts with nothing,
    a later real config loads, and an emptied file unloads nothing."""
    config = tmp_path / "models.config"
    config.write_text("")
    async with running_server(model_config_file=str(config), model_config_poll_seconds=0.05) as (server, _, _):
        assert server.registry.model_names() == []
        write_config([ServedModel("m", model_bases["scaler"], (1,))])
        await until_states(server, "m", {1: "AVAILABLE"})
        config.write_text("")
        await until_states(server, "m", {1: "AVAILABLE"})
        assert server.registry.model_names() == ["m"]
