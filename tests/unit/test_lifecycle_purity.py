"""The lifecycle core stays pure: no kopf, kubernetes, tensorflow, numeric libraries, network or file I/O imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import modelops.lifecycle

LIFECYCLE = Path(modelops.lifecycle.__file__).parent
FORBIDDEN = {"kopf", "kubernetes", "tensorflow", "keras", "aiohttp", "requests", "urllib", "socket", "subprocess",
             "os", "shutil", "pathlib", "io", "asyncio", "threading", "time", "random", "numpy", "scipy"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_imports_io_or_frameworks() -> None:
    offenders = {p.name: sorted(_imported_roots(p) & FORBIDDEN) for p in LIFECYCLE.glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_calls_to_open_or_print() -> None:
    for path in LIFECYCLE.glob("*.py"):
        calls = {n.func.id for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"open", "print", "input", "exec", "eval"}, path.name


def test_importing_the_core_loads_no_framework() -> None:
    code = ("import sys, modelops.lifecycle; "
            "print(sorted(m for m in ('kopf','kubernetes','tensorflow','aiohttp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
