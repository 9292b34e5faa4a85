"""A thin JSON client over the `kubernetes` package's authenticated transport.

Why not the generated typed APIs: the operator builds and reads plain dicts (builders are pure dict
functions), and skipping model (de)serialisation keeps every call cheap, which matters when hundreds
of ModelDeployments reconcile at once. Auth (kubeconfig, in-cluster token refresh, client certs) is
the kubernetes package's own.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import kubernetes
import urllib3
from kubernetes.client.exceptions import ApiException

from modelops import API_GROUP, API_VERSION, PLURAL

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

# kind -> (api prefix, plural). Only the kinds the operator touches.
_KINDS: dict[str, tuple[str, str]] = {
    "ConfigMap": ("/api/v1", "configmaps"),
    "Service": ("/api/v1", "services"),
    "Pod": ("/api/v1", "pods"),
    "Event": ("/api/v1", "events"),
    "Job": ("/apis/batch/v1", "jobs"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
    "ModelDeployment": (f"/apis/{API_GROUP}/{API_VERSION}", PLURAL),
}


class ApiError(Exception):
    """A non-2xx answer; `status` is the HTTP code (404, 409, ...), the message names the call;
    `server_message` is the API server's own words (its Status object's message), for the resource."""

    def __init__(self, status: int, message: str, server_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message or message
        self.request: tuple[str, str] | None = None  # (kind, name) of the object the call was about


def resource_path(kind: str, namespace: str, name: str | None = None, subresource: str | None = None) -> str:
    try:
        prefix, plural = _KINDS[kind]
    except KeyError:
        raise ValueError(f"kind: the operator has no path for {kind!r}") from None
    path = f"{prefix}/namespaces/{quote(namespace)}/{plural}"
    if name:
        path += f"/{quote(name)}"
        if subresource:
            path += f"/{subresource}"
    return path


def load_api_client(kubeconfig: str | None = None, context: str | None = None) -> kubernetes.client.ApiClient:
    """In-cluster config when running in a pod, else the kubeconfig (KUBECONFIG or the given file)."""
    configuration = kubernetes.client.Configuration()
    if kubeconfig is None:
        try:
            kubernetes.config.load_incluster_config(client_configuration=configuration)
            return kubernetes.client.ApiClient(configuration)
        except kubernetes.config.ConfigException:
            pass
    kubernetes.config.load_kube_config(config_file=kubeconfig, context=context,
                                       client_configuration=configuration)
    configuration.connection_pool_maxsize = 32
    return kubernetes.client.ApiClient(configuration)


class KubeApi:
    """create / get / list / patch / delete of plain-dict objects."""

    def __init__(self, api_client: kubernetes.client.ApiClient, timeout: float = 30.0) -> None:
        self.api_client = api_client
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None,
                content_type: str = "application/json") -> dict[str, Any]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method, url, headers, data, _ = self.api_client.param_serialize(
            method=method, resource_path=path, query_params=list((query or {}).items()), header_params=headers,
            body=body, auth_settings=["BearerToken"],
        )
        try:
            response = self.api_client.call_api(method, url, header_params=headers, body=data,
                                                _request_timeout=self.timeout)
        except ApiException as error:
            said = _status_message(error.body) if error.body else str(error.reason or error)
            raise ApiError(error.status or 0, f"{method} {path}: {error.reason or error}: {said}", said) from None
        except urllib3.exceptions.HTTPError as error:  # connection refused, timeouts: status 0, retried
            raise ApiError(0, f"{method} {path}: {error}") from None
        payload = response.read()
        if response.status >= 300:
            said = _status_message(payload)
            raise ApiError(response.status, f"{method} {path}: HTTP {response.status}: {said}", said)
        return json.loads(payload) if payload else {}

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        with _about(obj["kind"], str(meta.get("name", ""))):
            return self.request("POST", resource_path(obj["kind"], meta["namespace"]), body=obj)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        with _about(kind, name):
            return self.request("GET", resource_path(kind, namespace, name))

    def get_or_none(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self.get(kind, namespace, name)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str, label_selector: Mapping[str, str] | None = None) -> list[dict]:
        query = {"labelSelector": ",".join(f"{k}={v}" for k, v in label_selector.items())} if label_selector else {}
        return list(self.request("GET", resource_path(kind, namespace), query=query).get("items", []))

    def patch(self, kind: str, namespace: str, name: str, patch: Mapping[str, Any],
              subresource: str | None = None, content_type: str = MERGE_PATCH) -> dict[str, Any]:
        with _about(kind, name):
            return self.request("PATCH", resource_path(kind, namespace, name, subresource), body=patch,
                                content_type=content_type)

    def delete(self, kind: str, namespace: str, name: str, uid: str | None = None) -> bool:
        """Delete with background propagation (a Job's pods go too); False when already gone. With `uid`,
        only that object (a precondition: a newer one of the same name answers 409)."""
        body: dict[str, Any] = {"propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            with _about(kind, name):
                self.request("DELETE", resource_path(kind, namespace, name), body=body)
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True


@contextlib.contextmanager
def _about(kind: str, name: str) -> Iterator[None]:
    """Name the object on an ApiError raised inside, so a refusal can say which child was refused."""
    try:
        yield
    except ApiError as error:
        if error.request is None:
            error.request = (kind, name)
        raise


def _status_message(body: Any) -> str:
    try:
        if isinstance(body, bytes):
            body = body.decode(errors="replace")
        return str(json.loads(body).get("message", body))
    except (TypeError, ValueError, AttributeError):
        return str(body)
