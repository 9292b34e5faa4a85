"""The local runtime's model server moves a label as TF Serving requires: a real `modelops serve`
refuses to move an existing label to a version that is not AVAILABLE (server_core.cc
UpdateModelVersionLabelMap, even with --allow_version_labels_for_unavailable_models), so
ServingProcess first serves the new version next to the old one and relabels once it is loaded."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

from serving.models import save_scaler

from modelops.local.serving_process import ServingProcess
from modelops.local.state_store import StateStore
from modelops.serving.config import parse_model_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _predict_by_label(process: ServingProcess, label: str) -> float | None:
    request = urllib.request.Request(f"{process.model_url}/labels/{label}:predict",
                                     data=json.dumps({"instances": [[1.0, 1.0, 1.0]]}).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)["predictions"][0][0]
    except OSError:
        return None


def _until(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


def test_a_new_pin_is_served_first_and_labelled_once_available(tmp_path) -> None:
    store = StateStore(tmp_path, "default", "churn")
    for version in (1, 2):
        save_scaler(str(store.versions_dir), version)
    process = ServingProcess(store, _free_port())
    try:
        process.apply(1)  # a fresh server: every label is new, accepted with the pods' flag
        _until(lambda: process.ready_versions() == {1})
        assert _predict_by_label(process, "stable") == 1.0
        process.apply(2)
        (staged,) = parse_model_config(process.model_config.read_text())
        assert (staged.versions, dict(staged.labels)) == ((1, 2), {"stable": 1})  # label held on 1
        _until(lambda: process.ready_versions() == {2})  # relabelled, then 1 unloaded
        (final,) = parse_model_config(process.model_config.read_text())
        assert (final.versions, dict(final.labels)) == ((2,), {"stable": 2})
        _until(lambda: _predict_by_label(process, "stable") == 2.0)
    finally:
        process.stop()
