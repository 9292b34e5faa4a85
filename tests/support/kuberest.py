"""A tiny JSON REST client for the API server, used by the pod runner.

Why not the `kubernetes` package here: the runner handles raw dicts (status patches, watches of
many kinds), and plain JSON over one urllib3 pool is simpler, faster and independent of the
generated client's model classes and patch content-type defaults.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from urllib.parse import urlencode

import urllib3

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


class ApiError(Exception):
    """Non-2xx answer from the API server; `status` is the HTTP code, `body` the decoded Status."""

    def __init__(self, status: int, body: dict | str, what: str) -> None:
        message = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"{what}: HTTP {status}: {message}")
        self.status = status
        self.body = body


class KubeRest:
    def __init__(self, server: str, token: str, ca_cert: str) -> None:
        self.server = server.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=16, cert_reqs="CERT_REQUIRED", ca_certs=ca_cert)
        self._watches: set[urllib3.BaseHTTPResponse] = set()

    def request(self, method: str, path: str, body: dict | None = None, params: dict | None = None,
                content_type: str = "application/json", timeout: float = 30.0) -> dict:
        url = self.server + path + (f"?{urlencode(params)}" if params else "")
        headers = dict(self._headers)
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        response = self._pool.request(method, url, body=data, headers=headers, timeout=timeout, retries=False)
        payload = response.data.decode(errors="replace")
        try:
            decoded = json.loads(payload) if payload else {}
        except json.JSONDecodeError:
            decoded = payload
        if response.status >= 300:
            raise ApiError(response.status, decoded, f"{method} {path}")
        return decoded if isinstance(decoded, dict) else {"raw": decoded}

    def get(self, path: str, **params: object) -> dict:
        return self.request("GET", path, params=params or None)

    def get_or_none(self, path: str) -> dict | None:
        """The object, or None when it does not exist (404)."""
        try:
            return self.get(path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def post(self, path: str, body: dict) -> dict:
        return self.request("POST", path, body)

    def put(self, path: str, body: dict) -> dict:
        return self.request("PUT", path, body)

    def patch(self, path: str, body: dict, content_type: str = STRATEGIC_MERGE) -> dict:
        return self.request("PATCH", path, body, content_type=content_type)

    def delete(self, path: str, grace_period_seconds: int | None = None) -> dict:
        body = None if grace_period_seconds is None else {"gracePeriodSeconds": grace_period_seconds}
        return self.request("DELETE", path, body)

    def watch(self, path: str, resource_version: str, timeout_seconds: int = 60) -> Iterator[dict]:
        """Yield watch events ({type, object}) until the server closes the stream."""
        params = {"watch": "true", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(timeout_seconds)}
        url = f"{self.server}{path}?{urlencode(params)}"
        response = self._pool.request("GET", url, headers=self._headers, preload_content=False,
                                      timeout=urllib3.Timeout(connect=10, read=timeout_seconds + 10), retries=False)
        self._watches.add(response)
        try:
            if response.status >= 300:
                raise ApiError(response.status, response.read().decode(errors="replace"), f"WATCH {path}")
            buffer = b""
            for chunk in response.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        finally:
            self._watches.discard(response)
            response.release_conn()

    def close(self) -> None:
        """Close the pool and abort open watches (so the API server is not kept waiting on them)."""
        for response in list(self._watches):
            with contextlib.suppress(Exception):  # already closed
                response.shutdown()  # unblocks a read in progress in another thread
        self._pool.clear()
