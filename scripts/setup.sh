#!/usr/bin/env bash
# Create .venv and install modelops with its test tools. Idempotent: a second run only checks.
# Used by README's two commands (make demo, make test) and by .ci/run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MODELOPS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.modelops-installed"
if [[ ! -f "$STAMP" || "$ROOT/pyproject.toml" -nt "$STAMP" ]]; then
    echo "setup: installing modelops and its dependencies (TensorFlow is large: the first run takes minutes)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]"
    touch "$STAMP"
fi
"$VENV/bin/python" -c "import modelops, tensorflow, tensorflow_serving, kopf" 2>/dev/null \
    || { echo "setup: the environment in $VENV is broken; delete it and run again" >&2; exit 1; }
echo "setup: ready ($VENV)"
