"""Pod volumes as host directories, and the bind mounts that put them at each container's paths.

PVCs map to one shared host dir per (namespace, claim) so tests can inspect model files; emptyDir
is per pod; configMap/secret/projected are per-pod dirs with their keys as files, and configMap
dirs are refreshed when the ConfigMap changes (the kubelet does the same within its sync period).
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from support.podrunner.podspec import PodSpecError, field_ref

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

# (kind "configmap"|"secret", namespace, name) -> the raw object (data/binaryData) or None
ObjectLookup = Callable[[str, str, str], dict | None]
# (namespace, service account, audiences, expiration seconds, pod) -> bearer token
TokenIssuer = Callable[[str, str, list[str], int, dict], str]


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool


def pvc_dir(root: Path, namespace: str, claim: str) -> Path:
    return root / "pvc" / namespace / claim


def object_files(obj: dict | None, items: list[dict] | None, kind: str) -> dict[str, bytes]:
    """File name -> content for a configMap/secret volume (all keys, or just `items`)."""
    if obj is None:
        return {}
    data: dict[str, bytes] = {}
    for key, value in (obj.get("data") or {}).items():
        data[key] = base64.b64decode(value) if kind == "secret" else value.encode()
    for key, value in (obj.get("binaryData") or {}).items():
        data[key] = base64.b64decode(value)
    if not items:
        return data
    return {item["path"]: data[item["key"]] for item in items if item["key"] in data}


def sync_files(directory: Path, files: dict[str, bytes]) -> bool:
    """Make `directory` hold exactly `files` (atomic per file); returns True if anything changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = False
    for relative, content in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.read_bytes() == content:
                continue
        except OSError:
            pass
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
        changed = True
    for existing in directory.rglob("*"):
        if existing.is_file() and str(existing.relative_to(directory)) not in files:
            existing.unlink()
            changed = True
    return changed


class PodVolumes:
    """Host directories backing one pod's volumes."""

    def __init__(self, pod: dict, pod_dir: Path, runner_root: Path, lookup: ObjectLookup,
                 issue_token: TokenIssuer) -> None:
        self.pod = pod
        self.namespace = pod["metadata"].get("namespace", "default")
        self.lookup = lookup
        self.issue_token = issue_token
        self.dirs: dict[str, Path] = {}
        self._configmaps: list[tuple[Path, str, list[dict] | None]] = []
        for volume in pod["spec"].get("volumes") or []:
            self.dirs[volume["name"]] = self._prepare(volume, pod_dir / "volumes" / volume["name"], runner_root)

    def _prepare(self, volume: dict, directory: Path, runner_root: Path) -> Path:
        name = volume["name"]
        if "persistentVolumeClaim" in volume:
            host = pvc_dir(runner_root, self.namespace, volume["persistentVolumeClaim"]["claimName"])
            host.mkdir(parents=True, exist_ok=True)
            return host
        if "emptyDir" in volume:
            directory.mkdir(parents=True, exist_ok=True)
            return directory
        if "hostPath" in volume:
            host = Path(volume["hostPath"]["path"])
            if volume["hostPath"].get("type") in ("DirectoryOrCreate", None, ""):
                host.mkdir(parents=True, exist_ok=True)
            return host
        if "configMap" in volume or "secret" in volume:
            kind = "configmap" if "configMap" in volume else "secret"
            source = volume.get("configMap") or volume["secret"]
            object_name = source.get("name") or source.get("secretName")
            obj = self.lookup(kind, self.namespace, object_name)
            if obj is None and not source.get("optional"):
                raise PodSpecError(f"volume {name!r}: {kind} {object_name!r} not found in {self.namespace}")
            sync_files(directory, object_files(obj, source.get("items"), kind))
            if kind == "configmap":
                self._configmaps.append((directory, object_name, source.get("items")))
            return directory
        if "projected" in volume:
            sync_files(directory, self._projected_files(volume["projected"]))
            return directory
        if "downwardAPI" in volume:  # e.g. the stage config the operator puts in a pod annotation
            sync_files(directory, self._downward_files(volume["downwardAPI"]))
            return directory
        raise PodSpecError(f"volume {name!r}: type {sorted(set(volume) - {'name'})} is not supported by the pod runner")

    def _projected_files(self, projected: dict) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for source in projected.get("sources") or []:
            if "serviceAccountToken" in source:
                token_source = source["serviceAccountToken"]
                audiences = [token_source["audience"]] if token_source.get("audience") else []
                account = self.pod["spec"].get("serviceAccountName") or "default"
                files[token_source["path"]] = self.issue_token(
                    self.namespace, account, audiences, int(token_source.get("expirationSeconds", 3607)), self.pod
                ).encode()
            for kind, key in (("configmap", "configMap"), ("secret", "secret")):
                if key in source:
                    obj = self.lookup(kind, self.namespace, source[key]["name"])
                    files.update(object_files(obj, source[key].get("items"), kind))
            if "downwardAPI" in source:
                files.update(self._downward_files(source["downwardAPI"]))
        return files

    def _downward_files(self, source: dict) -> dict[str, bytes]:
        """downwardAPI items with a fieldRef (metadata fields, labels, annotations), as the kubelet writes
        them at pod start; resourceFieldRef is not supported."""
        files: dict[str, bytes] = {}
        for item in source.get("items") or []:
            if "fieldRef" not in item:
                raise PodSpecError(f"downwardAPI item {item.get('path')!r}: only fieldRef is supported")
            files[item["path"]] = field_ref(self.pod, "", "", item["fieldRef"]["fieldPath"]).encode()
        return files

    def refresh_configmaps(self) -> bool:
        """Re-sync configMap volumes from the current objects; True if a file changed."""
        changed = False
        for directory, name, items in self._configmaps:
            obj = self.lookup("configmap", self.namespace, name)
            if obj is not None:
                changed |= sync_files(directory, object_files(obj, items, "configmap"))
        return changed

    def mounts_for(self, container: dict) -> list[Mount]:
        mounts = []
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in self.dirs:
                raise PodSpecError(f"container {container['name']!r}: volumeMount {mount['name']!r} has no volume")
            source = self.dirs[mount["name"]]
            if mount.get("subPath"):
                source = source / mount["subPath"]
                if not source.exists():
                    source.mkdir(parents=True)
            mounts.append(Mount(source, mount["mountPath"], bool(mount.get("readOnly"))))
        return mounts
