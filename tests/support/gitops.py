"""Ask GitOps tools' own code about a ModelDeployment: kstatus (cli-utils) and Argo CD's Lua interpreter.

The binary is tests/cluster/go/gitops, built from Go modules by scripts/build-gitops-tools.sh into the
cache outside git (idempotent: a second run only prints the path).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-gitops-tools.sh"
ARGOCD_HEALTH_LUA = REPO_ROOT / "charts" / "modelops" / "files" / "argocd-health.lua"


def build_gitops_tools() -> Path:
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def _ask(binary: Path, args: list[str], objects: list[dict[str, Any]]) -> list[dict[str, str]]:
    result = subprocess.run([str(binary), *args], input=json.dumps(objects), capture_output=True, text=True,
                            check=False, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{binary.name} {' '.join(args)} failed: {result.stderr}")
    return json.loads(result.stdout)


def kstatus(binary: Path, objects: list[dict[str, Any]]) -> list[dict[str, str]]:
    """kstatus' status.Compute for each object: {"status": Current|InProgress|Failed|..., "message": ...}."""
    return _ask(binary, ["kstatus"], objects)


def argocd_health(binary: Path, objects: list[dict[str, Any]],
                  script: Path = ARGOCD_HEALTH_LUA) -> list[dict[str, str]]:
    """Argo CD's verdict from our health.lua: {"status": Healthy|Progressing|Degraded|..., "message": ...}."""
    return _ask(binary, ["lua-health", str(script)], objects)
