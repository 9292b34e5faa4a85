"""Small helpers for tests that talk to the control plane with raw JSON (namespaces, waiting)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from support.kuberest import ApiError, KubeRest
from support.processes import wait_until


def new_namespace(rest: KubeRest, prefix: str) -> str:
    """A fresh namespace (unique name) whose default ServiceAccount exists, so pods can be created."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    rest.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    wait_until(lambda: rest.get(f"/api/v1/namespaces/{name}/serviceaccounts/default"), 30, 0.1,
               f"default ServiceAccount in {name}")
    return name


def wait_for(rest: KubeRest, path: str, predicate: Callable[[dict], object], timeout: float, what: str) -> dict:
    """GET `path` until `predicate(object)` is truthy; returns the object."""
    def attempt() -> dict | None:
        obj = rest.get(path)
        return obj if predicate(obj) else None

    return wait_until(attempt, timeout, 0.1, what)


def wait_gone(rest: KubeRest, path: str, timeout: float, what: str) -> None:
    def gone() -> bool:
        try:
            rest.get(path)
        except ApiError as error:
            if error.status == 404:
                return True
            raise
        return False

    wait_until(gone, timeout, 0.1, what)


def condition(obj: dict, kind: str) -> str | None:
    """Status of condition `kind` ("True"/"False"), or None if absent."""
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if entry["type"] == kind:
            return entry["status"]
    return None


def pods_of(rest: KubeRest, namespace: str, selector: str) -> list[dict]:
    return rest.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=selector)["items"]
