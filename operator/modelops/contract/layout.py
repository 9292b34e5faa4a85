"""Where model versions live: `<storage root>/<namespace>/<name>/<version>/`, for every runtime.

TF Serving's `base_path` for a model is the deployment directory; each numbered child is a version.
"""

from __future__ import annotations

from pathlib import PurePosixPath


class LayoutError(ValueError):
    """A name or version that must never become a path on the model volume."""


def _checked(label: str, value: str) -> str:
    if not value or "/" in value or value in (".", ".."):
        raise LayoutError(f"{label}: {value!r} is not a valid Kubernetes name")
    return value


def deployment_dir(storage_root: str, namespace: str, name: str) -> str:
    """The model's base path (holds the numbered version directories)."""
    root = str(storage_root).rstrip("/") or "/"
    return str(PurePosixPath(root) / _checked("namespace", namespace) / _checked("name", name))


def version_dir(storage_root: str, namespace: str, name: str, version: int) -> str:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise LayoutError(f"version: {version!r} must be an integer >= 1")
    return str(PurePosixPath(deployment_dir(storage_root, namespace, name)) / str(version))


RECORDS_DIR = "records"  # not a number: TF Serving never takes it for a version


def version_record_path(storage_root: str, namespace: str, name: str, version: int) -> str:
    """`<deployment>/records/<N>.json`: a version's full status record, kept on storage after retention
    removed its files and status.versions dropped the record (lifecycle/record_trim.py)."""
    number = PurePosixPath(version_dir(storage_root, namespace, name, version)).name
    return str(PurePosixPath(deployment_dir(storage_root, namespace, name)) / RECORDS_DIR / f"{number}.json")
