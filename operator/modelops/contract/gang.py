"""A stage run by several cooperating processes (a "gang"): how each member learns who it is and who its peers are.

Both runtimes give every member the same two environment variables: the Job controller sets
`JOB_COMPLETION_INDEX` on an Indexed Job's pods (the local runtime sets it too), and the runtime lists
every member's `host:port` in `MODELOPS_GANG_HOSTS`, index order. Member 0 is the chief: the only one
that publishes a model version and writes the stage result. The worker turns these into TensorFlow's
`TF_CONFIG`, so the same worker code runs in a pod and in a local process.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

INDEX_ENV = "JOB_COMPLETION_INDEX"
HOSTS_ENV = "MODELOPS_GANG_HOSTS"
CHIEF_INDEX = 0


class GangError(ValueError):
    """The runtime handed a gang member inconsistent membership (a bug in the runtime, not user input)."""


@dataclass(frozen=True)
class GangMember:
    index: int
    hosts: tuple[str, ...]

    @property
    def is_chief(self) -> bool:
        return self.index == CHIEF_INDEX

    @property
    def size(self) -> int:
        return len(self.hosts)


def gang_env(hosts: Sequence[str], index: int | None = None) -> dict[str, str]:
    """The environment a runtime gives a member (the index is left to the Job controller on Kubernetes)."""
    env = {HOSTS_ENV: ",".join(hosts)}
    if index is not None:
        env[INDEX_ENV] = str(index)
    return env


def member_from_env(env: Mapping[str, str], expected_size: int) -> GangMember:
    """Who this process is in a gang of `expected_size`; refuses a membership that does not add up."""
    hosts = tuple(h for h in env.get(HOSTS_ENV, "").split(",") if h)
    if len(hosts) != expected_size:
        raise GangError(f"{HOSTS_ENV} lists {len(hosts)} members, the stage config says {expected_size}")
    raw = env.get(INDEX_ENV)
    if raw is None or not raw.isdigit() or int(raw) >= expected_size:
        raise GangError(f"{INDEX_ENV}={raw!r} is not an index below {expected_size}")
    return GangMember(int(raw), hosts)


def tf_config(member: GangMember) -> str:
    """TensorFlow's TF_CONFIG for MultiWorkerMirroredStrategy: every worker listed, this one by index.

    No separate "chief" task type: with MultiWorkerMirroredStrategy, worker 0 is the chief by convention.
    """
    return json.dumps({"cluster": {"worker": list(member.hosts)}, "task": {"type": "worker", "index": member.index}})


def kerastuner_env(member: GangMember) -> dict[str, str]:
    """KerasTuner's distributed-mode variables for a tune-stage member: index 0 is the chief that holds the
    oracle and serves it over gRPC; every other member is a tuner that asks it for trials.

    The chief listens on its own host when that is an IP literal (loopback gangs), else on every address
    (a pod cannot bind its DNS name before the headless Service publishes it); tuners dial the chief's host.
    """
    host, _, port = member.hosts[CHIEF_INDEX].rpartition(":")
    if member.is_chief:
        bind = host if _is_ip_literal(host) else "0.0.0.0"
        return {"KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": bind, "KERASTUNER_ORACLE_PORT": port}
    return {"KERASTUNER_TUNER_ID": f"tuner{member.index}", "KERASTUNER_ORACLE_IP": host,
            "KERASTUNER_ORACLE_PORT": port}


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
