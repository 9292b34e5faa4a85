"""Pytest fixtures for the real control plane and the pod runner (registered in tests/conftest.py).

Both are session-scoped and lazy: nothing starts unless a test asks for `control_plane` or
`pod_runner`, and such tests are marked `cluster` automatically so `-m "not cluster"` skips them.
When a test using the pod runner fails, the pods' logs are attached to its report.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from support.controlplane import REPO_ROOT, ControlPlane
from support.kuberest import ApiError
from support.podrunner.runner import PodRunner

CRD_MANIFEST = REPO_ROOT / "manifests" / "crd.yaml"
POLICY_MANIFEST = REPO_ROOT / "manifests" / "admission-policy.yaml"
CLUSTER_FIXTURES = {"control_plane", "pod_runner"}

_started: dict[str, object] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("cluster"):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """etcd + kube-apiserver (RBAC) + kube-controller-manager on loopback, with manifests/crd.yaml applied."""
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    plane = ControlPlane.start(root=tmp_path_factory.mktemp("controlplane"))
    try:
        if CRD_MANIFEST.exists():
            plane.apply_manifest(CRD_MANIFEST)
        if POLICY_MANIFEST.exists():
            plane.apply_manifest(POLICY_MANIFEST)
            wait_for_policy(plane)
        _started["control_plane"] = plane
        yield plane
    finally:
        _started.pop("control_plane", None)
        plane.stop()


def wait_for_policy(plane: ControlPlane, timeout: float = 30.0) -> None:
    """The API server loads a ValidatingAdmissionPolicy asynchronously: wait until it denies (a dry run)."""
    probe = yaml.safe_load((REPO_ROOT / "manifests" / "samples" / "binary-classification.yaml").read_text())
    probe["metadata"] = {"name": "policy-probe", "namespace": "default"}
    probe["spec"]["training"]["resources"] = {"requests": {"cpu": "lots"}}
    deadline = time.monotonic() + timeout
    while True:
        try:
            plane.rest.request("POST", "/apis/modelops.dev/v1alpha1/namespaces/default/modeldeployments", probe,
                               params={"dryRun": "All"})
        except ApiError as refused:
            if "ValidatingAdmissionPolicy" in str(refused):
                return
        if time.monotonic() > deadline:
            raise TimeoutError("the admission policy never took effect")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def pod_runner(control_plane: ControlPlane) -> Iterator[PodRunner]:
    """The kubelet stand-in: one Ready node, pods as local processes on their own loopback IPs."""
    # Pod IPs differ per session (127.<64..243>.x.y), so parallel test sessions on this machine don't collide.
    # The runner's files live outside /tmp: pods mount an emptyDir at /tmp, which would hide volume and
    # termination-message sources kept under pytest's /tmp directory.
    root = Path(tempfile.mkdtemp(prefix="modelops-podrunner-", dir="/var/tmp"))
    runner = PodRunner(control_plane.server, control_plane.admin_token, str(control_plane.pki.ca_cert),
                       root, ip_prefix=f"127.{64 + os.getpid() % 180}")
    runner.start()
    _started["pod_runner"] = runner
    try:
        yield runner
    finally:
        _started.pop("pod_runner", None)
        runner.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and "pod_runner" in getattr(item, "fixturenames", ()):
        runner = _started.get("pod_runner")
        if isinstance(runner, PodRunner):
            report.sections.append(("pod logs", runner.dump_logs()))
    if report.failed and "control_plane" in getattr(item, "fixturenames", ()):
        plane = _started.get("control_plane")
        if isinstance(plane, ControlPlane):
            tails = "\n".join(f"--- {name} ---\n{text[-1500:]}" for name, text in plane.logs().items())
            report.sections.append(("control plane logs", tails))
