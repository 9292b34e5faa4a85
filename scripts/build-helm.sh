#!/usr/bin/env bash
# Build the helm CLI from its Go module so chart tests can `helm lint` / `helm template` for real.
#
# Why from source: the only reachable registries are the package registries (Go module proxy among
# them), so there is no prebuilt binary to download. The binary goes to a cache OUTSIDE git, keyed by
# version, so a second run is a no-op (~seconds); the first build takes several minutes on 2 cores.
#
# Usage: scripts/build-helm.sh          -> prints the path of the helm binary (last line)
#        HELM_VERSION=v3.x.y scripts/build-helm.sh
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.16.4}"
CACHE_ROOT="${MODELOPS_CACHE_DIR:-$HOME/.cache/modelops}"
BIN_DIR="$CACHE_ROOT/helm/$HELM_VERSION"

if [[ -x "$BIN_DIR/helm" ]]; then
    echo "$BIN_DIR/helm"
    exit 0
fi
command -v go >/dev/null || { echo "build-helm: 'go' not found on PATH" >&2; exit 1; }
mkdir -p "$BIN_DIR"
# Install into a temp dir and move in at the end: an interrupted build never leaves a half-written binary.
STAGE="$(mktemp -d "$BIN_DIR/.stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
start=$(date +%s)
echo "build-helm: building helm $HELM_VERSION" >&2
CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOBIN="$STAGE" \
    go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
mv -f "$STAGE/helm" "$BIN_DIR/helm"
echo "build-helm: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN_DIR/helm"
