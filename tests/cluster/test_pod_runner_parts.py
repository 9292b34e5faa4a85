"""Pod runner parts that need no control plane: command mapping, env expansion, the DNS shim."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.podrunner import podspec
from support.podrunner.container import wrapper_argv
from support.podrunner.dns import SHIM_DIR, build_hosts, write_atomically
from support.podrunner.volumes import Mount


def test_commands_map_to_this_environment() -> None:
    env = {"MODEL_NAME": "iris", "MODEL_BASE_PATH": "/models"}
    tf_serving = podspec.resolve_argv({"name": "server", "image": "tensorflow/serving:2.16.1"}, env)
    assert tf_serving == [str(podspec.VENV_BIN / "modelops"), "serve", "--port=8500", "--rest_api_port=8501",
                          "--model_name=iris", "--model_base_path=/models/iris"]
    with_config = podspec.resolve_argv({"name": "server", "image": "tensorflow/serving",
                                        "args": ["--model_config_file=/config/models.config"]}, env)
    assert with_config == [str(podspec.VENV_BIN / "modelops"), "serve", "--port=8500", "--rest_api_port=8501",
                           "--model_config_file=/config/models.config"]  # TF Serving ignores the other two
    worker = podspec.resolve_argv({"name": "w", "command": ["modelops", "worker"], "args": ["train"]}, {})
    assert worker == [str(podspec.VENV_BIN / "modelops"), "worker", "train"]
    assert podspec.resolve_argv({"name": "p", "command": ["python3", "-V"]}, {})[0] == sys.executable


def test_unrunnable_containers_are_named_in_the_error() -> None:
    with pytest.raises(podspec.PodSpecError, match=r"container 'app'.*command is empty.*busybox"):
        podspec.resolve_argv({"name": "app", "image": "busybox"}, {})
    with pytest.raises(podspec.PodSpecError, match=r"container 'app'.*'no-such-tool-xyz' is not on PATH"):
        podspec.resolve_argv({"name": "app", "command": ["no-such-tool-xyz"]}, {})


def test_env_follows_kubernetes_expansion_rules() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns", "labels": {"tier": "web"}}, "spec": {"nodeName": "n"}}
    container = {"name": "c", "env": [
        {"name": "A", "value": "x"},
        {"name": "B", "value": "$(A)-$(MISSING)-$$(A)"},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "TIER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}}},
        {"name": "KEY", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
    ]}
    lookup = {("configmap", "ns", "cm"): {"k": "v"}}
    env = podspec.resolve_env(pod, container, "127.42.0.9", "127.0.0.1", lambda *key: lookup.get(key))
    assert env == {"A": "x", "B": "x-$(MISSING)-$(A)", "IP": "127.42.0.9", "TIER": "web", "KEY": "v"}
    with pytest.raises(podspec.PodSpecError, match=r"env KEY: configmap 'cm' key 'k' not found"):
        podspec.resolve_env(pod, container, "127.42.0.9", "127.0.0.1", lambda *key: None)


def test_dns_shim_resolves_service_names_to_ready_endpoints(tmp_path: Path) -> None:
    def pod(name: str, ip: str, ready: str, **metadata: object) -> dict:
        return {"metadata": {"name": name, "namespace": "shop", "labels": {"app": "web"}, **metadata},
                "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": ready}]}}

    services = [{"metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}}},
                {"metadata": {"name": "idle", "namespace": "shop"}, "spec": {"selector": {"app": "idle"}}},
                {"metadata": {"name": "external", "namespace": "shop"}, "spec": {}}]
    pods = [pod("a", "127.42.0.3", "True"), pod("b", "127.42.0.4", "False"),
            pod("c", "127.42.0.5", "True", deletionTimestamp="2026-01-01T00:00:00Z")]
    slices = [{"metadata": {"namespace": "shop", "labels": {"kubernetes.io/service-name": "external"}},
               "endpoints": [{"addresses": ["192.0.2.7"], "conditions": {"ready": True}},
                             {"addresses": ["192.0.2.8"], "conditions": {"ready": False}}]}]
    hosts = tmp_path / "hosts.json"
    write_atomically(hosts, build_hosts(services, slices, pods))
    probe = (
        "import json, socket\n"
        "def ips(name):\n"
        "    try:\n"
        "        return sorted({a[4][0] for a in socket.getaddrinfo(name, 80)})\n"
        "    except socket.gaierror as error:\n"
        "        return 'error'\n"
        "names = ['web.shop.svc', 'web.shop.svc.cluster.local', 'web.shop', 'web', 'idle.shop.svc', 'nope.x.svc',\n"
        "         'external.shop.svc', 'localhost']\n"
        "print(json.dumps({n: ips(n) for n in names}))\n"
    )
    env = {"PYTHONPATH": str(SHIM_DIR), "MODELOPS_POD_HOSTS_FILE": str(hosts), "MODELOPS_POD_NAMESPACE": "shop"}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                            timeout=30)
    answers = json.loads(result.stdout)
    for name in ("web.shop.svc", "web.shop.svc.cluster.local", "web.shop", "web"):
        assert answers[name] == ["127.42.0.3"], name  # ready and not terminating only
    assert answers["external.shop.svc"] == ["192.0.2.7"]  # from a (selector-less) EndpointSlice
    assert answers["idle.shop.svc"] == "error"  # Service without ready endpoints
    assert answers["nope.x.svc"] == "error"  # unknown cluster name fails fast
    assert "127.0.0.1" in answers["localhost"]  # everything else resolves normally


def test_a_volume_over_an_ancestor_does_not_hide_the_image_paths(tmp_path: Path) -> None:
    """An emptyDir at /tmp must not hide a virtualenv or checkout that happens to live under /tmp."""
    image = tmp_path / "host" / "venv"
    image.mkdir(parents=True)
    (image / "marker").write_text("still here")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    mounts = [Mount(scratch, str(tmp_path / "host"), False)]
    command = ["cat", str(image / "marker")]
    hidden = subprocess.run(wrapper_argv(command, mounts, "/", staging=None, image_paths=(image,)),
                            capture_output=True, text=True, timeout=30)
    assert hidden.returncode != 0  # the plain mount does hide it: the case this guards against is real
    kept = subprocess.run(wrapper_argv(command, mounts, "/", staging=tmp_path / "stage", image_paths=(image,)),
                          capture_output=True, text=True, timeout=30)
    assert kept.returncode == 0 and kept.stdout == "still here", kept.stderr


def _pod(name: str, ip: str, phase: str = "Running", ready: bool = False) -> dict:
    return {"metadata": {"name": name, "namespace": "ml", "labels": {"job": "j"}},
            "spec": {"hostname": name, "subdomain": "j"},
            "status": {"phase": phase, "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_pod_hostnames_of_a_headless_service_resolve_like_cluster_dns() -> None:
    headless = {"metadata": {"name": "j", "namespace": "ml"},
                "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": {"job": "j"}}}
    pods = [_pod("j-0", "127.42.0.2"), _pod("j-1", "127.42.0.3", phase="Failed"), _pod("j-1", "127.42.0.4")]
    hosts = build_hosts([headless], [], pods)
    assert hosts["short"]["ml"]["j-0.j"] == ["127.42.0.2"]  # not ready yet, but the Service publishes it
    assert hosts["names"]["j-1.j.ml.svc.cluster.local"] == ["127.42.0.4"]  # the rerun index, not the failed pod
    strict = {**headless, "spec": {**headless["spec"], "publishNotReadyAddresses": False}}
    assert "j-0.j" not in build_hosts([strict], [], pods)["short"].get("ml", {})
    not_headless = {**headless, "spec": {**headless["spec"], "clusterIP": "10.0.0.9"}}
    assert "j-0.j" not in build_hosts([not_headless], [], pods)["short"].get("ml", {})


def test_the_bind_shim_makes_wildcard_listeners_listen_on_the_pod_ip(tmp_path: Path) -> None:
    from support.podrunner.netns import POD_IP_ENV, build_bind_shim

    library = build_bind_shim(tmp_path)
    probe = ("import socket; s = socket.socket(socket.AF_INET6); s.bind(('::', 0)); "
             "t = socket.socket(); t.bind(('0.0.0.0', 0)); print(s.getsockname()[0], t.getsockname()[0])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"LD_PRELOAD": str(library), POD_IP_ENV: "127.42.9.9"}).stdout.split()
    assert out == ["::ffff:127.42.9.9", "127.42.9.9"]
