"""Hot reload from the model_config_file: load new versions first, switch, unload old — under load,
with zero failed requests; labels follow only AVAILABLE versions; a broken file changes nothing."""

from __future__ import annotations

import asyncio
import os
import time

from modelops.serving.config import ServedModel

from .conftest import running_server
from .models import copy_version

FEATURES = [1.0, 1.0, 1.0]


async def _served_version(session, path: str) -> tuple[int, float | None]:
    async with session.post(path, json={"instances": [FEATURES]}) as response:
        body = await response.json()
        return response.status, (body["predictions"][0][0] if response.status == 200 else body)


async def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_switching_versions_under_load_fails_no_request(model_bases, write_config, tmp_path) -> None:
    base = model_bases["scaler"]
    config = write_config([ServedModel("scaler", base, (1,), {"stable": 1})])
    async with running_server(model_config_file=config, model_config_poll_seconds=0.1) as (_, _, session):
        failures: list[tuple[str, object]] = []
        answered = [0]
        seen: dict[str, set[float]] = {"stable": set(), "latest": set()}
        stop = asyncio.Event()

        async def client(path: str, key: str) -> None:
            while not stop.is_set():
                status, value = await _served_version(session, path)
                if status != 200:
                    failures.append((path, value))
                else:
                    seen[key].add(value)
                    answered[0] += 1

        clients = [asyncio.ensure_future(client("/v1/models/scaler/labels/stable:predict", "stable"))
                   for _ in range(4)]
        clients += [asyncio.ensure_future(client("/v1/models/scaler:predict", "latest")) for _ in range(4)]

        async def stable_serves(version: float):
            return (await _served_version(session, "/v1/models/scaler/labels/stable:predict")) == (200, version)

        async def states(wanted: dict[str, str]):
            async with session.get("/v1/models/scaler") as response:
                body = await response.json()
            return {e["version"]: e["state"] for e in body["model_version_status"] if e["version"] in wanted} == wanted

        await asyncio.sleep(0.3)
        # TF Serving's label workflow: add the version, wait for it, move the label, drop the old one
        write_config([ServedModel("scaler", base, (1, 2), {"stable": 1})])
        await _wait_for(lambda: states({"2": "AVAILABLE"}))
        write_config([ServedModel("scaler", base, (1, 2), {"stable": 2})])
        await _wait_for(lambda: stable_serves(2.0))
        write_config([ServedModel("scaler", base, (2,), {"stable": 2})])
        await _wait_for(lambda: states({"1": "END"}))
        write_config([ServedModel("scaler", base, (2, 3), {"stable": 2, "canary": 3})])  # add a canary
        await _wait_for(lambda: states({"3": "AVAILABLE"}))
        await asyncio.sleep(0.5)
        write_config([ServedModel("scaler", base, (3,), {"stable": 3})])  # promote the canary
        await _wait_for(lambda: stable_serves(3.0))
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*clients)

        assert failures == []
        assert answered[0] >= 100  # the switches really happened under concurrent traffic
        assert seen["stable"] == {1.0, 2.0, 3.0}
        assert {1.0, 3.0} <= seen["latest"]
        async with session.get("/v1/models/scaler") as response:
            body = await response.json()
        # old ones unloaded, and still reported END (ServableStateMonitor keeps them)
        assert [(e["version"], e["state"]) for e in body["model_version_status"]] == [
            ("3", "AVAILABLE"), ("2", "END"), ("1", "END")]


async def test_label_on_a_version_not_yet_on_disk_serves_once_it_appears(model_bases, write_config, tmp_path) -> None:
    """With --allow_version_labels_for_unavailable_models a first config may label a version that is
    not on disk yet; a `specific` version missing on disk is not aspired (so not in the status) and
    the file-system poll picks it up once it appears (file_system_storage_path_source.cc)."""
    base = str(tmp_path / "fresh")
    os.makedirs(base)
    copy_version(model_bases["scaler"], 1, base, 1)
    config = write_config([ServedModel("fresh", base, (1, 2), {"stable": 2, "canary": 1})])
    async with running_server(model_config_file=config, file_system_poll_seconds=0.1) as (_, _, session):
        async with session.get("/v1/models/fresh/versions/2") as response:
            assert response.status == 404
            assert (await response.json())["error"] == "Could not find version 2 of model fresh"
        status, _ = await _served_version(session, "/v1/models/fresh/labels/stable:predict")
        assert status == 404
        assert (await _served_version(session, "/v1/models/fresh/labels/canary:predict")) == (200, 1.0)

        copy_version(model_bases["scaler"], 2, base, 2)  # the version appears: it is picked up

        async def stable_serves():
            return (await _served_version(session, "/v1/models/fresh/labels/stable:predict")) == (200, 2.0)
        await _wait_for(stable_serves)


async def test_broken_config_file_keeps_the_current_config(model_bases, write_config, tmp_path) -> None:
    config = write_config([ServedModel("scaler", model_bases["scaler"], (2,), {"stable": 2})])
    async with running_server(model_config_file=config, model_config_poll_seconds=0.05) as (_, _, session):
        with open(config, "w") as handle:
            handle.write("model_config_list { config { name: ")
        await asyncio.sleep(0.4)
        assert (await _served_version(session, "/v1/models/scaler/labels/stable:predict")) == (200, 2.0)


async def test_single_model_mode_serves_the_newest_version_directory(model_bases, tmp_path) -> None:
    """--model_base_path serves `latest { num_versions: 1 }`: the highest numbered directory, complete
    or not (file_system_storage_path_source.cc does not look inside). A half-written version fails to
    load and the previous one keeps serving (AvailabilityPreservingPolicy) until a higher one works."""
    base = str(tmp_path / "single")
    os.makedirs(base)
    copy_version(model_bases["scaler"], 1, base, 1)
    async with running_server(model_name="single", model_base_path=base, file_system_poll_seconds=0.1) as (
        server, _, session,
    ):
        assert (await _served_version(session, "/v1/models/single:predict")) == (200, 1.0)
        os.makedirs(os.path.join(base, "5", "variables"))  # a trainer still writing version 5

        async def five_ended():
            return [(s.version, str(s.state)) for s in server.registry.status("single")] == [
                (5, "END"), (1, "AVAILABLE")]
        await _wait_for(five_ended)
        assert (await _served_version(session, "/v1/models/single:predict")) == (200, 1.0)
        copy_version(model_bases["scaler"], 3, base, 6)

        async def newest_served():
            return (await _served_version(session, "/v1/models/single:predict")) == (200, 3.0)
        await _wait_for(newest_served)
        await server.wait_until_settled()
        assert [(s.version, str(s.state)) for s in server.registry.status("single")] == [
            (6, "AVAILABLE"), (5, "END"), (1, "END")]
