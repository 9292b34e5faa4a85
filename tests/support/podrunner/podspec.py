"""Turn a container spec into a local command line and environment (pure functions, no I/O).

The mapping rules stand in for container images: `modelops` runs from our virtualenv, the
tensorflow/serving image's `tensorflow_model_server` becomes `modelops serve` with the same flags,
`python` is this interpreter; anything else must be on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
TF_SERVING_ENTRYPOINT = [
    "tensorflow_model_server", "--port=8500", "--rest_api_port=8501",
    "--model_name=$(MODEL_NAME)", "--model_base_path=$(MODEL_BASE_PATH)/$(MODEL_NAME)",
]
TF_SERVING_IMAGE_ENV = {"MODEL_BASE_PATH": "/models", "MODEL_NAME": "model"}
BASE_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "TZ")


class PodSpecError(ValueError):
    """The pod cannot run here; the message names the container and the field."""


def is_tf_serving_image(image: str) -> bool:
    return "tensorflow/serving" in (image or "")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: known names are replaced, `$$(` escapes, unknown stay as-is."""
    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return f"$({match.group(1)})"
        return env.get(match.group(2), match.group(0))

    return re.sub(r"\$\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", replace, text)


def resolve_argv(container: dict, env: dict[str, str]) -> list[str]:
    """The local argv for a container, after image entrypoint defaults and `$(VAR)` expansion."""
    name = container["name"]
    command = list(container.get("command") or [])
    args = list(container.get("args") or [])
    if not command:
        if not is_tf_serving_image(container.get("image", "")):
            raise PodSpecError(
                f"container {name!r}: spec.containers[].command is empty and image "
                f"{container.get('image')!r} has no known entrypoint in the pod runner; set command")
        command = list(TF_SERVING_ENTRYPOINT)
    argv = [expand(part, env) for part in command + args]
    program = argv[0]
    base = os.path.basename(program)
    if program == "modelops" or (base == "modelops" and not os.path.exists(program)):
        return [str(VENV_BIN / "modelops"), *argv[1:]]
    if base == "tensorflow_model_server":
        flags = argv[1:]
        if any(flag.startswith("--model_config_file") for flag in flags):
            # TF Serving ignores --model_name/--model_base_path when a model config file is given (the
            # image entrypoint always passes them); `modelops serve` wants exactly one of the two.
            flags = [f for f in flags if not f.startswith(("--model_name=", "--model_base_path="))]
        return [str(VENV_BIN / "modelops"), "serve", *flags]
    if re.fullmatch(r"python(3(\.\d+)?)?", base):
        return [sys.executable, *argv[1:]]
    if os.path.isabs(program):
        if not os.access(program, os.X_OK):
            raise PodSpecError(f"container {name!r}: command {program!r} is not an executable file")
        return argv
    found = shutil.which(program)
    if not found:
        raise PodSpecError(f"container {name!r}: command {program!r} is not on PATH of the pod runner")
    return [found, *argv[1:]]


# (kind "configmap"|"secret", namespace, name) -> the object's data as text, or None if it does not exist
DataLookup = Callable[[str, str, str], dict[str, str] | None]


def field_ref(pod: dict, pod_ip: str, node_ip: str, path: str) -> str:
    """Values for env.valueFrom.fieldRef.fieldPath (the downward API subset the kubelet supports)."""
    metadata = pod["metadata"]
    simple = {
        "metadata.name": metadata["name"],
        "metadata.namespace": metadata.get("namespace", "default"),
        "metadata.uid": metadata.get("uid", ""),
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": node_ip,
        "status.hostIPs": node_ip,
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return (metadata.get(match.group(1)) or {}).get(match.group(2), "")
    raise PodSpecError(f"env valueFrom.fieldRef.fieldPath {path!r} is not supported by the pod runner")


def resolve_env(pod: dict, container: dict, pod_ip: str, node_ip: str, lookup: DataLookup) -> dict[str, str]:
    """The container's declared environment (envFrom, then env in order, with `$(VAR)` expansion)."""
    name = container["name"]
    namespace = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = {}
    if is_tf_serving_image(container.get("image", "")):
        env.update(TF_SERVING_IMAGE_ENV)  # the image's own ENV lines
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, ref_key in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = source.get(ref_key)
            if not ref:
                continue
            data = lookup(kind, namespace, ref["name"])
            if data is None and not ref.get("optional"):
                raise PodSpecError(f"container {name!r}: envFrom {kind} {ref['name']!r} not found")
            for key, value in (data or {}).items():
                env[prefix + key] = value
    for item in container.get("env") or []:
        var = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[var] = expand(item.get("value", ""), env)
            continue
        value_from = item["valueFrom"]
        if "fieldRef" in value_from:
            env[var] = field_ref(pod, pod_ip, node_ip, value_from["fieldRef"]["fieldPath"])
        elif "configMapKeyRef" in value_from or "secretKeyRef" in value_from:
            kind, ref = (("configmap", value_from["configMapKeyRef"]) if "configMapKeyRef" in value_from
                         else ("secret", value_from["secretKeyRef"]))
            value = (lookup(kind, namespace, ref["name"]) or {}).get(ref["key"])
            if value is None:
                if ref.get("optional"):
                    continue
                raise PodSpecError(
                    f"container {name!r}: env {var}: {kind} {ref['name']!r} key {ref['key']!r} not found")
            env[var] = value
        elif "resourceFieldRef" in value_from:
            env[var] = "0"  # no resource accounting on the runner's node; 0 means "unlimited"
        else:
            raise PodSpecError(f"container {name!r}: env {var}: unsupported valueFrom {sorted(value_from)}")
    return env


def base_env() -> dict[str, str]:
    """What an image would provide: a PATH and a locale, not the test process's whole environment."""
    env = {key: os.environ[key] for key in BASE_ENV_KEYS if key in os.environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env["HOME"] = "/root"
    return env
