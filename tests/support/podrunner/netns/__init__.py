"""Per-pod listening addresses for the pod runner: a small LD_PRELOAD library built with the C compiler."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "bind_pod_ip.c"
POD_IP_ENV = "MODELOPS_POD_IP"


def build_bind_shim(cache_dir: Path) -> Path:
    """Compile bind_pod_ip.c once per source version; the pod runner preloads it into every pod."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    library = cache_dir / f"bind_pod_ip-{digest}.so"
    if library.exists():
        return library
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("the pod runner needs a C compiler (cc or gcc) to build its per-pod bind shim")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = library.with_suffix(".so.partial")
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(partial), str(SOURCE), "-ldl"], check=True,
                   capture_output=True)
    partial.replace(library)
    return library
