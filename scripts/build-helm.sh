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
command -v go >/dev/null || { echo "build-helm: 'go' not found on PATH" >&2; exit 1; }

# Upstream's Makefile stamps the Kubernetes version helm assumes offline (`helm template`, `helm lint`)
# from its client-go module; a plain `go install` leaves helm's fallback, v1.20, which a chart's
# kubeVersion (>= 1.30) refuses. Read client-go's version from helm's own go.mod and stamp it the same way.
HELM_GOMOD="$(GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
CLIENT_GO="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$HELM_GOMOD")"   # v0.31.3 -> Kubernetes 1.31
KUBE_MAJOR=$(( $(echo "$CLIENT_GO" | sed 's/^v//' | cut -d. -f1) + 1 ))
KUBE_MINOR="$(echo "$CLIENT_GO" | cut -d. -f2)"
[[ -n "$KUBE_MINOR" ]] || { echo "build-helm: cannot read k8s.io/client-go from $HELM_GOMOD" >&2; exit 1; }
BIN_DIR="$CACHE_ROOT/helm/$HELM_VERSION-kube$KUBE_MAJOR.$KUBE_MINOR"

if [[ -x "$BIN_DIR/helm" ]]; then
    echo "$BIN_DIR/helm"
    exit 0
fi
mkdir -p "$BIN_DIR"
# Install into a temp dir and move in at the end: an interrupted build never leaves a half-written binary.
STAGE="$(mktemp -d "$BIN_DIR/.stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
STAMP=""
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    STAMP+=" -X $pkg.k8sVersionMajor=$KUBE_MAJOR -X $pkg.k8sVersionMinor=$KUBE_MINOR"
done
start=$(date +%s)
echo "build-helm: building helm $HELM_VERSION (offline Kubernetes version $KUBE_MAJOR.$KUBE_MINOR)" >&2
CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOBIN="$STAGE" \
    go install -trimpath -ldflags "-s -w $STAMP" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
mv -f "$STAGE/helm" "$BIN_DIR/helm"
echo "build-helm: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN_DIR/helm"
