"""Least privilege seen from the API server's audit log: the operator's list and watch requests for its
children carry label selectors (the API server filters, not the operator), and every request it makes is
one its RBAC (manifests/rbac.yaml) grants -- a verb the code calls but RBAC lacks fails here first."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from kube.harness import MANIFESTS, OPERATOR_USER, mdep_path, model_deployment
from support.kubetest import new_namespace
from support.processes import wait_until

from modelops.kube.watches import CHILD_WATCHES, selector_text

pytestmark = pytest.mark.cluster
EXPECTED = {plural: selector_text(labels) for (_, _, plural), labels in CHILD_WATCHES.items()}


def _granted() -> set[tuple[str, str, str]]:
    """(apiGroup, resource[/subresource], verb) from the cluster-wide ClusterRole."""
    documents = yaml.safe_load_all((MANIFESTS / "rbac.yaml").read_text())
    role = next(d for d in documents if d and d["kind"] == "ClusterRole")
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def test_child_watches_are_label_selected_and_every_request_is_granted(control_plane, start_operator) -> None:
    rest = control_plane.rest
    namespace = new_namespace(rest, "watches")
    seen_before = len(control_plane.audit_events(OPERATOR_USER))
    start_operator(namespace)
    doc = model_deployment("churn", namespace)
    doc["spec"]["training"]["command"] = ["python", "-c", "import time; time.sleep(300)"]
    rest.post(mdep_path(namespace), doc)
    wait_until(lambda: rest.get(f"/apis/batch/v1/namespaces/{namespace}/jobs")["items"], 60, 0.2, "the training Job")
    time.sleep(2)  # the status patch and the Event after the Job
    # discovery (/api, /apis) has no objectRef: RBAC's nonResourceURLs, granted to every user
    events = [e for e in control_plane.audit_events(OPERATOR_USER)[seen_before:] if e.get("objectRef")]

    reads = [e for e in events if e["verb"] in ("list", "watch") and e["objectRef"]["resource"] in EXPECTED]
    assert {e["objectRef"]["resource"] for e in reads if e["verb"] == "watch"} == set(EXPECTED)
    for event in reads:
        query = parse_qs(urlsplit(event["requestURI"]).query)
        assert query.get("labelSelector") == [EXPECTED[event["objectRef"]["resource"]]], event["requestURI"]

    granted = _granted()
    used = set()
    for event in events:
        ref = event["objectRef"]
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        used.add((ref.get("apiGroup", ""), resource, event["verb"]))
    print("operator requests:", sorted(used))
    assert used - granted == set(), f"requests RBAC does not grant: {sorted(used - granted)}"
    # the calls the narrowed rules are about: status is patched (never updated), no patch of the resource
    assert ("modelops.dev", "modeldeployments/status", "patch") in used
    assert not {u for u in used if u[1] == "modeldeployments" and u[2] in ("patch", "update")}
    forbidden = [e for e in events if (e.get("responseStatus") or {}).get("code") == 403]
    assert not forbidden, [e["requestURI"] for e in forbidden]
