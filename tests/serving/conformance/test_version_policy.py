"""Version policies and version directories as TF Serving's file-system source reads them
(sources/storage_path/file_system_storage_path_source.cc and _test.cc), with
AvailabilityPreservingPolicy (core/availability_preserving_policy.cc) retiring old versions."""

from __future__ import annotations

import asyncio
import os

from modelops.serving.config import ServedModel, VersionPolicy, parse_model_config, render_model_config
from modelops.serving.versions import aspired_versions, parse_version

from ..conftest import running_server
from .support import publish, states, until_states


def _scaler_dir(model_bases, version: int) -> str:
    return os.path.join(model_bases["scaler"], str(version))


def _base(tmp_path, model_bases, children: dict[str, int]) -> str:
    """A base_path whose children (name -> scaler version) are real SavedModels."""
    base = tmp_path / "base"
    base.mkdir()
    for child, version in children.items():
        publish(_scaler_dir(model_bases, version), str(base), child)
    return str(base)


def test_version_names_parse_as_absl_simple_atoi() -> None:
    """ParseVersionNumber is absl::SimpleAtoi: zero padding and a sign parse, anything else is ignored
    (FileSystemStoragePathSourceTest.SpecificVersionsLeadingZeros)."""
    assert [parse_version(n) for n in ("00000123", "17", "+5", "0", "non_numerical_child", "1.5", "", "٣")] == [
        123, 17, 5, 0, None, None, None, None]


def test_latest_all_and_specific_aspire_what_the_source_test_expects(tmp_path, model_bases) -> None:
    """NLatestVersions, DefaultNumLatestVersions (num_versions 0 = 1), SpecificVersionsLeadingZeros
    (`00017` is version 17, a missing specific version is not aspired) and DuplicateVersions (one
    version 1, from one of its directories)."""
    base = tmp_path / "dirs"
    for child in ("non_numerical_child", "42", "33", "30", "21", "00017", "001", "1"):
        (base / child).mkdir(parents=True)
    path = str(base)
    assert list(aspired_versions(ServedModel("m", path, (), {}, VersionPolicy("latest", 3)))) == [30, 33, 42]
    assert list(aspired_versions(ServedModel("m", path, (), {}, VersionPolicy("latest", 1)))) == [42]
    specific = aspired_versions(ServedModel("m", path, (17, 30, 99), {}, VersionPolicy("specific")))
    assert specific == {17: os.path.join(path, "00017"), 30: os.path.join(path, "30")}
    everything = aspired_versions(ServedModel("m", path, (), {}, VersionPolicy("all")))
    assert sorted(everything) == [1, 17, 21, 30, 33, 42] and everything[1] == os.path.join(path, "1")
    (text,) = [render_model_config([ServedModel("m", path, (), {}, VersionPolicy("latest", 0))])]
    assert parse_model_config(text)[0].version_policy == VersionPolicy("latest", 1)


def test_operator_form_still_renders_the_same_specific_config() -> None:
    """ServedModel(name, base_path, versions, labels) as the operator builds it renders byte for byte
    what it always did (a pinned `specific` policy)."""
    text = render_model_config([ServedModel("churn", "/models/churn", (3, 1), {"stable": 3})])
    assert text == ('model_config_list {\n  config {\n    name: "churn"\n    base_path: "/models/churn"\n'
                    '    model_platform: "tensorflow"\n    model_version_policy {\n      specific {\n'
                    '        versions: 1\n        versions: 3\n      }\n    }\n'
                    '    version_labels {\n      key: "stable"\n      value: 3\n    }\n  }\n}\n')


