"""Admission: the real API server rejects each invalid ModelDeployment with the field and the message
`modelops validate` prints for it, accepts every sample, and enforces the fields fixed once trained."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from support.admission_cases import CASES, TRANSITIONS, base_document
from support.controlplane import REPO_ROOT, ControlPlane
from support.kuberest import MERGE, ApiError
from support.kubetest import new_namespace

from modelops.api.admission_policy import DENIED
from modelops.api.validation import transition_errors
from modelops.cli import main

pytestmark = pytest.mark.cluster
MDEP = "/apis/modelops.dev/v1alpha1/namespaces/{ns}/modeldeployments"
# How the API server words a failed CEL rule in a Status cause: the type of the value the rule sits on
# ("object"; "" for an int-or-string value), then the message.
CEL_PREFIX = re.compile(r'^Invalid value: "[a-z]*": ')


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> str:
    return new_namespace(control_plane.rest, "admission")


def _rejection(control_plane: ControlPlane, path: str, body: dict, method: str = "POST") -> list[tuple[str, str]]:
    """(field, message) of every cause the API server gives for refusing `body`."""
    with pytest.raises(ApiError) as refused:
        if method == "POST":
            control_plane.rest.post(path, body)
        else:
            control_plane.rest.patch(path, body, content_type=MERGE)
    assert refused.value.status == 422, refused.value
    if DENIED in refused.value.body["message"]:  # the admission policy: no causes, the field leads its message
        return [tuple(refused.value.body["message"].split(DENIED, 1)[1].split(": ", 1))]  # type: ignore[list-item]
    causes = refused.value.body["details"]["causes"]
    return [(c["field"], CEL_PREFIX.sub("", c["message"])) for c in causes]


def _validate_cli(tmp_path: Path, doc: dict, capsys: pytest.CaptureFixture[str]) -> list[str]:
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(doc))
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    lines = [line.strip() for line in err.splitlines()[1:]]  # the first line names the file
    assert code == (1 if lines else 0), err
    return lines


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_each_rule_is_enforced_at_admission_and_by_validate(
        case, control_plane: ControlPlane, namespace: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = case.document(f"bad-{CASES.index(case)}", namespace)
    assert _validate_cli(tmp_path, doc, capsys) == [f"{case.field}: {case.message}"]
    causes = _rejection(control_plane, MDEP.format(ns=namespace), doc)
    assert causes == [(case.api_field, case.message)]


def test_every_sample_and_example_is_admitted(control_plane: ControlPlane, namespace: str) -> None:
    documents = [*(REPO_ROOT / "manifests" / "samples").glob("*.yaml"), *(REPO_ROOT / "examples").glob("*/*.yaml")]
    assert len(documents) >= 6
    for index, sample in enumerate(sorted(documents)):
        doc = yaml.safe_load(sample.read_text())
        doc["metadata"] = {"name": f"sample-{index}", "namespace": namespace}
        created = control_plane.rest.post(MDEP.format(ns=namespace), doc)
        assert created["spec"]["serving"]["autoscaling"]["enabled"] is False  # defaults applied by the server


@pytest.mark.parametrize(("rule", "path", "value", "field", "message"), TRANSITIONS, ids=[t[0] for t in TRANSITIONS])
def test_fields_fixed_once_versions_exist(rule: str, path: str, value: str, field: str, message: str,
                                          control_plane: ControlPlane, namespace: str) -> None:
    rest = control_plane.rest
    name = f"fixed-{rule[:4]}"
    doc = base_document()
    doc["metadata"] = {"name": name, "namespace": namespace}
    doc["spec"]["validation"]["gates"] = [{"metric": "loss", "max": 1.0}]  # valid for both tasks
    doc["spec"]["monitoring"]["degradation"] = [{"metric": "loss", "maxDrop": 0.1}]
    item = f"{MDEP.format(ns=namespace)}/{name}"
    created = rest.post(MDEP.format(ns=namespace), doc)
    section, key = path.split(".")[1], path.split(".")[-1]
    edit = {"spec": {section: value} if section == key else {section: {key: value}}}

    # Before any version exists the field may still change (and change back).
    rest.patch(item, edit, content_type=MERGE)
    original = created["spec"][section] if section == key else {key: created["spec"][section][key]}
    rest.patch(item, {"spec": {section: original}}, content_type=MERGE)

    # A version refused or failed before it was trained has no files: the field may still change (#26).
    failed = {"version": 1, "state": "Failed", "reason": "JobRejected"}
    rest.patch(f"{item}/status", {"status": {"latestVersion": 1, "versions": [failed]}}, content_type=MERGE)
    rest.patch(item, edit, content_type=MERGE)
    rest.patch(item, {"spec": {section: original}}, content_type=MERGE)

    trained = {"version": 2, "state": "Trained", "trainedAt": "2026-01-01T00:00:00Z"}
    rest.patch(f"{item}/status", {"status": {"latestVersion": 2, "versions": [failed, trained]}}, content_type=MERGE)
    assert _rejection(control_plane, item, edit, method="PATCH") == [(field, message)]

    stored = rest.get(item)
    changed = copy.deepcopy(stored)
    if section == key:
        changed["spec"][section] = value
    else:
        changed["spec"][section][key] = value
    assert transition_errors(changed, stored) == [f"{field}: {message}"]
    assert transition_errors(stored, stored) == []
