"""--enable_model_warmup (default true): assets.extra/tf_serving_warmup_requests replayed at load,
before the version is AVAILABLE (servables/tensorflow/saved_model_warmup_util.cc,
saved_model_warmup_test.cc). The stateful counter model shows how many requests were replayed."""

from __future__ import annotations

import numpy as np
import pytest

from modelops.serving.config import ServedModel, render_model_config
from modelops.serving.registry import LoadOptions
from modelops.serving.server import ANY_FREE_PORT, ModelServer, ServerSettings, StartupError

from ..conftest import running_server
from ..counter_model import save_counter
from .support import predict_log, write_warmup


def _counter(tmp_path, records: list[bytes] | None) -> str:
    base = tmp_path / "counter"
    version = save_counter(str(base / "1"))
    if records is not None:
        write_warmup(version, records)
    return str(base)


def _count(server) -> float:
    servable = server.registry.resolve("counter")
    return float(servable.model.signature("get_counter").run({})["output"])


@pytest.mark.parametrize(("enabled", "iterations", "expected"), [(True, 1, 3.0), (True, 2, 6.0), (False, 1, 0.0)])
async def test_warmup_records_run_before_the_version_is_available(tmp_path, enabled, iterations, expected) -> None:
    """saved_model_warmup_test.cc (predict logs; num_request_iterations): each record runs
    `iterations` times at load; with the flag off nothing runs."""
    base = _counter(tmp_path, [predict_log("incr_counter", {}), predict_log("incr_counter_by", {
        "delta": np.float32(2.0)})])
    async with running_server(enable_model_warmup=enabled, warmup_iterations=iterations) as (server, _, _):
        await server.registry.apply([ServedModel("counter", base, (1,))])
        assert _count(server) == expected


async def test_no_warmup_file_is_fine_and_a_bad_one_fails_the_load(tmp_path) -> None:
    """RunSavedModelWarmup: no file is OK; a file that is not TFRecord is DATA_LOSS "Please verify your
    warmup data is in TFRecord format", a failing request fails too, and the version ends END; on the
    first config that is a failed start."""
    async with running_server() as (server, _, _):
        await server.registry.apply([ServedModel("counter", _counter(tmp_path / "a", None), (1,))])
        assert _count(server) == 0.0
        garbage = tmp_path / "b"
        base = _counter(garbage, [])
        (garbage / "counter" / "1" / "assets.extra" / "tf_serving_warmup_requests").write_bytes(b"\x01not a record")
        failing = _counter(tmp_path / "c", [predict_log("no_such_signature", {})])
        await server.registry.apply([ServedModel("bad", base, (1,)), ServedModel("failing", failing, (1,))])
        (bad,) = server.registry.status("bad")
        assert (str(bad.state), bad.error_code) == ("END", "DATA_LOSS")
        assert "Please verify your warmup data is in TFRecord format" in bad.error_message
        (failed,) = server.registry.status("failing")
        assert str(failed.state) == "END" and "no_such_signature" in failed.error_message
    config = tmp_path / "models.config"
    config.write_text(render_model_config([ServedModel("bad", base, (1,))]))
    no_retries = LoadOptions(max_num_load_retries=0)
    server = ModelServer(ServerSettings(rest_port=ANY_FREE_PORT, model_config_file=str(config), loads=no_retries))
    try:
        # the first config's wait (load_servables_fast.cc; server_core_test.cc ErroringModel)
        with pytest.raises(StartupError, match=r"1 servable\(s\) did not become available: \{\{name: bad version: 1\}"):
            await server.start()
    finally:
        await server.stop()
