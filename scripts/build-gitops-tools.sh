#!/usr/bin/env bash
# Build modelops-gitops (tests/cluster/go/gitops): kstatus from sigs.k8s.io/cli-utils and gopher-lua,
# Argo CD's Lua interpreter, so the tests ask GitOps tools' OWN code how they read a ModelDeployment.
#
# Why from source: like the control plane, the only reachable registries are package registries (the Go
# module proxy among them). The binary goes to a cache OUTSIDE git keyed by a hash of the module's
# go.mod, go.sum and main.go, so a second run is a no-op and any edit rebuilds (~1 min cold on 2 cores).
#
# Usage: scripts/build-gitops-tools.sh   -> prints the path of the binary (last line)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD="$ROOT/tests/cluster/go/gitops"
KEY="$(cat "$MOD/go.mod" "$MOD/go.sum" "$MOD/main.go" | sha256sum | cut -c1-16)"
CACHE_ROOT="${MODELOPS_CACHE_DIR:-$HOME/.cache/modelops}"
BIN_DIR="$CACHE_ROOT/gitops/$KEY"

if [[ -x "$BIN_DIR/modelops-gitops" ]]; then
    echo "$BIN_DIR/modelops-gitops"
    exit 0
fi
command -v go >/dev/null || { echo "build-gitops-tools: 'go' not found on PATH" >&2; exit 1; }
mkdir -p "$BIN_DIR"
# Build into a temp dir and move in at the end: an interrupted build never leaves a half-written binary.
STAGE="$(mktemp -d "$BIN_DIR/.stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
start=$(date +%s)
echo "build-gitops-tools: building modelops-gitops ($KEY)" >&2
(cd "$MOD" && CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="-trimpath -mod=readonly" \
    go build -ldflags "-s -w" -o "$STAGE/modelops-gitops" .)
mv -f "$STAGE/modelops-gitops" "$BIN_DIR/modelops-gitops"
echo "build-gitops-tools: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN_DIR/modelops-gitops"