async def test_latest_n_follows_new_directories_on_the_file_system_poll(tmp_path, model_bases) -> None:
    """FileSystemStoragePathSourceTest.FilesAppearAfterStartup / NLatestVersions: a new directory is
    picked up within --file_system_poll_wait_seconds; the oldest leaves once the new one is AVAILABLE
    and stays in the status as END; a zero-padded directory serves under its number."""
    base = _base(tmp_path, model_bases, {"1": 1, "2": 2})
    model = ServedModel("m", base, (), {}, VersionPolicy("latest", 2))
    async with running_server(file_system_poll_seconds=0.05) as (server, _, session):
        await server.registry.reload([model])
        await until_states(server, "m", {1: "AVAILABLE", 2: "AVAILABLE"})
        publish(_scaler_dir(model_bases, 3), base, "00000003")
        await until_states(server, "m", {1: "END", 2: "AVAILABLE", 3: "AVAILABLE"})
        async with session.post("/v1/models/m/versions/3:predict", json={"instances": [[1, 1, 1]]}) as reply:
            assert (await reply.json())["predictions"] == [[3.0, 3.0, 3.0]]


async def test_all_policy_serves_every_version_and_policy_changes_on_reload(tmp_path, model_bases) -> None:
    """`all {}` aspires every numbered child (AspireAllVersions); a reload to `specific` keeps only
    the listed one (FileSystemStoragePathSourceTest.ChangeVersionPolicy); back to the default latest."""
    base = _base(tmp_path, model_bases, {"1": 1, "2": 2})
    async with running_server(file_system_poll_seconds=0.05) as (server, _, _):
        await server.registry.reload([ServedModel("m", base, (), {}, VersionPolicy("all"))])
        await until_states(server, "m", {1: "AVAILABLE", 2: "AVAILABLE"})
        publish(_scaler_dir(model_bases, 3), base, "3")
        await until_states(server, "m", {1: "AVAILABLE", 2: "AVAILABLE", 3: "AVAILABLE"})
        await server.registry.reload([ServedModel("m", base, (1,), {}, VersionPolicy("specific"))])
        await until_states(server, "m", {1: "AVAILABLE", 2: "END", 3: "END"})
        await server.registry.reload([ServedModel("m", base, (), {}, VersionPolicy("latest", 1))])
        await until_states(server, "m", {1: "END", 2: "END", 3: "AVAILABLE"})  # 3 reloads, 1 retires


async def test_specific_version_that_fails_keeps_the_previous_one_serving(tmp_path, model_bases) -> None:
    """AvailabilityPreservingPolicy: an un-aspired version is unloaded only once an aspired one is
    AVAILABLE, so a pin to a version that cannot load leaves the old one serving."""
    base = _base(tmp_path, model_bases, {"1": 1})
    os.makedirs(os.path.join(base, "2"))  # no saved_model.pb
    async with running_server() as (server, _, _):
        await server.registry.reload([ServedModel("m", base, (1,))])
        await server.registry.reload([ServedModel("m", base, (2,))])
        await until_states(server, "m", {1: "AVAILABLE", 2: "END"})
        assert server.registry.resolve("m").version == 1
        assert "saved_model.pb" in server.registry.status("m", 2)[0].error_message
        assert states(server, "m") == {1: "AVAILABLE", 2: "END"}


async def test_a_base_path_that_disappears_keeps_what_is_served(tmp_path, model_bases) -> None:
    """PollFileSystemForServable: "Could not find base path ..." is an error of that poll, which then
    aspires nothing new — the served versions stay (FileSystemStoragePathSourceTest's error cases);
    once it is back, the directory is read again."""
    base = _base(tmp_path, model_bases, {"1": 1})
    async with running_server(file_system_poll_seconds=0.05) as (server, _, _):
        await server.registry.reload([ServedModel("m", base, (), {}, VersionPolicy("latest", 1))])
        os.rename(base, base + ".moved")
        await asyncio.sleep(0.3)
        assert states(server, "m") == {1: "AVAILABLE"}
        publish(_scaler_dir(model_bases, 2), base + ".moved", "2")
        os.rename(base + ".moved", base)
        await until_states(server, "m", {1: "END", 2: "AVAILABLE"})
